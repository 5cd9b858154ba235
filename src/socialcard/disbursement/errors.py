"""Disbursement errors. Codes are listed in docs/errors.md."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound, PermissionDenied, RuleViolation

BATCH_STATUS_LABELS: dict[str, str] = {
    "drafted": "待提交",
    "submitted": "待审核",
    "approved": "已审核，待送盘",
    "sent": "已送盘，待回盘",
    "completed": "已完成",
    "completed_with_failures": "已完成（有失败）",
    "cancelled": "已作废",
}

LINE_STATUS_LABELS: dict[str, str] = {
    "invalid": "校验未通过",
    "queued": "待发放",
    "reserved": "已冻结资金，待银行回盘",
    "paid": "已到账",
    "failed": "银行退回",
    "withdrawn": "已撤回",
}


class ProgrammeNotFound(NotFound):
    code = "programme_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"没有发放项目 {code}。", programme=code)


class BatchNotFound(NotFound):
    code = "disbursement_batch_not_found"

    def __init__(self, batch_no: str) -> None:
        super().__init__(f"没有发放批次 {batch_no}。", batch=batch_no)


class BatchTransitionNotAllowed(Conflict):
    code = "disbursement_batch_transition_not_allowed"

    def __init__(self, batch_no: str, current: str, target: str) -> None:
        super().__init__(
            f"批次 {batch_no} 当前为“{BATCH_STATUS_LABELS.get(current, current)}”，"
            f"不能改为“{BATCH_STATUS_LABELS.get(target, target)}”。",
            batch=batch_no,
            current_status=current,
            target_status=target,
        )


class PayeeListUnreadable(RuleViolation):
    """The file itself cannot be read as a payee list (not the lines in it)."""

    code = "payee_list_unreadable"

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(f"发放名单无法读取：{reason}", **details)


class PayeeListEmpty(RuleViolation):
    code = "payee_list_empty"

    def __init__(self) -> None:
        super().__init__("发放名单中没有任何可发放的人员。")


class NotProgrammeDepartment(PermissionDenied):
    code = "not_programme_department"

    def __init__(self, programme: str, department: str) -> None:
        super().__init__(
            f"本部门（{department}）不是发放项目 {programme} 的经办部门。",
            programme=programme,
            department=department,
        )


class MakerCannotCheck(PermissionDenied):
    """Maker-checker: whoever prepared or submitted a batch never approves it."""

    code = "maker_cannot_check"

    def __init__(self, batch_no: str) -> None:
        super().__init__(
            f"批次 {batch_no} 由您制单或提交，须由财政部门的另一位审核人员审核。", batch=batch_no
        )


class NotApprovingDepartment(PermissionDenied):
    code = "not_approving_department"

    def __init__(self, batch_no: str, department: str) -> None:
        super().__init__(
            f"批次 {batch_no} 须由 {department} 审核。", batch=batch_no, department=department
        )


class CorrectionNotOpen(Conflict):
    code = "correction_not_open"

    def __init__(self, line_id: int, state: str | None) -> None:
        super().__init__(
            f"发放明细 {line_id} 不在待纠错状态（{state or '无'}）。", line=line_id, state=state
        )


class NothingToReissue(RuleViolation):
    code = "nothing_to_reissue"

    def __init__(self) -> None:
        super().__init__("没有可重新发放的纠错明细：请先修正账户或等待银行账户激活。")
