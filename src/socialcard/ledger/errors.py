"""Ledger errors. Codes are listed in docs/errors.md."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound, RuleViolation


class AccountNotFound(NotFound):
    code = "ledger_account_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"账务科目 {code} 不存在。", account=code)


class AccountCodeInvalid(RuleViolation):
    code = "ledger_account_code_invalid"

    def __init__(self, code: str, rule: str) -> None:
        super().__init__(f"账务科目编码 {code!r} 不合规：{rule}。", account=code, rule=rule)


class AccountSideConflict(Conflict):
    code = "ledger_account_side_conflict"

    def __init__(self, code: str) -> None:
        super().__init__(f"账务科目 {code} 已以不同的记账方向或余额下限开立。", account=code)


class TransferNotFound(NotFound):
    code = "ledger_transfer_not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"没有这笔转账（{key}）。", transfer=key)


class TransferKeyConflict(Conflict):
    """The caller's key was used before for a different transfer."""

    code = "ledger_transfer_key_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(f"转账编号 {key} 已用于另一笔内容不同的转账，不能重复使用。", transfer=key)


class TransferInvalid(RuleViolation):
    code = "ledger_transfer_invalid"

    def __init__(self, rule: str) -> None:
        super().__init__(f"转账不合规：{rule}。", rule=rule)


class BalanceFloorBreached(Conflict):
    """The account must not go below zero and the transfer would take it there."""

    code = "ledger_insufficient_balance"

    def __init__(self, account: str, available: int, amount: int) -> None:
        super().__init__(
            f"科目 {account} 可用余额 {available / 100:.2f} 元，不足以支付 {amount / 100:.2f} 元。",
            account=account,
            available_minor=available,
            amount_minor=amount,
        )


class ReservationAlreadyResolved(Conflict):
    code = "ledger_reservation_resolved"

    def __init__(self, key: str) -> None:
        super().__init__(f"预留款 {key} 已经入账或释放，不能再次处理。", transfer=key)


class TransferNotReversible(Conflict):
    code = "ledger_transfer_not_reversible"

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"转账 {key} 不能冲正：{why}。", transfer=key, rule=why)
