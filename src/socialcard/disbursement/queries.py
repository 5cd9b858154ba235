"""Reads of the disbursement area: batches, their lines and rejections, the correction queue with
each line's readiness today, and the payments a holder received."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from socialcard.cards.models import Card
from socialcard.disbursement.errors import BatchNotFound
from socialcard.disbursement.models import (
    APPROVED_BATCHES,
    SENT_LINES,
    BatchStatus,
    Correction,
    DisbursementBatch,
    LineStatus,
    PaymentLine,
    Programme,
    shown_line_status,
    stored_line_statuses,
)
from socialcard.disbursement.payee_lists import REJECTIONS
from socialcard.disbursement.services import USABLE_CARD, CorrectionItem
from socialcard.registry.models import Person, PersonStatus


def get_batch(session: Session, batch_no: str) -> DisbursementBatch:
    batch = session.scalars(
        select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no)
    ).first()
    if batch is None:
        raise BatchNotFound(batch_no)
    return batch


def list_batches(
    session: Session,
    *,
    statuses: list[BatchStatus] | None = None,
    department_code: str | None = None,
    programme_id: int | None = None,
    limit: int = 100,
) -> list[DisbursementBatch]:
    stmt = select(DisbursementBatch).order_by(DisbursementBatch.id.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(DisbursementBatch.status.in_(statuses))
    if department_code:
        stmt = stmt.where(DisbursementBatch.department_code == department_code)
    if programme_id:
        stmt = stmt.where(DisbursementBatch.programme_id == programme_id)
    return list(session.scalars(stmt))


def list_lines(
    session: Session,
    batch: DisbursementBatch,
    *,
    statuses: list[LineStatus] | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[PaymentLine]:
    stmt = (
        select(PaymentLine)
        .where(PaymentLine.batch_id == batch.id)
        .order_by(PaymentLine.seq)
        .limit(limit)
        .offset(offset)
    )
    if statuses:
        # The statuses as shown (a queued line of an approved batch is shown reserved).
        stmt = stmt.where(PaymentLine.status.in_(stored_line_statuses(statuses, batch.status)))
    return list(session.scalars(stmt))


def count_rejections(session: Session, batch: DisbursementBatch) -> dict[str, int]:
    stmt = (
        select(PaymentLine.reject_code, func.count())
        .where(PaymentLine.batch_id == batch.id, PaymentLine.status == LineStatus.INVALID.value)
        .group_by(PaymentLine.reject_code)
    )
    return {str(code): int(n) for code, n in session.execute(stmt).tuples()}


def count_lines_by_bank(session: Session, batch: DisbursementBatch) -> dict[str, dict[str, int]]:
    """Per bank: lines and fen by status as shown (the batch page's chart)."""
    stmt = (
        select(
            PaymentLine.bank_code,
            PaymentLine.status,
            func.count(),
            func.coalesce(func.sum(PaymentLine.amount_minor), 0),
        )
        .where(PaymentLine.batch_id == batch.id, PaymentLine.bank_code.is_not(None))
        .group_by(PaymentLine.bank_code, PaymentLine.status)
    )
    result: dict[str, dict[str, int]] = {}
    for bank, status, count, amount in session.execute(stmt).tuples():
        entry = result.setdefault(str(bank), {})
        shown = shown_line_status(status, batch.status).value
        entry[f"{shown}_count"] = entry.get(f"{shown}_count", 0) + int(count)
        entry[f"{shown}_minor"] = entry.get(f"{shown}_minor", 0) + int(amount)
    return result


def rejections_csv(session: Session, batch: DisbursementBatch) -> bytes:
    """Every refused line with its reason, for the department to fix and upload again."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["序号", "社会保障号码（脱敏）", "姓名", "金额", "原因代码", "原因"])
    stmt = (
        select(PaymentLine)
        .where(PaymentLine.batch_id == batch.id, PaymentLine.status == LineStatus.INVALID.value)
        .order_by(PaymentLine.seq)
    )
    for line in session.scalars(stmt):
        reason = REJECTIONS.get(line.reject_code or "", line.reject_code or "")
        if line.reject_reason:
            reason = f"{reason}：{line.reject_reason}"
        writer.writerow(
            [
                line.seq,
                line.resident_id_masked,
                line.name,
                f"{line.amount_minor // 100}.{line.amount_minor % 100:02d}",
                line.reject_code,
                reason,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def lines_csv(session: Session, batch: DisbursementBatch) -> bytes:
    """Every line of the batch with its outcome (the department's record of what was paid)."""
    from socialcard.disbursement.errors import LINE_STATUS_LABELS

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["序号", "社会保障号码（脱敏）", "姓名", "金额", "银行", "状态", "原因", "到账/退回时间"]
    )
    stmt = select(PaymentLine).where(PaymentLine.batch_id == batch.id).order_by(PaymentLine.seq)
    for line in session.execute(stmt.execution_options(yield_per=5000)).scalars():
        reason = (
            REJECTIONS.get(line.reject_code or "", line.reject_code or "")
            if line.reject_code
            else (line.bank_reason_text or "")
        )
        writer.writerow(
            [
                line.seq,
                line.resident_id_masked,
                line.name,
                f"{line.amount_minor // 100}.{line.amount_minor % 100:02d}",
                line.bank_code or "",
                LINE_STATUS_LABELS[shown_line_status(line.status, batch.status).value],
                reason,
                line.resolved_at.isoformat(timespec="seconds") if line.resolved_at else "",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def list_corrections(
    session: Session,
    *,
    programme_code: str | None = None,
    period: str | None = None,
    department_code: str | None = None,
    limit: int = 500,
) -> list[CorrectionItem]:
    """Open failed lines, oldest first, each with whether it can be paid again today."""
    stmt = (
        select(PaymentLine, DisbursementBatch, Programme, Person, Card)
        .join(DisbursementBatch, DisbursementBatch.id == PaymentLine.batch_id)
        .join(Programme, Programme.id == DisbursementBatch.programme_id)
        .join(Person, Person.id == PaymentLine.person_id)
        .outerjoin(
            Card,
            (Card.person_id == PaymentLine.person_id) & Card.status.in_(USABLE_CARD),
        )
        .where(PaymentLine.correction == Correction.OPEN.value)
        .order_by(PaymentLine.id)
        .limit(limit)
    )
    if programme_code:
        stmt = stmt.where(Programme.code == programme_code)
    if period:
        stmt = stmt.where(DisbursementBatch.period == period)
    if department_code:
        stmt = stmt.where(DisbursementBatch.department_code == department_code)
    items = []
    for line, batch, programme, person, card in session.execute(stmt).tuples():
        blocker: str | None = None
        if person.status is not PersonStatus.LIVING:
            blocker = "person_not_living"
        elif card is None:
            blocker = "no_usable_card"
        elif card.bank_account_cipher is None:
            blocker = "bank_account_missing"
        elif card.bank_account_activated_at is None:
            blocker = "bank_account_not_activated"
        elif (
            card.id == line.card_id
            and line.bank_reason_code not in (None, "not_activated")
            and line.fixed_at is None
        ):
            # The same card's account was refused for a reason activation does not cure
            # (closed, frozen, name): wait for a new card, or for the department to confirm
            # that the bank put the account right.
            blocker = line.bank_reason_code
        items.append(
            CorrectionItem(
                line=line,
                batch_no=batch.batch_no,
                programme_code=programme.code,
                period=batch.period,
                ready=blocker is None,
                blocker=blocker,
            )
        )
    return items


@dataclass(frozen=True, slots=True)
class ReceivedPayment:
    paid_at: datetime | None
    programme: str
    department_code: str
    period: str
    amount_minor: int
    status: LineStatus
    bank_code: str | None
    reason: str | None


def list_payments_received(
    session: Session, person_id: int, *, limit: int = 50
) -> list[ReceivedPayment]:
    """What the holder was paid or is being paid, newest first (portal, kiosk, bank channel)."""
    stmt = (
        select(PaymentLine, DisbursementBatch, Programme)
        .join(DisbursementBatch, DisbursementBatch.id == PaymentLine.batch_id)
        .join(Programme, Programme.id == DisbursementBatch.programme_id)
        .where(
            PaymentLine.person_id == person_id,
            PaymentLine.status.in_(SENT_LINES),
            # Queued lines count once their batch is approved (their money is reserved).
            or_(
                PaymentLine.status != LineStatus.QUEUED.value,
                DisbursementBatch.status.in_([b.value for b in APPROVED_BATCHES]),
            ),
        )
        .order_by(PaymentLine.id.desc())
        .limit(limit)
    )
    return [
        ReceivedPayment(
            paid_at=line.resolved_at,
            programme=programme.short_name,
            department_code=batch.department_code,
            period=batch.period,
            amount_minor=line.amount_minor,
            status=shown_line_status(line.status, batch.status),
            bank_code=line.bank_code,
            reason=line.bank_reason_text,
        )
        for line, batch, programme in session.execute(stmt).tuples()
    ]
