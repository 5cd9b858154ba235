"""The shipped programmes: one per payout item of the catalogue, with the departments that prepare
its lists (from the catalogue's responsible units), the finance bureau as approver, and a budget
account in the ledger. Funding a programme is a ledger transfer from the treasury."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.services import DEPARTMENTS
from socialcard.catalog.bindings import Binding
from socialcard.catalog.queries import get_item
from socialcard.disbursement.errors import ProgrammeNotFound
from socialcard.disbursement.models import Programme
from socialcard.kernel.money import Money
from socialcard.ledger import accounts as codes
from socialcard.ledger import services as ledger
from socialcard.ledger.models import NormalSide, TransferKind

PAYOUT_ITEMS: Final = (
    20,
    31,
    38,
    57,
    71,
    72,
    73,
    79,
    87,
    88,
    102,
    103,
    104,
    105,
    106,
    107,
    108,
    109,
    110,
    111,
)
# Items whose catalogue row names no responsible unit: the department that runs the scheme.
UNLISTED_OWNERS: Final = {
    71: ("hrss",),  # work injury (市工伤处)
    72: ("hrss",),
    73: ("hrss",),
    88: ("healthcare_security",),  # maternity allowance
    102: ("hrss",),  # migrant workers' wages (劳动监察)
}
# Departments that compile the lists although the catalogue names only the finance bureau: the
# grain subsidy's household lists come from the agriculture bureau and the townships.
EXTRA_OWNERS: Final = {107: ("agriculture",)}
SHORT_NAMES: Final = {
    20: "就业补贴",
    31: "举报奖励",
    38: "养老金",
    57: "医疗报销",
    71: "工伤医疗报销",
    72: "工伤康复报销",
    73: "工伤待遇",
    79: "失业保险金",
    87: "生育医疗报销",
    88: "生育津贴",
    102: "农民工工资",
    103: "工资",
    104: "助学金",
    105: "民政补贴",
    106: "农业补贴",
    107: "种粮补贴",
    108: "林业补贴",
    109: "计生补贴",
    110: "移民补助",
    111: "农机补贴",
}
# Every payout item is served by a programme: each payment is a card use of its item, recorded
# when the bank's return file confirms it (runner.apply_returns). Item 104 (student grants and
# tuition) is bound here; its tuition collections go through payments as well.
CATALOG_BINDINGS: Final = tuple(
    Binding(item_no, "disbursement", "run_batch") for item_no in PAYOUT_ITEMS
)
APPROVING_DEPARTMENT: Final = "finance"
DEFAULT_LINE_LIMIT_MINOR: Final = 5_000_000  # ¥50,000 for one payment to one holder
TREASURY: Final = codes.external("treasury")


def programme_code(item_no: int) -> str:
    return f"I{item_no:03d}"


def owners_of(responsible_units: list[str], item_no: int) -> list[str]:
    units = set(responsible_units)
    owners = [code for code, _name, names in DEPARTMENTS if units & set(names)]
    owners = owners or list(UNLISTED_OWNERS.get(item_no, ("hrss",)))
    return owners + [code for code in EXTRA_OWNERS.get(item_no, ()) if code not in owners]


def ensure_programmes(session: Session, *, bank_codes: list[str], at: datetime) -> list[Programme]:
    """Create the missing programmes and their ledger accounts (budget, the treasury, each
    partner bank's payout account). Safe to run again."""
    ledger.open_account(session, TREASURY, name="市财政国库", normal_side=NormalSide.DEBIT, at=at)
    for bank in bank_codes:
        ledger.open_account(
            session,
            codes.bank_clearing(bank),
            name=f"{bank} 代发资金",
            normal_side=NormalSide.CREDIT,
            at=at,
        )
    existing = {p.code: p for p in session.scalars(select(Programme))}
    programmes: list[Programme] = []
    for item_no in PAYOUT_ITEMS:
        code = programme_code(item_no)
        if code in existing:
            programmes.append(existing[code])
            continue
        item = get_item(session, item_no)
        budget = codes.programme_budget(code)
        ledger.open_account(
            session,
            budget,
            name=f"{item.name[:60]} 预算",
            normal_side=NormalSide.CREDIT,
            has_floor=True,
            at=at,
        )
        programme = Programme(
            code=code,
            item_no=item_no,
            name=item.name,
            short_name=SHORT_NAMES[item_no],
            departments=owners_of(list(item.responsible_units), item_no),
            approving_department=APPROVING_DEPARTMENT,
            funding_account=budget,
            max_line_minor=DEFAULT_LINE_LIMIT_MINOR,
            active=True,
            created_at=at,
        )
        session.add(programme)
        programmes.append(programme)
    session.flush()
    return programmes


def get_programme(session: Session, code: str) -> Programme:
    programme = session.scalars(select(Programme).where(Programme.code == code)).first()
    if programme is None:
        raise ProgrammeNotFound(code)
    return programme


def list_programmes(session: Session) -> list[Programme]:
    return list(session.scalars(select(Programme).order_by(Programme.item_no)))


def fund_programme(
    session: Session, code: str, *, amount: Money, reference: str, at: datetime
) -> None:
    """The finance bureau allocates money to a programme's budget (idempotent by reference)."""
    programme = get_programme(session, code)
    ledger.post_transfer(
        session,
        ledger.TransferRequest(
            transfer_key=f"fund:{code}:{reference}",
            debit_account=TREASURY,
            credit_account=programme.funding_account,
            amount=amount,
            kind=TransferKind.FUNDING,
            reference=reference,
        ),
        at=at,
    )
