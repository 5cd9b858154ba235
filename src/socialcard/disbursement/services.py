"""Writes of the disbursement area: upload a payee list into a batch (validated set-based),
submit, send back, approve (maker-checker; approval reserves every line's money), cancel, and the
correction queue. The entry point owns the transaction; the bank side lives in runner.py."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from socialcard.cards.models import Card, CardStatus
from socialcard.db import (
    bulk_insert_tuples,
    empty_scratch_table,
    give_batch_memory,
    in_thread_while_produced,
    keys_from_their_rows,
    plan_key_lookups,
    scratch_table,
    temporary_table,
)
from socialcard.disbursement.errors import (
    BatchNotFound,
    CorrectionNotOpen,
    MakerCannotCheck,
    NotApprovingDepartment,
    NothingToReissue,
    NotProgrammeDepartment,
    PayeeListEmpty,
)
from socialcard.disbursement.id_blocks import IdBlock, IdBlockWriter, store_id_block
from socialcard.disbursement.models import (
    BatchStatus,
    Correction,
    DisbursementBatch,
    LineStatus,
    PaymentLine,
    Programme,
)
from socialcard.disbursement.payee_lists import PayeeRow
from socialcard.disbursement.programmes import get_programme
from socialcard.errors import InvalidField
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing, sm3_hex
from socialcard.ledger import accounts as codes
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import TransferKind, TransferPhase
from socialcard.registry.models import Person, PersonStatus
from socialcard.registry.services import resident_id_index

ANALYZE_AFTER = 10_000  # lines: smaller lists leave the statistics to autovacuum
FINANCE = "finance"  # approves and pays every programme: sees every department's corrections
PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")
USABLE_CARD = (CardStatus.ISSUED.value, CardStatus.ACTIVE.value)
IN_HAND = ("issued", "active", "reported_temporary", "reported_formal")
# Lines that count as "paid or being paid" for the one-payment-per-period rule.
LIVE_LINES = (LineStatus.QUEUED.value, LineStatus.RESERVED.value, LineStatus.PAID.value)


@dataclass(frozen=True, slots=True)
class Officer:
    """Who acts: a staff member and their department."""

    staff_id: int | None
    department_code: str


def bank_batch_no(batch_no: str, bank_code: str) -> str:
    """The number of a batch's send file at one bank (`<batch_no>-<BANK>`)."""
    return f"{batch_no}-{bank_code}"


def file_transfer_key(bank_batch: str, act: str) -> str:
    """The ledger key of a bank file's money: `pay:<batch_no>-<BANK>:reserve|post|void` (the
    same business act gives the same key, so a resumed run cannot record it twice). One
    reservation per bank file; its lines are the sub-ledger (decision 0011)."""
    return f"pay:{bank_batch}:{act}"


def reserved_bank(batch_no: str, transfer_key: str) -> str | None:
    """The bank whose file a reservation's key names (file_transfer_key of the batch's bank
    file and "reserve"); None for any other key."""
    # The reservation's key is the head, the bank's code and the tail.
    head, tail = f"pay:{bank_batch_no(batch_no, '')}", ":reserve"
    if transfer_key.startswith(head) and transfer_key.endswith(tail):
        return transfer_key[len(head) : -len(tail)] or None
    return None


def _next_batch_no(session: Session, at: datetime) -> str:
    day = at.astimezone(SHANGHAI).strftime("%Y%m%d")
    prefix = f"DF{day}"
    last = session.scalar(
        select(func.max(DisbursementBatch.batch_no)).where(
            DisbursementBatch.batch_no.startswith(prefix)
        )
    )
    number = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{number:05d}"


def _insert_with_number(session: Session, batch: DisbursementBatch, at: datetime) -> None:
    """Give the batch the day's next number; another upload taking the same number at the same
    moment makes this one take the next (the unique index decides)."""
    for _ in range(20):
        batch.batch_no = _next_batch_no(session, at)
        try:
            with session.begin_nested():
                session.add(batch)
                session.flush()
            return
        except IntegrityError:
            if batch in session:  # the savepoint's rollback normally took it out already
                session.expunge(batch)
    raise RuntimeError("no free batch number after 20 tries")


def _staging_table() -> Table:
    return temporary_table(
        "payee_staging",
        Column("seq", Integer),
        Column("id_index", String(64)),
        Column("masked", String(18)),
        Column("name", String(50)),
        Column("amount_minor", BigInteger),
        Column("memo", String(60)),
        Column("reject_code", String(40)),
        Column("reject_detail", String(200)),
        Column("e2e", String(32)),
    )


def _prior_table() -> Table:
    # The holders the programme already pays (or holds in correction) for the period, one row
    # each: worked out once per list, then looked up by key for each slice of it.
    return temporary_table(
        "prior_payees",
        Column("person_id", BigInteger, primary_key=True),
        Column("live", Integer),
        Column("open_failed", Integer),
    )


# The refusals a line gets only when every check before the duplicate one passed, in the order
# they are checked (_validate_slice): a repeated ID number replaces any of them (_mark_repeated).
_REFUSED_AFTER_DUPLICATE: Final = (
    "no_usable_card",
    "bank_account_missing",
    "bank_account_not_activated",
    "already_in_programme_period",
    "in_correction_queue",
)
# Rows of a list validated per statement: a thread validates one slice in the database while
# the next is read and its ID numbers indexed here (decision 0019).
VALIDATION_SLICE = 50_000


def create_batch(
    session: Session,
    keys: KeyRing,
    *,
    programme_code: str,
    period: str,
    title: str,
    rows: Iterable[PayeeRow],
    source_name: str,
    source: bytes,
    officer: Officer,
    at: datetime,
    reissue_of: DisbursementBatch | None = None,
) -> DisbursementBatch:
    """A drafted batch from a payee list (read_payee_rows, or rows in list order), every line
    validated against the registry, the card and the bank account set-based, a slice of rows
    per statement. On PostgreSQL a thread validates each slice while the next rows are read
    (decision 0019): the reading and the database's work overlap."""
    if not PERIOD.match(period):
        raise InvalidField("period", "period_format", "期间应写作 2026（年度）或 2026-11（月份）。")
    programme = get_programme(session, programme_code)
    if officer.department_code not in programme.departments:
        raise NotProgrammeDepartment(programme.code, officer.department_code)
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        raise PayeeListEmpty()
    batch = DisbursementBatch(
        batch_no="",
        programme_id=programme.id,
        department_code=officer.department_code,
        period=period,
        title=title[:100],
        status=BatchStatus.DRAFTED,
        source_name=source_name[:200],
        source_digest=sm3_hex(source),
        reissue_of_batch_id=reissue_of.id if reissue_of else None,
        prepared_by=officer.staff_id,
        prepared_at=at,
    )
    # One list of a programme at a time: the one-payment-per-period rule reads the batches the
    # validation below must not race with (PostgreSQL; SQLite serialises writers anyway).
    session.execute(select(Programme.id).where(Programme.id == programme.id).with_for_update())
    _insert_with_number(session, batch, at)
    postgres = session.connection().dialect.name == "postgresql"
    memo = programme.short_name
    prefix = batch.batch_no
    first_seq: dict[str, int] = {}  # ID number -> the row it is on first
    repeated: set[int] = set()  # rows whose ID number is on another row of the list too
    count = 0

    def slices() -> Iterator[tuple[list[tuple[Any, ...]], IdBlock]]:
        # Here, in the caller's thread: the blind index of each ID number, the repeated ones,
        # and each slice's ID numbers encrypted as one block (decision 0022).
        nonlocal count
        rows_of_slice: list[tuple[Any, ...]] = []
        ids = IdBlockWriter(keys)
        for row in itertools.chain((first,), remaining):
            count += 1
            index = None
            if row.resident_id is not None:
                value = row.resident_id.value
                seen = first_seq.setdefault(value, row.seq)
                if seen != row.seq:
                    repeated.update((seen, row.seq))
                index = resident_id_index(keys, row.resident_id)
                ids.add(row.seq, value)
            else:
                ids.add(row.seq, None)
            rows_of_slice.append(
                (
                    row.seq,
                    index,
                    row.raw_id_masked[:18],
                    row.name,
                    row.amount_minor,
                    row.memo or memo,
                    row.reject_code,
                    row.reject_detail,
                    f"{prefix}{row.seq:07d}",
                )
            )
            if len(rows_of_slice) >= VALIDATION_SLICE:
                yield rows_of_slice, ids.block()
                rows_of_slice = []
        if rows_of_slice:
            yield rows_of_slice, ids.block()

    with (
        scratch_table(session, _staging_table()) as staging,
        scratch_table(session, _prior_table()) as prior,
    ):
        earlier = prior if _note_prior_payees(session, prior, batch, programme) else None
        # Each slice's rows are looked up by key in the registry and the cards: hashing both
        # tables for every slice would cost more than the whole list's lookups.
        plan_key_lookups(session)

        def validate(item: tuple[list[tuple[Any, ...]], IdBlock]) -> None:
            rows_of_slice, block = item
            _validate_slice(session, staging, earlier, batch, rows_of_slice)
            store_id_block(session, batch, block)

        if postgres:
            in_thread_while_produced(slices(), validate)
        else:
            for item in slices():
                validate(item)
        _mark_repeated(session, staging, batch, sorted(repeated))
    if postgres and count >= ANALYZE_AFTER:
        # A big list changes the table's size by orders of magnitude: without fresh statistics
        # the planner treats the batch's lines as one row and nests loops over them.
        session.execute(text("ANALYZE disbursement_lines"))
    refresh_counts(session, batch)
    return batch


def _note_prior_payees(
    session: Session, prior: Table, batch: DisbursementBatch, programme: Programme
) -> bool:
    """Fill `prior` with the holders of earlier lines of the same programme and period, one row
    per holder: whether one is paid or being paid, whether one failed and waits in correction.
    Whether there is any (the first list of a period has none to look up)."""
    earlier = aliased(PaymentLine)
    earlier_batch = aliased(DisbursementBatch)
    open_failed = and_(
        earlier.status == LineStatus.FAILED.value, earlier.correction == Correction.OPEN.value
    )
    noted = session.execute(
        insert(prior)
        .from_select(
            ["person_id", "live", "open_failed"],
            select(
                earlier.person_id,
                func.max(case((earlier.status.in_(LIVE_LINES), 1), else_=0)),
                func.max(case((open_failed, 1), else_=0)),
            )
            .join(earlier_batch, earlier_batch.id == earlier.batch_id)
            .where(
                earlier_batch.programme_id == programme.id,
                earlier_batch.period == batch.period,
                earlier_batch.id != batch.id,
                earlier.person_id.is_not(None),
            )
            .group_by(earlier.person_id),
        )
        # SQLAlchemy keeps an INSERT's row count only when asked: without it PostgreSQL read
        # -1, and every list was joined to an empty table of earlier payees.
        .execution_options(preserve_rowcount=True)
    )
    return bool(noted.rowcount)  # type: ignore[attr-defined]


def _validate_slice(
    session: Session,
    staging: Table,
    prior: Table | None,
    batch: DisbursementBatch,
    rows: list[tuple[Any, ...]],
) -> None:
    """Stage a slice of the list and write its lines, each checked against the registry, the
    card, the bank account and, when the period has earlier payees (`prior`), their lines; the
    staging table is emptied for the next slice."""
    bulk_insert_tuples(session, staging, rows)
    s = staging.c
    p = aliased(Person)
    c = aliased(Card)
    joined = staging.outerjoin(p, p.resident_id_index == s.id_index).outerjoin(
        c, and_(c.person_id == p.id, c.status.in_(IN_HAND))
    )
    refused_after_duplicate = {
        "no_usable_card": or_(c.id.is_(None), c.status.not_in(USABLE_CARD)),
        "bank_account_missing": c.bank_account_cipher.is_(None),
        "bank_account_not_activated": c.bank_account_activated_at.is_(None),
    }
    if prior is not None:
        joined = joined.outerjoin(prior, prior.c.person_id == p.id)
        refused_after_duplicate["already_in_programme_period"] = prior.c.live == 1
        refused_after_duplicate["in_correction_queue"] = prior.c.open_failed == 1
    assert refused_after_duplicate.keys() <= set(_REFUSED_AFTER_DUPLICATE)
    reject = case(
        (s.reject_code.is_not(None), s.reject_code),
        (p.id.is_(None), "person_not_found"),
        (p.status != PersonStatus.LIVING.value, "person_not_living"),
        (p.name != s.name, "name_mismatch"),
        # duplicate_in_list comes here: marked once the whole list is read (_mark_repeated).
        *(
            (refused_after_duplicate[code], code)
            for code in _REFUSED_AFTER_DUPLICATE
            if code in refused_after_duplicate
        ),
        else_=null(),
    )
    checked = (
        select(
            s.seq,
            p.id.label("person_id"),
            func.coalesce(p.resident_id_masked, s.masked).label("masked"),
            s.name,
            s.amount_minor,
            s.memo,
            reject.label("reject_code"),
            s.reject_detail,
            c.id.label("card_id"),
            c.bank_code,
            p.residence_county_code,
            s.e2e,
        )
        # No ORDER BY: the slice is staged in list order and its rows are looked up one after
        # the other, so its lines come in list order without a sort (the sort of each slice's
        # wide rows went to disk: about 0.7 s of a million-line list).
        .select_from(joined)
        .subquery()
    )
    k = checked.c
    accepted = k.reject_code.is_(None)
    # Every holder and card the lines name is read from its row by this statement: their keys
    # need no second lookup (the batch's is still checked, once).
    with keys_from_their_rows(session):
        session.execute(
            insert(PaymentLine).from_select(
                [
                    "batch_id",
                    "seq",
                    "person_id",
                    "resident_id_masked",
                    "name",
                    "amount_minor",
                    "memo",
                    "status",
                    "reject_code",
                    "reject_reason",
                    "card_id",
                    "bank_code",
                    "county_code",
                    "end_to_end_id",
                ],
                select(
                    literal(batch.id),
                    k.seq,
                    k.person_id,
                    k.masked,
                    k.name,
                    k.amount_minor,
                    k.memo,
                    case((accepted, LineStatus.QUEUED.value), else_=LineStatus.INVALID.value),
                    k.reject_code,
                    k.reject_detail,
                    case((accepted, k.card_id), else_=null()),
                    case((accepted, k.bank_code), else_=null()),
                    k.residence_county_code,
                    k.e2e,
                ),
            )
        )
    empty_scratch_table(session, staging)


def _mark_repeated(
    session: Session, staging: Table, batch: DisbursementBatch, seqs: list[int]
) -> None:
    """Refuse the lines whose ID number is on more than one row of the list (every such row:
    the department decides which is right), unless a check before this one refused them."""
    if not seqs:
        return
    # The staging table is free by now: the rows' numbers go in its first column, seq.
    blank = (None,) * (len(staging.columns) - 1)
    bulk_insert_tuples(session, staging, ((seq, *blank) for seq in seqs))
    lines = PaymentLine.metadata.tables[PaymentLine.__tablename__]
    line = lines.c
    session.execute(
        update(lines)
        .where(
            line.batch_id == batch.id,
            line.seq.in_(select(staging.c.seq)),
            or_(line.reject_code.is_(None), line.reject_code.in_(_REFUSED_AFTER_DUPLICATE)),
        )
        .values(
            status=LineStatus.INVALID.value,
            reject_code="duplicate_in_list",
            card_id=None,
            bank_code=None,
        )
    )
    empty_scratch_table(session, staging)


def refresh_counts(session: Session, batch: DisbursementBatch) -> None:
    """The batch's counts and sums by line status, from its lines."""
    line = PaymentLine
    stmt = (
        select(line.status, func.count(), func.coalesce(func.sum(line.amount_minor), 0))
        .where(line.batch_id == batch.id)
        .group_by(line.status)
    )
    counts = {status: (int(n), int(total)) for status, n, total in session.execute(stmt).tuples()}

    def of(*statuses: LineStatus) -> tuple[int, int]:
        return (
            sum(counts.get(s, (0, 0))[0] for s in statuses),
            sum(counts.get(s, (0, 0))[1] for s in statuses),
        )

    batch.line_count = sum(n for n, _ in counts.values())
    batch.rejected_count = of(LineStatus.INVALID)[0]
    live = (LineStatus.QUEUED, LineStatus.RESERVED, LineStatus.PAID, LineStatus.FAILED)
    batch.accepted_count, batch.accepted_minor = of(*live)
    batch.paid_count, batch.paid_minor = of(LineStatus.PAID)
    batch.failed_count, batch.failed_minor = of(LineStatus.FAILED)
    session.flush()


def get_batch_for_update(session: Session, batch_no: str) -> DisbursementBatch:
    batch = session.scalars(
        select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no).with_for_update()
    ).first()
    if batch is None:
        raise BatchNotFound(batch_no)
    return batch


def submit_batch(
    session: Session, *, batch_no: str, officer: Officer, at: datetime
) -> DisbursementBatch:
    """The preparing department sends the batch to the finance bureau's approval queue."""
    batch = get_batch_for_update(session, batch_no)
    if officer.department_code != batch.department_code:
        raise NotProgrammeDepartment(batch.batch_no, officer.department_code)
    if batch.accepted_count == 0 and batch.status is BatchStatus.DRAFTED:
        raise PayeeListEmpty()
    batch.move_to(BatchStatus.SUBMITTED)
    batch.submitted_by = officer.staff_id
    batch.submitted_at = at
    batch.returned_reason = None
    return batch


def _check_checker(session: Session, batch: DisbursementBatch, officer: Officer) -> None:
    programme = session.get_one(Programme, batch.programme_id)
    if officer.department_code != programme.approving_department:
        raise NotApprovingDepartment(batch.batch_no, programme.approving_department)
    if officer.staff_id is not None and officer.staff_id in (batch.prepared_by, batch.submitted_by):
        raise MakerCannotCheck(batch.batch_no)


def return_batch(
    session: Session, *, batch_no: str, reason: str, officer: Officer
) -> DisbursementBatch:
    """The approver sends the batch back to the preparer with a reason."""
    batch = get_batch_for_update(session, batch_no)
    _check_checker(session, batch, officer)
    batch.move_to(BatchStatus.DRAFTED)
    batch.returned_reason = reason[:200]
    return batch


def cancel_batch(session: Session, *, batch_no: str, officer: Officer) -> DisbursementBatch:
    """Withdraw a batch before approval; its lines are withdrawn and nothing is paid."""
    batch = get_batch_for_update(session, batch_no)
    if officer.department_code not in (batch.department_code, "finance"):
        raise NotProgrammeDepartment(batch.batch_no, officer.department_code)
    batch.move_to(BatchStatus.CANCELLED)
    session.execute(
        update(PaymentLine)
        .where(PaymentLine.batch_id == batch.id, PaymentLine.status == LineStatus.QUEUED.value)
        .values(status=LineStatus.WITHDRAWN.value)
    )
    _reopen_corrections_of(session, batch)
    return batch


def _reopen_corrections_of(session: Session, batch: DisbursementBatch) -> None:
    """A cancelled re-issue batch hands its failed originals back to the correction queue."""
    if batch.reissue_of_batch_id is None:
        return
    mine = select(PaymentLine.id).where(PaymentLine.batch_id == batch.id)
    session.execute(
        update(PaymentLine)
        .where(PaymentLine.reissued_line_id.in_(mine))
        .values(correction=Correction.OPEN.value, reissued_line_id=None)
    )


def approve_batch(
    session: Session, *, batch_no: str, officer: Officer, at: datetime
) -> DisbursementBatch:
    """The finance bureau approves: every accepted line's money is reserved from the programme's
    budget in one journal, one reservation per bank file (the budget's floor refuses an
    over-spend, and nothing is reserved)."""
    batch = get_batch_for_update(session, batch_no)
    _check_checker(session, batch, officer)
    batch.move_to(BatchStatus.APPROVED)
    programme = session.get_one(Programme, batch.programme_id)
    banks = session.scalars(
        select(PaymentLine.bank_code)
        .where(PaymentLine.batch_id == batch.id, PaymentLine.status == LineStatus.QUEUED.value)
        .distinct()
    ).all()
    ids = ledger_queries.account_ids(
        session, [programme.funding_account, *(codes.bank_clearing(b or "") for b in banks)]
    )
    budget = ids[programme.funding_account]
    line = PaymentLine
    bank_account = case(
        *((line.bank_code == b, literal(ids[codes.bank_clearing(b or "")])) for b in banks),
        else_=null(),
    )

    def per_bank(value: Callable[[str], str]) -> Any:
        return case(*((line.bank_code == b, literal(value(b or ""))) for b in banks), else_=null())

    # One reservation per bank file, of the sum of its lines (decision 0011): the lines are the
    # sub-ledger, and reconciliation proves that they add up to it.
    rows = (
        select(
            per_bank(lambda b: file_transfer_key(bank_batch_no(batch.batch_no, b), "reserve")),
            literal(f"batch:{batch.batch_no}:reserve"),
            literal(budget),
            bank_account,
            func.sum(line.amount_minor),
            literal(TransferKind.PAYOUT_RESERVED.value),
            literal(TransferPhase.PENDING.value),
            cast(null(), BigInteger),
            per_bank(lambda b: f"batch:{bank_batch_no(batch.batch_no, b)}"),
            literal(at),
        )
        .select_from(line)
        .where(line.batch_id == batch.id, line.status == LineStatus.QUEUED.value)
        .group_by(line.bank_code)
    )
    if batch.accepted_count >= ANALYZE_AFTER:
        give_batch_memory(session)
    reserved = ledger.record_journal_from(
        session, rows, journal_key=f"batch:{batch.batch_no}:reserve", at=at
    )
    # The lines stay queued: their batch's approval and their file's reservation say that
    # their money is reserved (shown_line_status); no million-row update.
    reserved_minor = ledger_queries.journal_total(session, f"batch:{batch.batch_no}:reserve")
    if reserved != len(banks) or reserved_minor != batch.accepted_minor:
        raise RuntimeError(
            f"batch {batch.batch_no}: {reserved} reservations of {reserved_minor} fen for "
            f"{batch.accepted_count} lines of {batch.accepted_minor} fen at {len(banks)} banks"
        )
    batch.approved_by = officer.staff_id
    batch.approved_at = at
    return batch


# --- the correction queue -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CorrectionItem:
    line: PaymentLine
    batch_no: str
    programme_code: str
    period: str
    ready: bool  # a usable card with an activated account now
    blocker: str | None  # why not yet (the rejection code it would get today)


def mark_account_fixed(
    session: Session, *, line_id: int, note: str, officer: Officer, at: datetime
) -> PaymentLine:
    """The department confirmed with the holder or the bank that the account was put right
    (unfrozen, reactivated, name corrected): the line may be paid again."""
    line = session.get(PaymentLine, line_id, with_for_update=True)
    if line is None or line.correction is not Correction.OPEN:
        raise CorrectionNotOpen(
            line_id, line.correction.value if line and line.correction else None
        )
    batch = session.get_one(DisbursementBatch, line.batch_id)
    if officer.department_code not in (batch.department_code, "finance"):
        raise NotProgrammeDepartment(batch.batch_no, officer.department_code)
    line.fixed_at = at
    line.correction_note = note[:200]
    return line


def close_correction(session: Session, *, line_id: int, note: str, officer: Officer) -> PaymentLine:
    """Take a failed line out of the queue for good (the holder died, the money goes back)."""
    line = session.get(PaymentLine, line_id, with_for_update=True)
    if line is None or line.correction is not Correction.OPEN:
        raise CorrectionNotOpen(
            line_id, line.correction.value if line and line.correction else None
        )
    batch = session.get_one(DisbursementBatch, line.batch_id)
    if officer.department_code not in (batch.department_code, "finance"):
        raise NotProgrammeDepartment(batch.batch_no, officer.department_code)
    line.correction = Correction.CLOSED
    line.correction_note = note[:200]
    return line


def reissue_failed_lines(
    session: Session,
    keys: KeyRing,
    *,
    programme_code: str,
    period: str,
    line_ids: Sequence[int] | None,
    officer: Officer,
    at: datetime,
    decrypt: Any,
) -> DisbursementBatch:
    """A new batch (new batch number, new end-to-end ids) for the open corrections of one
    programme and period that are ready (the holder's card is usable and the account active);
    the originals become `reissued`. The new batch goes through approval like any other."""
    from socialcard.disbursement.queries import list_corrections

    # Two clerks re-issuing at once: the second waits here and then finds the lines re-issued.
    session.execute(select(Programme.id).where(Programme.code == programme_code).with_for_update())
    items = [
        item
        for item in list_corrections(
            session,
            programme_code=programme_code,
            period=period,
            department_code=None
            if officer.department_code == "finance"
            else officer.department_code,
        )
        if item.ready and (line_ids is None or item.line.id in line_ids)
    ]
    if not items:
        raise NothingToReissue()
    originals = {item.line.id: item.line for item in items}
    first_batch = session.get_one(DisbursementBatch, items[0].line.batch_id)
    persons = {
        p.id: p
        for p in session.scalars(
            select(Person).where(Person.id.in_([i.line.person_id for i in items]))
        )
    }
    from socialcard.kernel.resident_id import ResidentId

    rows = []
    for seq, item in enumerate(items, start=1):
        person = persons[item.line.person_id or 0]
        rows.append(
            PayeeRow(
                seq=seq,
                resident_id=ResidentId(decrypt(person.resident_id_cipher)),
                raw_id_masked=person.resident_id_masked,
                name=item.line.name,
                amount_minor=item.line.amount_minor,
                memo=item.line.memo,
                reject_code=None,
                reject_detail=None,
            )
        )
    # The originals leave the queue first, so the new lines pass the one-per-period rule.
    for line in originals.values():
        line.correction = Correction.REISSUED
    session.flush()
    batch = create_batch(
        session,
        keys,
        programme_code=programme_code,
        period=period,
        title=f"纠错重发（原批次 {first_batch.batch_no} 等）",
        rows=rows,
        source_name="correction-queue",
        source=",".join(str(i) for i in sorted(originals)).encode(),
        officer=officer,
        at=at,
        reissue_of=first_batch,
    )
    new_lines = session.scalars(
        select(PaymentLine).where(PaymentLine.batch_id == batch.id).order_by(PaymentLine.seq)
    ).all()
    for item, new_line in zip(items, new_lines, strict=True):
        if new_line.status is LineStatus.QUEUED:
            item.line.reissued_line_id = new_line.id
        else:  # became unready since the list was read: back to the queue
            item.line.correction = Correction.OPEN
    session.flush()
    return batch
