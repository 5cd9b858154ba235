"""Reconciling a batch (对账, DOMAIN §7): per bank, paid + failed = sent in count and amount; the
bank's return file agrees with the lines; the ledger posted exactly what the banks paid and
released exactly what they refused, with nothing left reserved. A batch completes only when all
of it holds; the figures are kept on the batch as the reconciliation report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from socialcard.banks import queries as bank_queries
from socialcard.banks.formats.batch_file import return_file_totals
from socialcard.banks.models import BankFileKind
from socialcard.disbursement.models import (
    APPROVED_BATCHES,
    AWAITING_BANK,
    SENT_LINES,
    BatchStatus,
    DisbursementBatch,
    LineStatus,
    PaymentLine,
)
from socialcard.disbursement.services import bank_batch_no, file_transfer_key
from socialcard.ledger.models import LedgerTransfer, TransferKind, TransferPhase


def _line_totals(session: Session, batch: DisbursementBatch) -> dict[str, dict[str, int]]:
    stmt = (
        select(
            PaymentLine.bank_code,
            PaymentLine.status,
            func.count(),
            func.coalesce(func.sum(PaymentLine.amount_minor), 0),
        )
        .where(
            PaymentLine.batch_id == batch.id,
            # Before approval nothing went to a bank (queued lines wait for the approver).
            PaymentLine.status.in_(
                SENT_LINES
                if batch.status in APPROVED_BATCHES
                else (LineStatus.PAID.value, LineStatus.FAILED.value)
            ),
        )
        .group_by(PaymentLine.bank_code, PaymentLine.status)
    )
    totals: dict[str, dict[str, int]] = {}
    for bank, status, count, amount in session.execute(stmt).tuples():
        entry = totals.setdefault(
            str(bank),
            dict.fromkeys(
                (
                    "sent_count",
                    "sent_minor",
                    "paid_count",
                    "paid_minor",
                    "failed_count",
                    "failed_minor",
                    "reserved_count",
                ),
                0,
            ),
        )
        entry["sent_count"] += int(count)
        entry["sent_minor"] += int(amount)
        if status is LineStatus.PAID:
            entry["paid_count"], entry["paid_minor"] = int(count), int(amount)
        elif status is LineStatus.FAILED:
            entry["failed_count"], entry["failed_minor"] = int(count), int(amount)
        else:
            entry["reserved_count"] += int(count)
    return totals


def _ledger_totals(session: Session, batch: DisbursementBatch) -> dict[str, int]:
    t = LedgerTransfer
    prefix = f"return:{batch.batch_no}-"
    posted = session.execute(
        select(t.phase, func.count(), func.coalesce(func.sum(t.amount_minor), 0))
        .where(t.journal_key.startswith(prefix, autoescape=True))
        .group_by(t.phase)
    ).tuples()
    figures = {"posted_minor": 0, "posted_count": 0, "voided_minor": 0, "voided_count": 0}
    for phase, count, amount in posted:
        key = "posted" if phase is TransferPhase.POST else "voided"
        figures[f"{key}_count"] += int(count)
        figures[f"{key}_minor"] += int(amount)
    reserve = session.execute(
        select(func.count(), func.coalesce(func.sum(t.amount_minor), 0)).where(
            t.journal_key == f"batch:{batch.batch_no}:reserve"
        )
    ).one()
    figures["reserved_count"], figures["reserved_minor"] = int(reserve[0]), int(reserve[1])
    return figures


def _bank_ledger(session: Session, bank_batch: str) -> dict[str, int]:
    """A bank file's reservation and how it was settled (decision 0011)."""
    t = LedgerTransfer
    keys = {file_transfer_key(bank_batch, act): act for act in ("reserve", "post", "void")}
    found = dict(
        session.execute(
            select(t.transfer_key, t.amount_minor).where(t.transfer_key.in_(list(keys)))
        )
        .tuples()
        .all()
    )
    return {f"ledger_{act}_minor": int(found.get(key, 0)) for key, act in keys.items()}


def reconcile(session: Session, batch: DisbursementBatch) -> dict[str, Any]:
    """The reconciliation report of a batch as it stands (complete or not)."""
    lines = _line_totals(session, batch)
    banks: dict[str, Any] = {}
    problems: list[str] = []
    approved = batch.status not in (
        BatchStatus.DRAFTED,
        BatchStatus.SUBMITTED,
        BatchStatus.CANCELLED,
    )
    for bank_code, entry in sorted(lines.items()):
        report: dict[str, Any] = dict(entry)
        bank_batch = bank_batch_no(batch.batch_no, bank_code)
        returned = bank_queries.find_bank_file(session, bank_code, bank_batch, BankFileKind.RETURN)
        if returned is not None:
            # The trailer alone: keep_return proved, reading every line, that it agrees with them.
            done_count, done_amount, failed_count, failed_amount = return_file_totals(
                returned.content
            )
            report.update(
                bank_done_count=done_count,
                bank_done_minor=done_amount,
                bank_failed_count=failed_count,
                bank_failed_minor=failed_amount,
            )
            if (done_count, done_amount) != (entry["paid_count"], entry["paid_minor"]):
                problems.append(f"{bank_code}: 回盘成功笔数/金额与明细不符")
            if (failed_count, failed_amount) != (entry["failed_count"], entry["failed_minor"]):
                problems.append(f"{bank_code}: 回盘失败笔数/金额与明细不符")
        elif entry["reserved_count"] == 0:
            problems.append(f"{bank_code}: 明细已处理但没有回盘文件")
        if entry["reserved_count"] == 0 and (
            entry["paid_count"] + entry["failed_count"] != entry["sent_count"]
            or entry["paid_minor"] + entry["failed_minor"] != entry["sent_minor"]
        ):
            problems.append(f"{bank_code}: 成功 + 失败 ≠ 送盘")
        # The lines are the sub-ledger of the bank file's reservation: they add up to it, its
        # post is what they were paid and its void what they were refused.
        ledger_figures = _bank_ledger(session, bank_batch)
        report.update(ledger_figures)
        if approved and ledger_figures["ledger_reserve_minor"] != entry["sent_minor"]:
            problems.append(
                f"{bank_code}: 账本预留 {ledger_figures['ledger_reserve_minor']} ≠ "
                f"明细合计 {entry['sent_minor']}"
            )
        settled = (ledger_figures["ledger_post_minor"], ledger_figures["ledger_void_minor"])
        if entry["reserved_count"] == 0 and settled != (entry["paid_minor"], entry["failed_minor"]):
            problems.append(
                f"{bank_code}: 账本入账/释放 {settled[0]}/{settled[1]} ≠ 已到账/失败 "
                f"{entry['paid_minor']}/{entry['failed_minor']}"
            )
        banks[bank_code] = report
    ledger_figures = _ledger_totals(session, batch)
    paid = sum(e["paid_minor"] for e in lines.values())
    failed = sum(e["failed_minor"] for e in lines.values())
    if ledger_figures["posted_minor"] != paid:
        problems.append(f"账本入账 {ledger_figures['posted_minor']} ≠ 已到账 {paid}")
    if ledger_figures["voided_minor"] != failed:
        problems.append(f"账本释放 {ledger_figures['voided_minor']} ≠ 失败 {failed}")
    expected_reserve = batch.accepted_minor if approved else 0  # nothing before approval
    if ledger_figures["reserved_minor"] != expected_reserve:
        problems.append(f"账本预留 {ledger_figures['reserved_minor']} ≠ 应预留 {expected_reserve}")
    # The batch's counts (what its pages show) follow each applied return; the lines decide.
    counted = (batch.paid_count, batch.paid_minor, batch.failed_count, batch.failed_minor)
    from_lines = (
        sum(e["paid_count"] for e in lines.values()),
        paid,
        sum(e["failed_count"] for e in lines.values()),
        failed,
    )
    if counted != from_lines:
        problems.append(
            f"批次计数 成功 {counted[0]} 笔 {counted[1]} 分、失败 {counted[2]} 笔 {counted[3]} 分"
            f" ≠ 明细 成功 {from_lines[0]} 笔 {from_lines[1]} 分、失败 {from_lines[2]} 笔"
            f" {from_lines[3]} 分"
        )
    outstanding = sum(e["reserved_count"] for e in lines.values())
    return {
        "banks": banks,
        "ledger": ledger_figures,
        "accepted_count": batch.accepted_count,
        "accepted_minor": batch.accepted_minor,
        "paid_minor": paid,
        "failed_minor": failed,
        "outstanding_lines": outstanding,
        "problems": problems,
        "balanced": not problems,
    }


def complete_if_reconciled(session: Session, batch: DisbursementBatch, *, at: datetime) -> bool:
    """Complete a sent batch whose every line is resolved and whose figures reconcile (the
    banks' T+1 statements are compared separately, by disbursement/statements.py)."""
    if batch.status is not BatchStatus.SENT:
        return False
    report = reconcile(session, batch)
    batch.reconciliation = report
    if report["outstanding_lines"] or not report["balanced"]:
        return False
    batch.move_to(
        BatchStatus.COMPLETED_WITH_FAILURES if batch.failed_count else BatchStatus.COMPLETED
    )
    batch.completed_at = at
    return True


def verify_file_reservations(session: Session) -> list[str]:
    """Every bank file's reservation against its lines, across all approved batches (what
    `ledger verify` adds for decision 0011): reservation = Σ lines sent; once settled, post =
    Σ paid lines and void = Σ refused lines, and no line waits. Batches approved before
    decision 0011 (a reservation per line) are left to their own reconciliation."""
    line, b, t = PaymentLine, DisbursementBatch, LedgerTransfer
    amount = line.amount_minor
    sums = session.execute(
        select(
            b.batch_no,
            line.bank_code,
            func.sum(amount),
            func.sum(case((line.status == LineStatus.PAID.value, amount), else_=0)),
            func.sum(case((line.status == LineStatus.FAILED.value, amount), else_=0)),
            func.sum(case((line.status.in_(AWAITING_BANK), 1), else_=0)),
        )
        .join(b, b.id == line.batch_id)
        .where(
            b.status.in_([s.value for s in APPROVED_BATCHES]),
            line.status.in_(SENT_LINES),
        )
        .group_by(b.batch_no, line.bank_code)
    ).tuples()
    moved = dict(
        session.execute(
            select(t.transfer_key, t.amount_minor).where(
                t.transfer_key.startswith("pay:DF"),
                t.kind.in_(
                    [
                        TransferKind.PAYOUT_RESERVED.value,
                        TransferKind.PAYOUT_CONFIRMED.value,
                        TransferKind.PAYOUT_RELEASED.value,
                    ]
                ),
            )
        )
        .tuples()
        .all()
    )
    batches_by_file = {key.rpartition("-")[0] for key in moved}
    problems: list[str] = []
    for batch_no, bank_code, sent, paid, failed, waiting in sums:
        if f"pay:{batch_no}" not in batches_by_file:
            continue  # approved before decision 0011: a reservation per line
        tag = bank_batch_no(batch_no, str(bank_code))
        reserved = moved.get(file_transfer_key(tag, "reserve"))
        if reserved != int(sent):
            problems.append(f"{tag}: 预留 {reserved} ≠ 明细合计 {int(sent)}")
            continue
        settled = (
            moved.get(file_transfer_key(tag, "post"), 0),
            moved.get(file_transfer_key(tag, "void"), 0),
        )
        if settled != (0, 0) and (waiting or settled != (int(paid), int(failed))):
            problems.append(
                f"{tag}: 入账/释放 {settled[0]}/{settled[1]} ≠ "
                f"已到账/失败 {int(paid)}/{int(failed)}"
            )
        elif settled == (0, 0) and (int(paid) or int(failed)):
            problems.append(f"{tag}: 明细已处理但预留款未结算")
    return problems
