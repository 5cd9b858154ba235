"""Social insurance errors. Codes are listed in docs/errors.md."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound, RuleViolation
from socialcard.kernel.money import Money

ENROLMENT_STATUS_LABELS: dict[str, str] = {
    "active": "参保缴费",
    "suspended": "暂停缴费",
    "terminated": "终止参保",
}
DECLARATION_STATUS_LABELS: dict[str, str] = {
    "declared": "已申报，待缴费",
    "paid": "已缴费",
    "cancelled": "已撤销",
}
MONTH_STATUS_LABELS: dict[str, str] = {
    "due": "欠费",
    "paid": "已缴费",
    "transferred_out": "已转出",
    "cancelled": "已撤销",
}
MONTH_SOURCE_LABELS: dict[str, str] = {
    "declared": "本地申报",
    "back_payment": "补缴",
    "migrated": "历史记录",
    "transferred_in": "异地转入",
}
KIND_LABELS: dict[str, str] = {
    "employee": "单位职工",
    "flexible": "灵活就业",
    "resident": "城乡居民",
}


class TransitionNotAllowed(Conflict):
    code = "insurance_transition_not_allowed"

    def __init__(self, what: str, ref: str, current: str, target: str) -> None:
        super().__init__(
            f"{ref} 当前状态为“{current}”，不能改为“{target}”。",
            object=what,
            ref=ref,
            current_status=current,
            target_status=target,
        )


class AlreadyEnrolled(Conflict):
    """The person has an open enrolment in the same scheme family."""

    code = "already_enrolled"

    def __init__(self, scheme_name: str, holder: str) -> None:
        super().__init__(
            f"已在“{scheme_name}”参保（{holder}），同一险种只能有一个参保关系；请先办理停保或转移。",
            scheme=scheme_name,
        )


class NotEnrolled(NotFound):
    code = "not_enrolled"

    def __init__(self, scheme_name: str) -> None:
        super().__init__(f"未参加“{scheme_name}”，或参保关系已终止。", scheme=scheme_name)


class EnrolmentNotFound(NotFound):
    code = "enrolment_not_found"

    def __init__(self, enrolment_id: int) -> None:
        super().__init__(f"没有参保记录 {enrolment_id}。", enrolment=enrolment_id)


class NotEligible(RuleViolation):
    """The person cannot enrol in this scheme (age, death, kind of enrolment)."""

    code = "enrolment_not_eligible"

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(f"不能参保：{reason}", **details)


class RuleNotInForce(NotFound):
    code = "contribution_rule_not_in_force"

    def __init__(self, scheme: str, period: str) -> None:
        super().__init__(
            f"{period} 没有生效的“{scheme}”缴费参数；请先由经办机构导入。",
            scheme=scheme,
            period=period,
        )


class ParametersInvalid(RuleViolation):
    code = "contribution_parameters_invalid"

    def __init__(self, where: str, rule: str) -> None:
        super().__init__(f"缴费参数文件有误（{where}）：{rule}", where=where, rule=rule)


class DeclarationNotFound(NotFound):
    code = "declaration_not_found"

    def __init__(self, declaration_no: str) -> None:
        super().__init__(f"没有缴费申报 {declaration_no}。", declaration=declaration_no)


class DeclarationRefused(RuleViolation):
    """A declaration cannot be made as asked (nobody to declare, a month already declared)."""

    code = "declaration_refused"

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(f"不能申报：{reason}", **details)


class PaymentMismatch(RuleViolation):
    code = "contribution_payment_mismatch"

    def __init__(self, declaration_no: str, due: int, paid: int) -> None:
        super().__init__(
            f"申报单 {declaration_no} 应缴 {Money(due).format_yuan()}，"
            f"到账 {Money(paid).format_yuan()}，金额不符。",
            declaration=declaration_no,
            due_minor=due,
            paid_minor=paid,
        )


class TierInvalid(RuleViolation):
    code = "contribution_tier_invalid"

    def __init__(self, scheme_name: str, amount_minor: int, allowed: list[int]) -> None:
        grades = "、".join(f"{a // 100}" for a in allowed)
        super().__init__(
            f"“{scheme_name}”没有 {Money(amount_minor).format_yuan()} 的缴费档次；"
            f"可选：{grades} 元。",
            scheme=scheme_name,
            amount_minor=amount_minor,
        )


class ResidentContributionExists(Conflict):
    code = "resident_contribution_exists"

    def __init__(self, scheme_name: str, year: int) -> None:
        super().__init__(f"{year} 年度“{scheme_name}”已缴费或已在缴费中。", year=year)


class TransferRefused(RuleViolation):
    code = "insurance_transfer_refused"

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(f"不能办理关系转移：{reason}", **details)


class TransferNotFound(NotFound):
    code = "insurance_transfer_not_found"

    def __init__(self, transfer_no: str) -> None:
        super().__init__(f"没有关系转移 {transfer_no}。", transfer_no=transfer_no)


class TransferFileNotKept(NotFound):
    code = "insurance_transfer_file_not_kept"

    def __init__(self, transfer_no: str) -> None:
        super().__init__(
            f"关系转移 {transfer_no} 办理时平台尚未保存数据文件，请向社保经办机构申请重新出具。",
            transfer_no=transfer_no,
        )


class DocumentNotFound(NotFound):
    code = "insurance_document_not_found"

    def __init__(self) -> None:
        super().__init__("没有这个验证码对应的凭证；请核对验证码，或向社保经办机构核实。")
