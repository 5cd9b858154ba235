"""Bank errors with stable codes; docs/errors.md lists them."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound, RuleViolation


class BankFileInvalid(RuleViolation):
    """A bank file breaks its format, or a return file does not answer its send file."""

    code = "bank_file_invalid"

    def __init__(self, line_number: int, rule: str, message: str) -> None:
        super().__init__(f"银行文件第 {line_number} 行：{message}", line=line_number, rule=rule)
        self.line_number = line_number
        self.rule = rule
        self.detail = message

    def __reduce__(self) -> tuple[type[BankFileInvalid], tuple[int, str, str]]:
        # Crosses to the platform from a bank in another process (banks.sandbox_host).
        return (type(self), (self.line_number, self.rule, self.detail))


class BankBatchConflict(Conflict):
    """The same batch number already holds a different file: batch numbers are never reused."""

    code = "bank_batch_conflict"

    def __init__(self, bank_code: str, batch_no: str, kind: str) -> None:
        super().__init__(
            f"银行 {bank_code} 的批次 {batch_no} 已有内容不同的{KIND_LABELS.get(kind, kind)}；"
            "批次号不能重复使用，重发请使用新批次号。",
            bank_code=bank_code,
            batch_no=batch_no,
            kind=kind,
        )


class BankFileNotFound(NotFound):
    code = "bank_file_not_found"

    def __init__(self, reference: str) -> None:
        super().__init__(f"没有这个银行文件（{reference}）。", reference=reference)


class BankFileTransitionNotAllowed(Conflict):
    code = "bank_file_transition_not_allowed"

    def __init__(self, name: str, current: str, target: str) -> None:
        super().__init__(
            f"银行文件 {name} 当前为 {current}，不能改为 {target}。",
            name=name,
            current_status=current,
            target_status=target,
        )


KIND_LABELS = {"send": "送盘文件", "return": "回盘文件", "statement": "对账单"}
