"""Payment errors. Codes are listed in docs/errors.md."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound, PermissionDenied, RuleViolation

ORDER_STATUS_LABELS: dict[str, str] = {
    "created": "待缴费",
    "debiting": "扣款处理中",
    "paid": "已缴费",
    "failed": "缴费失败",
    "unknown": "结果待确认",
    "refunded": "已退费",
}

REFUND_STATUS_LABELS: dict[str, str] = {
    "crediting": "退款处理中",
    "credited": "已退回",
    "failed": "退款失败",
    "unknown": "结果待确认",
}


class FeeScheduleNotFound(NotFound):
    code = "fee_schedule_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"没有收费项目 {code}。", schedule=code)


class FeeScheduleInactive(Conflict):
    code = "fee_schedule_inactive"

    def __init__(self, code: str) -> None:
        super().__init__(f"收费项目 {code} 当前未启用或尚未生效。", schedule=code)


class OrderAmountInvalid(RuleViolation):
    code = "payment_amount_invalid"

    def __init__(self, rule: str) -> None:
        super().__init__(f"缴费金额不合规：{rule}。", rule=rule)


class OrderNotFound(NotFound):
    code = "payment_order_not_found"

    def __init__(self, order_no: str) -> None:
        super().__init__(f"没有缴费单 {order_no}。", order=order_no)


class OrderKeyReused(Conflict):
    """The caller's idempotency key was used before for a different order."""

    code = "payment_order_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__("该幂等键已用于另一笔内容不同的缴费单。", idempotency_key=key)


class OrderTransitionNotAllowed(Conflict):
    code = "payment_order_transition_not_allowed"

    def __init__(self, order_no: str, current: str, target: str) -> None:
        super().__init__(
            f"缴费单 {order_no} 当前为“{ORDER_STATUS_LABELS.get(current, current)}”，"
            f"不能改为“{ORDER_STATUS_LABELS.get(target, target)}”。",
            order=order_no,
            current_status=current,
            target_status=target,
        )


class RefundTransitionNotAllowed(Conflict):
    code = "payment_refund_transition_not_allowed"

    def __init__(self, end_to_end_id: str, current: str, target: str) -> None:
        super().__init__(
            f"退款 {end_to_end_id} 当前为“{REFUND_STATUS_LABELS.get(current, current)}”，"
            f"不能改为“{REFUND_STATUS_LABELS.get(target, target)}”。",
            refund=end_to_end_id,
            current_status=current,
            target_status=target,
        )


class PayerNotOrderHolder(PermissionDenied):
    """The card presented belongs to someone else than the person the order is for."""

    code = "payment_payer_mismatch"

    def __init__(self, order_no: str) -> None:
        super().__init__(f"所持社会保障卡不是缴费单 {order_no} 缴费人的卡。", order=order_no)


class CardWithoutBankAccount(Conflict):
    code = "payment_card_without_bank_account"

    def __init__(self, card_number: str) -> None:
        super().__init__(
            "该社会保障卡未关联银行账户，不能扣款缴费；请到合作银行网点办理。",
            card_number=card_number,
        )


class RefundInProgress(Conflict):
    code = "payment_refund_in_progress"

    def __init__(self, order_no: str) -> None:
        super().__init__(
            f"缴费单 {order_no} 已有一笔退款正在处理，请稍后查询结果。", order=order_no
        )


class NotOrderDepartment(PermissionDenied):
    code = "payment_not_order_department"

    def __init__(self, order_no: str, department: str) -> None:
        super().__init__(
            f"缴费单 {order_no} 属于 {department}，本部门不能办理。",
            order=order_no,
            department=department,
        )


class ReceiptNotAvailable(Conflict):
    """A receipt exists only for an order the bank collected."""

    code = "payment_receipt_not_available"

    def __init__(self, order_no: str) -> None:
        super().__init__(f"缴费单 {order_no} 尚未缴费成功，没有缴费凭证。", order=order_no)
