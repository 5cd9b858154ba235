"""The banks' daily statements (T+1 对账单) against the books: every debit a bank booked on the
finance bureau's agency account for a disbursement file must equal what the platform recorded as
paid for that file, and every file the bank received that day with payments must be on the
statement. A statement that disagrees is a problem for the finance bureau, never a reason to pay
again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.banks.formats.statement import EntrySide
from socialcard.banks.gateway import BankGateway
from socialcard.banks.models import BankFile, BankFileKind
from socialcard.banks.services import collect_statement
from socialcard.disbursement.models import DisbursementBatch, LineStatus, PaymentLine
from socialcard.disbursement.runner import agency_account
from socialcard.kernel.clock import SHANGHAI


@dataclass
class StatementCheck:
    bank_code: str
    on: date
    ready: bool
    files_checked: int = 0
    debits_minor: int = 0
    problems: list[str] = field(default_factory=list)


def _paid_by_file(session: Session, bank_code: str) -> dict[str, int]:
    """Paid fen per bank batch number (<batch>-<BANK>) of this bank."""
    rows = session.execute(
        select(DisbursementBatch.batch_no, func.coalesce(func.sum(PaymentLine.amount_minor), 0))
        .join(PaymentLine, PaymentLine.batch_id == DisbursementBatch.id)
        .where(PaymentLine.bank_code == bank_code, PaymentLine.status == LineStatus.PAID.value)
        .group_by(DisbursementBatch.batch_no)
    ).tuples()
    return {f"{batch_no}-{bank_code}": int(amount) for batch_no, amount in rows}


def check_statement(
    session: Session, gateway: BankGateway, *, bank_code: str, on: date, at: datetime
) -> StatementCheck:
    """Compare one bank's statement of day `on` with the disbursements (not ready: T+1)."""
    check = StatementCheck(bank_code, on, ready=False)
    statements = collect_statement(session, gateway, bank_code=bank_code, on=on, at=at)
    if statements is None:
        return check
    check.ready = True
    paid = _paid_by_file(session, bank_code)
    agency = agency_account(bank_code)
    booked: dict[str, int] = {}
    for statement in statements:
        if statement.account_number != agency:
            continue
        for entry in statement.entries:
            if entry.side is EntrySide.DEBIT and entry.reference.startswith("DF"):
                booked[entry.reference] = booked.get(entry.reference, 0) + entry.amount_minor
    for reference, amount in sorted(booked.items()):
        check.files_checked += 1
        check.debits_minor += amount
        ours = paid.get(reference)
        if ours is None:
            check.problems.append(f"{reference}: 银行记账 {amount} 分，平台没有已到账的明细")
        elif ours != amount:
            check.problems.append(f"{reference}: 银行记账 {amount} 分 ≠ 平台已到账 {ours} 分")
    sent = session.execute(
        select(BankFile.batch_no, BankFile.sent_at).where(
            BankFile.bank_code == bank_code,
            BankFile.kind == BankFileKind.SEND,
            BankFile.sent_at.is_not(None),
        )
    ).tuples()
    for reference, sent_at in sent:
        if sent_at is None or sent_at.astimezone(SHANGHAI).date() != on:
            continue
        if paid.get(reference, 0) > 0 and reference not in booked:
            check.problems.append(f"{reference}: 当日送盘且有到账明细，但对账单上没有记账")
    return check
