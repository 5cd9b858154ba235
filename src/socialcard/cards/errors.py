"""Card errors. Refusals of a card use (CardUseRefused and its kinds) carry stable codes that
terminals branch on; docs/errors.md lists them."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound, RuleViolation

STATUS_LABELS: dict[str, str] = {
    "applied": "已申领",
    "data_collected": "已采集",
    "in_production": "制卡中",
    "produced": "已制卡待领",
    "issued": "已发放未启用",
    "active": "正常",
    "reported_temporary": "临时挂失",
    "reported_formal": "正式挂失",
    "replaced": "已补换（旧卡作废）",
    "cancelled": "已注销",
    "production_failed": "制卡失败",
    "sent": "已送制",
    "returned": "已回盘",
}


class CardNotFound(NotFound):
    code = "card_not_found"

    def __init__(self, reference: str) -> None:
        super().__init__("没有这张社会保障卡。", card=reference)


class CardTransitionNotAllowed(Conflict):
    code = "card_transition_not_allowed"

    def __init__(self, reference: str, current: str, target: str) -> None:
        super().__init__(
            f"卡（{reference}）当前为“{STATUS_LABELS.get(current, current)}”，不能办理此业务"
            f"（目标状态“{STATUS_LABELS.get(target, target)}”）。",
            card=reference,
            current_status=current,
            target_status=target,
        )


class CardAlreadyInPipeline(Conflict):
    code = "card_already_in_pipeline"

    def __init__(self, person_id: int, card_number: str) -> None:
        super().__init__(
            f"该人员已有一张正在申领或制作中的卡（{card_number}），不能重复申领。",
            person_id=person_id,
            card_number=card_number,
        )


class CardAlreadyHeld(Conflict):
    code = "card_already_held"

    def __init__(self, person_id: int, card_number: str) -> None:
        super().__init__(
            f"该人员已持有社会保障卡（{card_number}）；如需新卡请办理补卡或换卡。",
            person_id=person_id,
            card_number=card_number,
        )


class HolderNotLiving(Conflict):
    code = "holder_not_living"

    def __init__(self, person_id: int, status: str) -> None:
        super().__init__(
            "该人员户籍状态不是“正常”，不能申领或使用社会保障卡。",
            person_id=person_id,
            person_status=status,
        )


class PinRuleViolated(RuleViolation):
    code = "pin_rule_violated"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message, field="pin", rule=rule)


class BatchNotFound(NotFound):
    code = "production_batch_not_found"

    def __init__(self, batch_no: str) -> None:
        super().__init__(f"没有制卡批次 {batch_no}。", batch_no=batch_no)


class ProductionFileRejected(RuleViolation):
    """A production return file that does not match its batch; nothing of it was applied."""

    code = "production_file_rejected"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "制卡回盘文件有误，未做任何处理：" + "；".join(problems[:5]), problems=problems
        )


class NothingToProduce(Conflict):
    code = "nothing_to_produce"

    def __init__(self, bank_code: str) -> None:
        super().__init__(f"没有待制卡的申请（合作银行 {bank_code}）。", bank_code=bank_code)


class CardUseRefused(Conflict):
    """A card was presented and refused. The refusal is itself recorded as a card use."""

    code = "card_use_refused"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message, **details)
        self.card_id: int | None = None
        self.person_id: int | None = None
        self.pin_failed = False


class CardReportedLost(CardUseRefused):
    code = "card_reported_lost"

    def __init__(self, card_number: str) -> None:
        super().__init__("该卡已挂失，不能使用。", card_number=card_number)


class CardCancelled(CardUseRefused):
    code = "card_cancelled"

    def __init__(self, card_number: str) -> None:
        super().__init__("该卡已注销或已被新卡取代，不能使用。", card_number=card_number)


class CardNotActivated(CardUseRefused):
    code = "card_not_activated"

    def __init__(self, card_number: str) -> None:
        super().__init__("该卡尚未启用社保功能，请先启用。", card_number=card_number)


class HolderNotLivingRefused(CardUseRefused):
    """A card presented for a person the registry records as deceased or moved away."""

    code = "holder_not_living"

    def __init__(self, person_status: str) -> None:
        super().__init__(
            "该人员户籍状态不是“正常”，不能申领或使用社会保障卡。", person_status=person_status
        )


class PinLocked(CardUseRefused):
    code = "pin_locked"

    def __init__(self, card_number: str) -> None:
        super().__init__(
            "密码已锁定，请本人携带身份证件到服务网点或自助机重置。", card_number=card_number
        )


class PinIncorrect(CardUseRefused):
    code = "pin_incorrect"

    def __init__(self, card_number: str, remaining: int) -> None:
        super().__init__(
            f"密码错误，还可尝试 {remaining} 次。", card_number=card_number, remaining=remaining
        )


class PinChangeRequired(CardUseRefused):
    code = "pin_change_required"

    def __init__(self, card_number: str) -> None:
        super().__init__("初始密码须先修改后才能使用。", card_number=card_number)


class ItemNotOpened(CardUseRefused):
    code = "item_not_opened"

    def __init__(self, item_no: int, county_code: str | None) -> None:
        super().__init__(
            f"第 {item_no} 项在该县区尚未开通。", item_no=item_no, county_code=county_code
        )


class EcardTokenRefused(CardUseRefused):
    """An electronic-card QR token that is malformed, forged, expired or already used."""

    code = "ecard_token_invalid"

    def __init__(self, rule: str) -> None:
        messages = {
            "malformed": "二维码无法识别。",
            "signature": "二维码不是本平台签发的。",
            "expired": "二维码已过期，请刷新后重试。",
            "used": "该二维码已用于一次支付，请刷新后重试。",
        }
        super().__init__(messages.get(rule, "二维码无效。"), rule=rule)
