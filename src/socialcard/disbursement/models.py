"""Disbursement tables: programmes, batches (one uploaded payee list each) and payment lines.

A batch is the unit of approval and reconciliation; each partner bank gets its own send file of
the batch's lines (bank batch number `<batch_no>-<bank>`). A line is one payment to one holder.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.db import Base, JSONType, UTCDateTime, enum_type, statement_checked_key
from socialcard.disbursement.errors import BatchTransitionNotAllowed

_ID = BigInteger().with_variant(Integer, "sqlite")


class Programme(Base):
    """A payout programme: one per payout item of the catalogue (20, 31, 38 … 111)."""

    __tablename__ = "disbursement_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # "I107"
    item_no: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(40))  # the memo on the holder's statement
    # Departments that prepare its lists (codes of access.Department).
    departments: Mapped[list[str]] = mapped_column(JSONType, default=list)
    approving_department: Mapped[str] = mapped_column(String(30))
    funding_account: Mapped[str] = mapped_column(String(120))  # ledger code of its budget
    max_line_minor: Mapped[int] = mapped_column(BigInteger)  # one payment may not exceed it
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BatchStatus(StrEnum):
    DRAFTED = "drafted"  # list uploaded and validated; the preparer reviews it
    SUBMITTED = "submitted"  # waiting in the finance bureau's approval queue
    APPROVED = "approved"  # money reserved; send files being prepared and sent
    SENT = "sent"  # every bank file is with its bank; waiting for return files
    COMPLETED = "completed"  # every line paid; reconciled
    COMPLETED_WITH_FAILURES = "completed_with_failures"  # reconciled; failures in correction
    CANCELLED = "cancelled"  # withdrawn before approval; nothing was paid


BATCH_TRANSITIONS: Final[Mapping[BatchStatus, frozenset[BatchStatus]]] = {
    BatchStatus.DRAFTED: frozenset({BatchStatus.SUBMITTED, BatchStatus.CANCELLED}),
    # The approver approves, or sends it back to the preparer with a reason.
    BatchStatus.SUBMITTED: frozenset(
        {BatchStatus.APPROVED, BatchStatus.DRAFTED, BatchStatus.CANCELLED}
    ),
    BatchStatus.APPROVED: frozenset({BatchStatus.SENT}),
    BatchStatus.SENT: frozenset({BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_FAILURES}),
    BatchStatus.COMPLETED: frozenset(),
    BatchStatus.COMPLETED_WITH_FAILURES: frozenset(),
    BatchStatus.CANCELLED: frozenset(),
}


class DisbursementBatch(Base):
    __tablename__ = "disbursement_batches"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(24), unique=True)  # DF2026112900001
    programme_id: Mapped[int] = mapped_column(ForeignKey("disbursement_programmes.id"))
    department_code: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(10))  # "2026", "2026-11"
    title: Mapped[str] = mapped_column(String(100))
    status: Mapped[BatchStatus] = mapped_column(enum_type(BatchStatus, "batch_status", length=24))
    source_name: Mapped[str] = mapped_column(String(200))
    source_digest: Mapped[str] = mapped_column(String(64))  # SM3 of the uploaded file
    reissue_of_batch_id: Mapped[int | None] = mapped_column(ForeignKey("disbursement_batches.id"))
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    paid_count: Mapped[int] = mapped_column(Integer, default=0)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    prepared_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_reason: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconciliation: Mapped[dict[str, object] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_disbursement_batches_programme", "programme_id", "period"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def move_to(self, target: BatchStatus) -> None:
        if target not in BATCH_TRANSITIONS[self.status]:
            raise BatchTransitionNotAllowed(self.batch_no, self.status.value, target.value)
        self.status = target


class LineStatus(StrEnum):
    INVALID = "invalid"  # refused by validation; never paid (reject_code says why)
    # Valid, waiting: for approval, then — its batch approved — for its bank's answer. Approval
    # reserves a bank file's money once for all its lines (decision 0011) and writes no line:
    # a queued line of an approved batch is shown as RESERVED (shown_line_status).
    QUEUED = "queued"
    # Shown for a queued line of an approved batch; stored only by batches approved before
    # decision 0011 (migration 0015 requires them completed).
    RESERVED = "reserved"
    PAID = "paid"  # the bank credited the holder's account; its part of the file is posted
    FAILED = "failed"  # the bank refused it; its part is released; see the correction
    WITHDRAWN = "withdrawn"  # its batch was cancelled before approval


# Lines waiting for their bank's answer once their batch is approved.
AWAITING_BANK: Final = (LineStatus.QUEUED.value, LineStatus.RESERVED.value)
# Lines that went, or go, to a bank in an approved batch.
SENT_LINES: Final = (*AWAITING_BANK, LineStatus.PAID.value, LineStatus.FAILED.value)
APPROVED_BATCHES: Final = frozenset(
    {
        BatchStatus.APPROVED,
        BatchStatus.SENT,
        BatchStatus.COMPLETED,
        BatchStatus.COMPLETED_WITH_FAILURES,
    }
)


def shown_line_status(line: LineStatus, batch: BatchStatus) -> LineStatus:
    """A line's status as the console, the API and the holder see it: a queued line of an
    approved batch has its money reserved (by its bank file's reservation)."""
    if line is LineStatus.QUEUED and batch in APPROVED_BATCHES:
        return LineStatus.RESERVED
    return line


def stored_line_statuses(shown: list[LineStatus], batch: BatchStatus) -> list[str]:
    """The stored statuses behind shown ones (shown_line_status), for filtering lines."""
    approved = batch in APPROVED_BATCHES
    stored: list[str] = []
    for status in shown:
        if status is LineStatus.RESERVED and approved:
            stored.extend(AWAITING_BANK)
        elif status is LineStatus.QUEUED and approved:
            continue  # shown as reserved
        else:
            stored.append(status.value)
    return stored


class Correction(StrEnum):
    """Where a failed line is in the correction queue."""

    OPEN = "open"  # waiting for the account to be fixed (activation, new card, bank)
    REISSUED = "reissued"  # paid again through a new batch (reissued_line_id)
    CLOSED = "closed"  # given up with a reason (death, refusal, returned to the treasury)


class PaymentLine(Base):
    __tablename__ = "disbursement_lines"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    # The batch, the holder and the card are checked per statement on PostgreSQL: a city-wide
    # list writes a million lines in one statement (decision 0016).
    batch_id: Mapped[int] = mapped_column(statement_checked_key("disbursement_batches.id"))
    seq: Mapped[int] = mapped_column(Integer)  # row of the uploaded list (1 = first payee)
    person_id: Mapped[int | None] = mapped_column(statement_checked_key("persons.id"))
    resident_id_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(50))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(60))
    status: Mapped[LineStatus] = mapped_column(enum_type(LineStatus, "line_status", length=12))
    reject_code: Mapped[str | None] = mapped_column(String(40))
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    card_id: Mapped[int | None] = mapped_column(statement_checked_key("cards.id"))
    bank_code: Mapped[str | None] = mapped_column(String(10))
    # The holder's county of residence as the list was validated (a copy, not a key): a paid
    # line's card use is counted in it without looking the holder up again (migration 0023).
    county_code: Mapped[str | None] = mapped_column(String(6))
    end_to_end_id: Mapped[str] = mapped_column(String(32), unique=True)
    bank_reason_code: Mapped[str | None] = mapped_column(String(40))
    bank_reason_text: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    correction: Mapped[Correction | None] = mapped_column(
        enum_type(Correction, "correction", length=12)
    )
    correction_note: Mapped[str | None] = mapped_column(String(200))
    # The department confirmed the bank fixed the account (unfrozen, name corrected): ready.
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reissued_line_id: Mapped[int | None] = mapped_column(
        statement_checked_key("disbursement_lines.id")
    )

    __table_args__ = (
        UniqueConstraint("batch_id", "seq", name="uq_disbursement_lines_batch_seq"),
        # No index on status: a line's status changes once (paid or failed, decision 0011),
        # and leaving it out of every index lets PostgreSQL update the row in place (HOT, with
        # the free space of the table's fill factor 50, migration 0015) instead of adding
        # entries to every index.
        # No index on (batch_id, bank_code): the unique (batch_id, seq) finds a batch's lines
        # for every read by bank (migration 0017).
        Index("ix_disbursement_lines_person", "person_id", "id"),
        Index(
            "ix_disbursement_lines_correction",
            "correction",
            postgresql_where=text("correction IS NOT NULL"),
            sqlite_where=text("correction IS NOT NULL"),
        ),
    )


# A block of a list's ID numbers: each is 18 characters (GB 11643, 15-digit ones converted when
# read), a row without a readable one is 18 spaces.
ID_WIDTH: Final = 18


class PayeeIdBlock(Base):
    """The ID numbers of one slice of a batch's payee list, in list order, encrypted as one value
    (SM4-GCM, like every identifier): kept with the batch as the list gave them, and where its
    send files take each line's ID number from, one decryption per slice instead of one per
    line (decision 0022). Row `first_seq + k` of the list is characters 18k to 18k + 17."""

    __tablename__ = "disbursement_id_blocks"

    batch_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("disbursement_batches.id"), primary_key=True, autoincrement=False
    )
    first_seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    row_count: Mapped[int] = mapped_column(Integer)
    ids_cipher: Mapped[bytes] = mapped_column(LargeBinary)
