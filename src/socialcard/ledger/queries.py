"""Reads of the ledger: balances derived from transfers, statements of an account, and the
verification that proves the books (`socialcard ledger verify`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import BindParameter, Select, bindparam, case, func, select, union_all
from sqlalchemy.orm import Session

from socialcard.ledger.errors import AccountNotFound, TransferNotFound
from socialcard.ledger.models import (
    LedgerAccount,
    LedgerBalance,
    LedgerTransfer,
    NormalSide,
    TransferPhase,
)


@dataclass(frozen=True, slots=True)
class Balance:
    code: str
    normal_side: NormalSide
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def posted(self) -> int:
        """The balance on the account's normal side, in fen."""
        if self.normal_side is NormalSide.CREDIT:
            return self.credits_posted - self.debits_posted
        return self.debits_posted - self.credits_posted

    @property
    def reserved(self) -> int:
        """What is reserved against the account: pending on the side that lowers it."""
        if self.normal_side is NormalSide.CREDIT:
            return self.debits_pending
        return self.credits_pending

    @property
    def available(self) -> int:
        """Posted less what is reserved against it."""
        return self.posted - self.reserved


def get_account(session: Session, code: str) -> LedgerAccount:
    account = find_account(session, code)
    if account is None:
        raise AccountNotFound(code)
    return account


def find_account(session: Session, code: str) -> LedgerAccount | None:
    return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()


def account_ids(session: Session, codes: list[str]) -> dict[str, int]:
    """The ids of accounts by code (for set-based journals); a missing one raises."""
    stmt = select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(set(codes)))
    found = dict(session.execute(stmt).tuples().all())
    for code in codes:
        if code not in found:
            raise AccountNotFound(code)
    return found


def list_accounts(session: Session, *, prefix: str | None = None) -> list[LedgerAccount]:
    stmt = select(LedgerAccount).order_by(LedgerAccount.code)
    if prefix:
        stmt = stmt.where(LedgerAccount.code.startswith(prefix, autoescape=True))
    return list(session.scalars(stmt))


def list_balances(
    session: Session, *, prefix: str | None = None
) -> list[tuple[LedgerAccount, Balance]]:
    """Accounts (by code prefix) in code order, each with its balance derived from its
    transfers: four grouped scans of the transfers for them all, not a query per account."""
    totals = _derived_totals(session)
    return [
        (account, Balance(account.code, account.normal_side, *totals.get(account.id, [0] * 4)))
        for account in list_accounts(session, prefix=prefix)
    ]


def _sums(session: Session, account_id: int, as_of: datetime | None) -> tuple[int, int, int, int]:
    t = LedgerTransfer
    totals = [0, 0, 0, 0]
    for column, offset in ((t.debit_account_id, 0), (t.credit_account_id, 1)):
        stmt = select(t.phase, func.sum(t.amount_minor)).where(column == account_id)
        if as_of is not None:
            stmt = stmt.where(t.created_at <= as_of)
        for phase, amount in session.execute(stmt.group_by(t.phase)).tuples():
            value = int(amount)
            if phase in (TransferPhase.SINGLE, TransferPhase.POST):
                totals[offset] += value
            if phase is TransferPhase.PENDING:
                totals[offset + 2] += value
            if phase in (TransferPhase.POST, TransferPhase.VOID):
                totals[offset + 2] -= value
    return totals[0], totals[1], totals[2], totals[3]


def get_balance(session: Session, code: str, *, as_of: datetime | None = None) -> Balance:
    """The balance derived from the transfers (as of a moment, or now)."""
    account = get_account(session, code)
    dp, cp, dpend, cpend = _sums(session, account.id, as_of)
    return Balance(code, account.normal_side, dp, cp, dpend, cpend)


@dataclass(frozen=True, slots=True)
class TransferLine:
    transfer_key: str
    created_at: datetime
    kind: str
    phase: TransferPhase
    counterpart: str
    reference: str
    amount_minor: int  # signed on the account's normal side: + increases its balance


def _statement(*, paged: bool) -> Select[Any]:
    """The newest `limit` transfers on each side of an account (before `before_id` when
    `paged`), two range scans of the `(account, id)` indexes merged newest first, with the other
    side's code."""
    t = LedgerTransfer.__table__
    account: BindParameter[int] = bindparam("account_id")
    limit: BindParameter[int] = bindparam("limit")
    columns = (
        t.c.id,
        t.c.transfer_key,
        t.c.created_at,
        t.c.kind,
        t.c.phase,
        t.c.credit_account_id,
        t.c.debit_account_id,
        t.c.amount_minor,
        t.c.reference,
    )
    # The account as a one-value range, ordered by the whole (account, id) index key: PostgreSQL
    # switches a prepared statement to a plan made for any account after a few runs, and with
    # `side = account` that generic plan walked the primary key backwards filtering every
    # transfer (the funds' accounts make the average account look busy): 128 ms instead of
    # 0.1 ms on the full city. A range keeps the order from the (account, id) index in every
    # plan; a fund's statement reads 20 index entries, not its millions of transfers.
    sides = []
    for side in (t.c.debit_account_id, t.c.credit_account_id):
        stmt = select(*columns).where(side.between(account, account))
        if paged:
            stmt = stmt.where(t.c.id < bindparam("before_id"))
        sides.append(stmt.order_by(side.desc(), t.c.id.desc()).limit(limit).subquery())
    both = union_all(*(select(side) for side in sides)).subquery()
    other = LedgerAccount.__table__.alias("other")
    counterpart = case(
        (both.c.debit_account_id == account, both.c.credit_account_id),
        else_=both.c.debit_account_id,
    )
    # The other side's code as a lookup per line (at most `limit` primary-key probes): as a
    # join, a generic plan hashed the whole accounts table for 20 lines (23 ms).
    code = select(other.c.code).where(other.c.id == counterpart).scalar_subquery()
    return select(both, code).order_by(both.c.id.desc()).limit(limit)


_STATEMENT: Final = _statement(paged=False)
_STATEMENT_BEFORE: Final = _statement(paged=True)


def account_statement(
    session: Session,
    account_id: int,
    normal_side: NormalSide,
    *,
    limit: int = 20,
    before_id: int | None = None,
) -> list[TransferLine]:
    """An account's latest transfers (older than `before_id` when given), newest first, each
    signed on the account's normal side: + increases its balance."""
    params = {"account_id": account_id, "limit": limit}
    stmt = _STATEMENT
    if before_id is not None:
        stmt = _STATEMENT_BEFORE
        params["before_id"] = before_id
    lines = []
    for row in session.execute(stmt, params):
        _id, key, created_at, kind, phase, credit_id, _debit_id, amount, reference, code = row
        grows = (credit_id == account_id) == (normal_side is NormalSide.CREDIT)
        lines.append(
            TransferLine(
                key, created_at, kind.value, phase, code, reference, amount if grows else -amount
            )
        )
    return lines


def list_transfers(
    session: Session, code: str, *, limit: int = 20, before_id: int | None = None
) -> list[TransferLine]:
    """The account's latest transfers, newest first (its statement)."""
    account = get_account(session, code)
    return account_statement(
        session, account.id, account.normal_side, limit=limit, before_id=before_id
    )


def get_transfer(session: Session, key: str) -> LedgerTransfer:
    transfer = session.scalars(
        select(LedgerTransfer).where(LedgerTransfer.transfer_key == key)
    ).first()
    if transfer is None:
        raise TransferNotFound(key)
    return transfer


def journal_total(session: Session, journal_key: str) -> int:
    """The fen moved by the transfers of one journal."""
    t = LedgerTransfer
    total = session.scalar(
        select(func.coalesce(func.sum(t.amount_minor), 0)).where(t.journal_key == journal_key)
    )
    return int(total or 0)


def journal_transfer_keys(session: Session, journal_key: str) -> list[str]:
    """The keys of one journal's transfers, in order."""
    t = LedgerTransfer
    return sorted(session.scalars(select(t.transfer_key).where(t.journal_key == journal_key)))


class ReservationState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


def reservation_state(session: Session, pending_key: str) -> ReservationState:
    """Pending until resolved; posted when any of it was posted (a settlement may void the
    rest), voided when all of it was released."""
    pending = get_transfer(session, pending_key)
    phases = set(
        session.scalars(select(LedgerTransfer.phase).where(LedgerTransfer.pending_id == pending.id))
    )
    if not phases:
        return ReservationState.PENDING
    return ReservationState.POSTED if TransferPhase.POST in phases else ReservationState.VOIDED


# --- verification -----------------------------------------------------------------------------


@dataclass
class LedgerVerification:
    transfers: int = 0
    accounts: int = 0
    debits_posted: int = 0
    credits_posted: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _derived_totals(session: Session) -> dict[int, list[int]]:
    """(debits_posted, credits_posted, debits_pending, credits_pending) of every account, from
    the transfers alone, in four grouped scans."""
    t = LedgerTransfer
    totals: dict[int, list[int]] = {}
    for column, offset in ((t.debit_account_id, 0), (t.credit_account_id, 1)):
        stmt = select(column, t.phase, func.sum(t.amount_minor)).group_by(column, t.phase)
        for account_id, phase, amount in session.execute(stmt).tuples():
            row = totals.setdefault(account_id, [0, 0, 0, 0])
            value = int(amount)
            if phase in (TransferPhase.SINGLE, TransferPhase.POST):
                row[offset] += value
            if phase is TransferPhase.PENDING:
                row[offset + 2] += value
            if phase in (TransferPhase.POST, TransferPhase.VOID):
                row[offset + 2] -= value
    return totals


def verify_ledger(session: Session) -> LedgerVerification:
    """Prove the books: debits equal credits (posted and pending), every stored balance row
    equals its transfers, no floor is broken, every resolution mirrors its pending transfer
    (same accounts, at most its amount), no reservation is resolved beyond its amount or by two
    posts or two voids, every reversal mirrors its original."""
    report = LedgerVerification()
    t = LedgerTransfer
    report.transfers = int(session.scalar(select(func.count()).select_from(t)) or 0)
    accounts = {a.id: a for a in session.scalars(select(LedgerAccount))}
    report.accounts = len(accounts)
    totals = _derived_totals(session)
    report.debits_posted = sum(v[0] for v in totals.values())
    report.credits_posted = sum(v[1] for v in totals.values())
    if report.debits_posted != report.credits_posted:
        report.problems.append(
            f"借方合计 {report.debits_posted} ≠ 贷方合计 {report.credits_posted}（已入账）"
        )
    pending_debits = sum(v[2] for v in totals.values())
    pending_credits = sum(v[3] for v in totals.values())
    if pending_debits != pending_credits:
        report.problems.append(f"预留借方 {pending_debits} ≠ 预留贷方 {pending_credits}")
    for account_id, (_debits, _credits, dpend, cpend) in totals.items():
        if dpend < 0 or cpend < 0:
            report.problems.append(f"{accounts[account_id].code}: 预留余额为负")
    stored = {b.account_id: b for b in session.scalars(select(LedgerBalance))}
    for account in accounts.values():
        if not account.has_floor:
            continue
        derived = totals.get(account.id, [0, 0, 0, 0])
        row = stored.get(account.id)
        if row is None:
            report.problems.append(f"{account.code}: 有下限的科目缺少余额行")
            continue
        kept = [row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending]
        if kept != derived:
            report.problems.append(f"{account.code}: 余额行 {kept} ≠ 由转账计算的 {derived}")
        balance = Balance(account.code, account.normal_side, *derived)
        if balance.available < 0:
            report.problems.append(f"{account.code}: 可用余额 {balance.available} 低于下限 0")
    pending = LedgerTransfer.__table__.alias("pending")
    mismatched = session.scalar(
        select(func.count())
        .select_from(t)
        .join(pending, pending.c.id == t.pending_id)
        .where(
            (pending.c.debit_account_id != t.debit_account_id)
            | (pending.c.credit_account_id != t.credit_account_id)
            | (pending.c.amount_minor < t.amount_minor)
            | (pending.c.phase != TransferPhase.PENDING.value)
        )
    )
    if mismatched:
        report.problems.append(f"{mismatched} 笔入账/释放与其预留款不一致")
    # A reservation is resolved once: its post and its void together never exceed it.
    resolved = (
        select(t.pending_id.label("pending_id"), func.sum(t.amount_minor).label("resolved"))
        .where(t.pending_id.is_not(None))
        .group_by(t.pending_id)
        .subquery()
    )
    exceeded = session.scalar(
        select(func.count())
        .select_from(resolved)
        .join(pending, pending.c.id == resolved.c.pending_id)
        .where(resolved.c.resolved > pending.c.amount_minor)
    )
    if exceeded:
        report.problems.append(f"{exceeded} 笔预留款的入账与释放合计超过预留金额")
    original = LedgerTransfer.__table__.alias("original")
    bad_reversals = session.scalar(
        select(func.count())
        .select_from(t)
        .join(original, original.c.id == t.reverses_id)
        .where(
            (original.c.debit_account_id != t.credit_account_id)
            | (original.c.credit_account_id != t.debit_account_id)
            | (original.c.amount_minor != t.amount_minor)
        )
    )
    if bad_reversals:
        report.problems.append(f"{bad_reversals} 笔冲正与原转账不对应")
    twice = session.scalar(
        select(func.count()).select_from(
            select(t.pending_id)
            .where(t.pending_id.is_not(None))
            .group_by(t.pending_id, t.phase)
            .having(func.count() > 1)
            .subquery()
        )
    )
    if twice:
        report.problems.append(f"{twice} 笔预留款被处理了不止一次")
    return report


def posted_by_kind(
    session: Session, account_ids: list[int], *, start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Per account, the posted movement of each transfer kind in [start, end), signed on the
    account's normal side (+ increases its balance). For yearly account statements."""
    t = LedgerTransfer
    out: dict[int, dict[str, int]] = {a: {} for a in account_ids}
    sides = {a.id: a.normal_side for a in session.scalars(
        select(LedgerAccount).where(LedgerAccount.id.in_(account_ids))
    )}  # fmt: skip
    for column, is_debit in ((t.debit_account_id, True), (t.credit_account_id, False)):
        stmt = (
            select(column, t.kind, func.sum(t.amount_minor))
            .where(
                column.in_(account_ids),
                t.phase.in_((TransferPhase.SINGLE, TransferPhase.POST)),
                t.created_at >= start,
                t.created_at < end,
            )
            .group_by(column, t.kind)
        )
        for account_id, kind, amount in session.execute(stmt).tuples():
            grows = is_debit == (sides[account_id] is NormalSide.DEBIT)
            bucket = out[account_id]
            bucket[kind.value] = bucket.get(kind.value, 0) + (
                int(amount) if grows else -int(amount)
            )
    return out


def stored_balance(session: Session, code: str) -> Balance | None:
    """A floored account's balance from its balance row (one indexed read, no sum over its
    transfers); None when the account does not exist. `ledger verify` proves the row equals its
    transfers."""
    row = session.execute(
        select(
            LedgerAccount.normal_side,
            LedgerBalance.debits_posted,
            LedgerBalance.credits_posted,
            LedgerBalance.debits_pending,
            LedgerBalance.credits_pending,
        )
        .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .where(LedgerAccount.code == code)
    ).first()
    if row is None:
        return None
    side, dp, cp, dpend, cpend = row
    return Balance(code, side, int(dp), int(cp), int(dpend), int(cpend))
