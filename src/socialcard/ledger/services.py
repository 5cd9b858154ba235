"""Writes to the ledger. Every function takes the caller's session and never commits: the entry
point's transaction makes a journal atomic.

Floored accounts (budgets, personal accounts) keep a balance row that every transfer touching
them updates under a row lock, checking the floor; all other balances are sums of transfers, so
no fund or clearing account is a hot row.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, case, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialcard.db import bulk_insert
from socialcard.kernel.money import Money
from socialcard.ledger.accounts import check_account_code
from socialcard.ledger.errors import (
    AccountNotFound,
    AccountSideConflict,
    BalanceFloorBreached,
    ReservationAlreadyResolved,
    TransferInvalid,
    TransferKeyConflict,
    TransferNotFound,
    TransferNotReversible,
)
from socialcard.ledger.models import (
    POSTING_PHASES,
    LedgerAccount,
    LedgerBalance,
    LedgerTransfer,
    NormalSide,
    TransferKind,
    TransferPhase,
)


@dataclass(frozen=True, slots=True)
class TransferRequest:
    transfer_key: str  # chosen by the caller; a retry with the same key is a no-op
    debit_account: str
    credit_account: str
    amount: Money
    kind: TransferKind
    reference: str  # the business object, e.g. "payment:123"
    journal_key: str | None = None  # defaults to the transfer key


def open_account(
    session: Session,
    code: str,
    *,
    name: str,
    normal_side: NormalSide,
    has_floor: bool = False,
    at: datetime,
) -> LedgerAccount:
    """Open the account, or return it when it exists with the same side and floor."""
    check_account_code(code)
    account = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()
    if account is not None:
        if account.normal_side is not normal_side or account.has_floor is not has_floor:
            raise AccountSideConflict(code)
        return account
    account = LedgerAccount(
        code=code, name=name, normal_side=normal_side, has_floor=has_floor, created_at=at
    )
    try:
        with session.begin_nested():
            session.add(account)
            session.flush()
    except IntegrityError:
        # Opened meanwhile by a concurrent transaction: use that one.
        return open_account(
            session, code, name=name, normal_side=normal_side, has_floor=has_floor, at=at
        )
    if has_floor:
        session.add(LedgerBalance(account_id=account.id, updated_at=at))
        session.flush()
    return account


def open_accounts(
    session: Session,
    names: dict[str, str],
    *,
    normal_side: NormalSide,
    has_floor: bool = False,
    at: datetime,
) -> dict[str, int]:
    """Open many accounts of one kind at once (code → name), with their balance rows when
    floored: two statements instead of two per account, for bulk work such as carrying a legacy
    system's personal accounts over. Existing accounts are returned as they are when their side
    and floor agree. Returns code → id."""
    for code in names:
        check_account_code(code)
    found: dict[str, int] = {}
    codes = list(names)
    for i in range(0, len(codes), 500):
        chunk = codes[i : i + 500]
        for account in session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(chunk))):
            if account.normal_side is not normal_side or account.has_floor is not has_floor:
                raise AccountSideConflict(account.code)
            found[account.code] = account.id
    missing = [c for c in codes if c not in found]
    if missing:
        bulk_insert(
            session,
            cast(Table, LedgerAccount.__table__),
            [
                {"code": c, "name": names[c][:120], "normal_side": normal_side,
                 "has_floor": has_floor, "created_at": at}
                for c in missing
            ],
        )  # fmt: skip
        new: dict[str, int] = {}
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            stmt = select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(chunk))
            new.update((c, int(a)) for c, a in session.execute(stmt).tuples())
        if has_floor:
            bulk_insert(
                session,
                cast(Table, LedgerBalance.__table__),
                [{"account_id": a, "updated_at": at} for a in new.values()],
            )
        found.update(new)
    return found


def _account(session: Session, code: str) -> LedgerAccount:
    account = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()
    if account is None:
        raise AccountNotFound(code)
    return account


def _transfer(session: Session, key: str) -> LedgerTransfer:
    transfer = session.scalars(
        select(LedgerTransfer).where(LedgerTransfer.transfer_key == key)
    ).first()
    if transfer is None:
        raise TransferNotFound(key)
    return transfer


# (debits_posted, credits_posted, debits_pending, credits_pending) per account id
_Delta = list[int]


def _deltas_of(phase: TransferPhase, amount: int, *, debit_side: bool) -> tuple[int, int, int, int]:
    posted = amount if phase in POSTING_PHASES else 0
    pending = {TransferPhase.PENDING: amount, TransferPhase.SINGLE: 0}.get(phase, -amount)
    if debit_side:
        return (posted, 0, pending, 0)
    return (0, posted, 0, pending)


FLOOR_CHUNK = 500  # balance rows locked, updated and checked per statement


def _apply_to_floors(session: Session, deltas: dict[int, _Delta], at: datetime) -> None:
    """Lock the balance rows of the floored accounts among `deltas` (in id order, so two
    journals never deadlock), add the deltas and check every floor — in a few statements per
    500 accounts, so a journal crediting twenty thousand personal accounts stays set-based."""
    if not deltas:
        return
    ids = sorted(deltas)
    column = cast(Table, LedgerBalance.__table__).c.updated_at
    dialect = session.connection().dialect
    convert = column.type.dialect_impl(dialect).bind_processor(dialect)
    stamp = convert(at) if convert is not None else at
    for i in range(0, len(ids), FLOOR_CHUNK):
        chunk = ids[i : i + FLOOR_CHUNK]
        locked = session.scalars(
            select(LedgerBalance.account_id)
            .where(LedgerBalance.account_id.in_(chunk))
            .order_by(LedgerBalance.account_id)
            .with_for_update()
        ).all()
        if len(locked) != len(chunk):
            # Every floored account is opened with its balance row; one without it would escape
            # its floor, so refuse the whole journal instead.
            raise RuntimeError("a floored account has no balance row")
        connection = session.connection()
        # One prepared UPDATE run for the chunk with plain parameter tuples (SQLAlchemy's
        # executemany would build and convert a parameter dict per account).
        connection.exec_driver_sql(
            _balance_update(connection.dialect.paramstyle),
            [(*deltas[a], stamp, a) for a in chunk],
        )
        _check_floors(session, chunk, deltas)


@functools.cache
def _balance_update(paramstyle: str) -> str:
    """The balance rows' UPDATE in the driver's own parameter style (qmark for sqlite3, format
    for psycopg), built once."""
    mark = "%s" if paramstyle in ("format", "pyformat") else "?"
    return (
        f"UPDATE ledger_balances SET debits_posted = debits_posted + {mark}, "
        f"credits_posted = credits_posted + {mark}, "
        f"debits_pending = debits_pending + {mark}, "
        f"credits_pending = credits_pending + {mark}, updated_at = {mark} "
        f"WHERE account_id = {mark}"
    )


def _check_floors(session: Session, ids: list[int], deltas: dict[int, _Delta]) -> None:
    """Raise for the first account of `ids` whose available balance went below zero."""
    b = LedgerBalance
    credit = LedgerAccount.normal_side == NormalSide.CREDIT
    available = case(
        (credit, b.credits_posted - b.debits_posted - b.debits_pending),
        else_=b.debits_posted - b.credits_posted - b.credits_pending,
    )
    broken = session.execute(
        select(LedgerAccount.code, LedgerAccount.normal_side, LedgerAccount.id, available)
        .join(b, b.account_id == LedgerAccount.id)
        .where(b.account_id.in_(ids), available < 0)
        .order_by(LedgerAccount.id)
        .limit(1)
    ).first()
    if broken is not None:
        code, side, account_id, left = broken
        dp, cp, dpend, cpend = deltas[account_id]
        outgoing = dp + dpend if side is NormalSide.CREDIT else cp + cpend
        raise BalanceFloorBreached(code, int(left) + max(outgoing, 0), outgoing)


def available_of(
    side: NormalSide,
    debits_posted: int,
    credits_posted: int,
    debits_pending: int,
    credits_pending: int,
) -> int:
    """Posted balance on the normal side less what is reserved against it."""
    if side is NormalSide.CREDIT:
        return credits_posted - debits_posted - debits_pending
    return debits_posted - credits_posted - credits_pending


def _floored_ids(session: Session, ids: Iterable[int]) -> set[int]:
    wanted = set(ids)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(LedgerAccount.id).where(LedgerAccount.id.in_(wanted), LedgerAccount.has_floor)
        )
    )


def _insert(
    session: Session,
    *,
    key: str,
    journal: str,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: int,
    kind: TransferKind,
    phase: TransferPhase,
    reference: str,
    at: datetime,
    pending_id: int | None = None,
    reverses_id: int | None = None,
) -> LedgerTransfer:
    if amount <= 0:
        raise TransferInvalid("金额必须为正数（分）")
    if debit.id == credit.id:
        raise TransferInvalid("借方与贷方必须是两个不同的科目")
    transfer = LedgerTransfer(
        transfer_key=key,
        journal_key=journal,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount_minor=amount,
        kind=kind,
        phase=phase,
        pending_id=pending_id,
        reverses_id=reverses_id,
        reference=reference,
        created_at=at,
    )
    session.add(transfer)
    session.flush()
    deltas: dict[int, _Delta] = defaultdict(lambda: [0, 0, 0, 0])
    for account, debit_side in ((debit, True), (credit, False)):
        if account.has_floor:
            for i, value in enumerate(_deltas_of(phase, amount, debit_side=debit_side)):
                deltas[account.id][i] += value
    _apply_to_floors(session, dict(deltas), at)
    return transfer


def _same(
    existing: LedgerTransfer,
    debit: int,
    credit: int,
    amount: int,
    kind: TransferKind,
    phase: TransferPhase,
    reference: str,
) -> bool:
    return (
        existing.debit_account_id == debit
        and existing.credit_account_id == credit
        and existing.amount_minor == amount
        and existing.kind is kind
        and existing.phase is phase
        and existing.reference == reference
    )


def _record(
    session: Session, request: TransferRequest, phase: TransferPhase, at: datetime
) -> LedgerTransfer:
    if request.amount.currency != "CNY":
        raise TransferInvalid("账本只记人民币（分）")
    debit = _account(session, request.debit_account)
    credit = _account(session, request.credit_account)
    existing = session.scalars(
        select(LedgerTransfer).where(LedgerTransfer.transfer_key == request.transfer_key)
    ).first()
    if existing is not None:
        if _same(
            existing,
            debit.id,
            credit.id,
            request.amount.minor,
            request.kind,
            phase,
            request.reference,
        ):
            return existing
        raise TransferKeyConflict(request.transfer_key)
    try:
        with session.begin_nested():
            return _insert(
                session,
                key=request.transfer_key,
                journal=request.journal_key or request.transfer_key,
                debit=debit,
                credit=credit,
                amount=request.amount.minor,
                kind=request.kind,
                phase=phase,
                reference=request.reference,
                at=at,
            )
    except IntegrityError:
        # A concurrent caller recorded the same key first: the same transfer is a no-op.
        existing = session.scalars(
            select(LedgerTransfer).where(LedgerTransfer.transfer_key == request.transfer_key)
        ).first()
        if existing is not None and _same(
            existing,
            debit.id,
            credit.id,
            request.amount.minor,
            request.kind,
            phase,
            request.reference,
        ):
            return existing
        raise TransferKeyConflict(request.transfer_key) from None


def post_transfer(session: Session, request: TransferRequest, *, at: datetime) -> LedgerTransfer:
    """Move money at once."""
    return _record(session, request, TransferPhase.SINGLE, at)


def reserve_transfer(session: Session, request: TransferRequest, *, at: datetime) -> LedgerTransfer:
    """Set money aside (pending): it leaves the debit account's available balance now and moves
    when `post_reserved` confirms it, or comes back when `void_reserved` releases it."""
    return _record(session, request, TransferPhase.PENDING, at)


def _pending_for_update(session: Session, pending_key: str) -> LedgerTransfer:
    """The reservation, its row locked (PostgreSQL) so that two resolutions of it queue; the
    row is never changed (transfers are append-only), only locked."""
    pending = session.scalars(
        select(LedgerTransfer).where(LedgerTransfer.transfer_key == pending_key).with_for_update()
    ).first()
    if pending is None:
        raise TransferNotFound(pending_key)
    if pending.phase is not TransferPhase.PENDING:
        raise TransferInvalid(f"{pending_key} 不是预留款")
    return pending


def _resolutions_of(session: Session, pending: LedgerTransfer) -> list[LedgerTransfer]:
    return list(
        session.scalars(
            select(LedgerTransfer)
            .where(LedgerTransfer.pending_id == pending.id)
            .order_by(LedgerTransfer.id)
        )
    )


def _resolve(
    session: Session,
    pending_key: str,
    *,
    transfer_key: str,
    kind: TransferKind,
    phase: TransferPhase,
    at: datetime,
) -> LedgerTransfer:
    pending = _pending_for_update(session, pending_key)
    resolutions = _resolutions_of(session, pending)
    if resolutions:
        first = resolutions[0]
        if len(resolutions) == 1 and first.transfer_key == transfer_key and first.phase is phase:
            return first  # the same resolution retried
        raise ReservationAlreadyResolved(pending_key)
    debit, credit = (
        session.get_one(LedgerAccount, pending.debit_account_id),
        session.get_one(LedgerAccount, pending.credit_account_id),
    )
    try:
        with session.begin_nested():
            return _insert(
                session,
                key=transfer_key,
                journal=pending.journal_key,
                debit=debit,
                credit=credit,
                amount=pending.amount_minor,
                kind=kind,
                phase=phase,
                reference=pending.reference,
                at=at,
                pending_id=pending.id,
            )
    except IntegrityError:
        raise ReservationAlreadyResolved(pending_key) from None


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a reservation was resolved: what was posted and what was released."""

    posted_minor: int
    voided_minor: int
    transfers: tuple[LedgerTransfer, ...]


def settle_reserved(
    session: Session,
    pending_key: str,
    *,
    posted_minor: int,
    journal_key: str,
    post_key: str,
    void_key: str,
    post_kind: TransferKind = TransferKind.PAYOUT_CONFIRMED,
    void_kind: TransferKind = TransferKind.PAYOUT_RELEASED,
    at: datetime,
) -> Settlement:
    """Resolve a reservation in one act: post `posted_minor` of it and void the rest (either
    part may be zero, and is then not written) — a bank file's reservation when its return
    arrives (decision 0011). The same settlement retried is a no-op; any other resolution of
    a resolved reservation raises ReservationAlreadyResolved."""
    pending = _pending_for_update(session, pending_key)
    if not 0 <= posted_minor <= pending.amount_minor:
        raise TransferInvalid(f"入账金额 {posted_minor} 超出预留款 {pending.amount_minor}")
    parts = [
        (post_key, posted_minor, post_kind, TransferPhase.POST),
        (void_key, pending.amount_minor - posted_minor, void_kind, TransferPhase.VOID),
    ]
    wanted = [(key, amount, kind, phase) for key, amount, kind, phase in parts if amount > 0]
    resolutions = _resolutions_of(session, pending)
    if resolutions:
        found = [(r.transfer_key, r.amount_minor, r.kind, r.phase) for r in resolutions]
        if found == wanted:
            return Settlement(posted_minor, pending.amount_minor - posted_minor, tuple(resolutions))
        raise ReservationAlreadyResolved(pending_key)
    debit, credit = (
        session.get_one(LedgerAccount, pending.debit_account_id),
        session.get_one(LedgerAccount, pending.credit_account_id),
    )
    written = []
    try:
        with session.begin_nested():
            for key, amount, kind, phase in wanted:
                written.append(
                    _insert(
                        session,
                        key=key,
                        journal=journal_key,
                        debit=debit,
                        credit=credit,
                        amount=amount,
                        kind=kind,
                        phase=phase,
                        reference=pending.reference,
                        at=at,
                        pending_id=pending.id,
                    )
                )
    except IntegrityError:
        raise ReservationAlreadyResolved(pending_key) from None
    return Settlement(posted_minor, pending.amount_minor - posted_minor, tuple(written))


def post_reserved(
    session: Session,
    pending_key: str,
    *,
    transfer_key: str,
    kind: TransferKind = TransferKind.PAYOUT_CONFIRMED,
    at: datetime,
) -> LedgerTransfer:
    return _resolve(
        session, pending_key, transfer_key=transfer_key, kind=kind, phase=TransferPhase.POST, at=at
    )


def void_reserved(
    session: Session,
    pending_key: str,
    *,
    transfer_key: str,
    kind: TransferKind = TransferKind.PAYOUT_RELEASED,
    at: datetime,
) -> LedgerTransfer:
    return _resolve(
        session, pending_key, transfer_key=transfer_key, kind=kind, phase=TransferPhase.VOID, at=at
    )


def reverse_transfer(
    session: Session, original_key: str, *, transfer_key: str, reference: str, at: datetime
) -> LedgerTransfer:
    """Undo a posted transfer with a new one in the other direction; the original stays."""
    original = _transfer(session, original_key)
    if original.phase not in POSTING_PHASES:
        raise TransferNotReversible(original_key, "只有已入账的转账可以冲正")
    if original.kind is TransferKind.REVERSAL:
        raise TransferNotReversible(original_key, "冲正转账本身不再冲正，请另做调整")
    earlier = session.scalars(
        select(LedgerTransfer).where(LedgerTransfer.reverses_id == original.id)
    ).first()
    if earlier is not None:
        if earlier.transfer_key == transfer_key:
            return earlier
        raise TransferNotReversible(original_key, "已经冲正过")
    debit = session.get_one(LedgerAccount, original.credit_account_id)
    credit = session.get_one(LedgerAccount, original.debit_account_id)
    return _insert(
        session,
        key=transfer_key,
        journal=transfer_key,
        debit=debit,
        credit=credit,
        amount=original.amount_minor,
        kind=TransferKind.REVERSAL,
        phase=TransferPhase.SINGLE,
        reference=reference,
        at=at,
        reverses_id=original.id,
    )


# --- set-based journals: a whole batch of lines in one statement ---------------------------------

TRANSFER_COLUMNS = (
    "transfer_key",
    "journal_key",
    "debit_account_id",
    "credit_account_id",
    "amount_minor",
    "kind",
    "phase",
    "pending_id",
    "reference",
    "created_at",
)


def record_journal_from(
    session: Session, rows: Select[Any], *, journal_key: str, at: datetime
) -> int:
    """Insert every transfer the SELECT yields (its columns in TRANSFER_COLUMNS order, all with
    this journal key) in one statement, then apply them to the floored accounts. Used by batch
    work (a disbursement of a million lines) instead of a transfer at a time. Returns the count.
    A broken floor raises and the caller's transaction rolls everything back."""
    t = LedgerTransfer
    if session.scalar(select(t.id).where(t.journal_key == journal_key).limit(1)) is not None:
        raise TransferInvalid(f"日记账 {journal_key} 已经记过，不能再批量写入")
    session.execute(insert(LedgerTransfer).from_select(list(TRANSFER_COLUMNS), rows))
    after = session.scalar(select(func.count()).where(t.journal_key == journal_key)) or 0
    _apply_journal_to_floors(session, journal_key, at)
    return int(after)


def _apply_journal_to_floors(session: Session, journal_key: str, at: datetime) -> None:
    t = LedgerTransfer
    deltas: dict[int, _Delta] = defaultdict(lambda: [0, 0, 0, 0])
    for side_column, debit_side in ((t.debit_account_id, True), (t.credit_account_id, False)):
        stmt = (
            select(side_column, t.phase, func.sum(t.amount_minor))
            .join(LedgerAccount, LedgerAccount.id == side_column)
            .where(t.journal_key == journal_key, LedgerAccount.has_floor)
            .group_by(side_column, t.phase)
        )
        for account_id, phase, amount in session.execute(stmt).tuples():
            for i, value in enumerate(_deltas_of(phase, int(amount), debit_side=debit_side)):
                deltas[account_id][i] += value
    _apply_to_floors(session, dict(deltas), at)
