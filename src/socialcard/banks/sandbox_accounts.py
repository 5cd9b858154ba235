"""The sandbox bank's accounts: its schema, the account states, and the order in which a bank
checks an instruction line against the account it names."""

from __future__ import annotations

from enum import StrEnum

from socialcard.banks import reasons

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    bank_code TEXT NOT NULL, account_number TEXT NOT NULL, name TEXT NOT NULL,
    resident_id TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    activated INTEGER NOT NULL, balance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bank_code, account_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY, bank_code TEXT NOT NULL, batch_no TEXT NOT NULL, name TEXT NOT NULL,
    direction TEXT NOT NULL, line_count INTEGER NOT NULL, received_at TEXT NOT NULL,
    return_file BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_number ON batches (bank_code, batch_no);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY, bank_code TEXT NOT NULL, end_to_end_id TEXT NOT NULL,
    batch_no TEXT, seq INTEGER NOT NULL, amount INTEGER NOT NULL, status TEXT NOT NULL,
    reason_code TEXT, reason_text TEXT, executed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_id ON executions (end_to_end_id);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY, bank_code TEXT NOT NULL, account_number TEXT NOT NULL,
    reference TEXT NOT NULL, side TEXT NOT NULL, amount INTEGER NOT NULL,
    booked_at TEXT NOT NULL, booked_on TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_account ON entries (bank_code, account_number, booked_on);
CREATE TABLE IF NOT EXISTS activations (
    notice_id INTEGER PRIMARY KEY AUTOINCREMENT, bank_code TEXT NOT NULL,
    account_number TEXT NOT NULL, activated_at TEXT NOT NULL
);
"""


class AccountState(StrEnum):
    """The state of an account at the bank."""

    NORMAL = "normal"  # takes credits and debits
    CLOSED = "closed"  # 销户: refuses everything
    FROZEN = "frozen"  # 冻结/只收不付: refuses everything in the sandbox
    LOST = "lost"  # 挂失: refuses everything until the card is replaced
    DORMANT = "dormant"  # 久悬: long unused, refuses until reactivated at a branch


STATE_REASONS = {
    AccountState.CLOSED: reasons.ACCOUNT_CLOSED,
    AccountState.FROZEN: reasons.ACCOUNT_FROZEN,
    AccountState.LOST: reasons.ACCOUNT_LOST,
    AccountState.DORMANT: reasons.DORMANT,
}
_REASON_OF_STATE = {state.value: reason for state, reason in STATE_REASONS.items()}
HOLDER = "holder"
AGENCY = "agency"  # an agency's settlement account: may be overdrawn, appears on statements


# An account row as a batch reads it: name, resident_id, kind, state, activated, balance.
HeldAccount = tuple[str, str, str, str, int, int]


def refusal(
    account: HeldAccount | None,
    balance: int,
    name: str,
    resident_id: str,
    amount_minor: int,
    *,
    debit: bool,
) -> str | None:
    """The reason the bank refuses a line, in the order a bank checks: the account, its state,
    activation, then the payee's name and ID against the account's, then the funds."""
    if account is None:
        return reasons.NO_SUCH_ACCOUNT
    held_name, held_resident_id, _kind, state, activated, _stored_balance = account
    state_reason = _REASON_OF_STATE.get(state)
    if state_reason is not None:
        return state_reason
    if not activated:
        return reasons.NOT_ACTIVATED
    if held_name != name:
        return reasons.NAME_MISMATCH
    if held_resident_id != resident_id:
        return reasons.ID_MISMATCH
    if debit and balance < amount_minor:
        return reasons.INSUFFICIENT_FUNDS
    return None
