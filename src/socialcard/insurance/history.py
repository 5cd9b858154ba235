"""Carrying the legacy core system's records over (历史数据迁移): enrolments, contribution months
and resident contributions as the old system computed them, then the personal accounts: each
migrated pension account's past years settled with the crediting rate of each year (the rows the
rights statement prints), and one opening transfer per account in the ledger for the balance the
records add up to. Bulk statements throughout: a city's history is hundreds of millions of rows.

The demo city uses the same path for its ten years of history (demo.insurance).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    String,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from socialcard.db import bulk_insert
from socialcard.insurance.accounts import personal_account
from socialcard.insurance.models import (
    ContributionMonth,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    MonthSource,
    MonthStatus,
    PensionAccountYear,
    ResidentContribution,
)
from socialcard.insurance.parameters import interest_rate
from socialcard.insurance.rules import year_interest
from socialcard.insurance.schemes import SCHEMES, SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.ledger import accounts as codes
from socialcard.ledger import services as ledger
from socialcard.ledger.models import LedgerAccount, NormalSide, TransferKind, TransferPhase

LEGACY: Final = codes.external("legacy_core_system")


@dataclass(frozen=True, slots=True)
class MigratedEnrolment:
    person_id: int
    scheme: SchemeCode
    kind: EnrolmentKind
    employer_id: int | None
    started_on: date
    wage_minor: int | None
    status: EnrolmentStatus = EnrolmentStatus.ACTIVE
    ended_on: date | None = None
    end_reason: str | None = None


@dataclass(frozen=True, slots=True)
class MigrationOutcome:
    enrolments: int
    months: int
    resident_years: int
    pension_years: int
    accounts_opened: int


def migrate_enrolments(
    session: Session, enrolments: list[MigratedEnrolment], *, channel: str, at: datetime
) -> int:
    """Insert the enrolments and open the personal accounts they need, in bulk."""
    names = {}
    for e in enrolments:
        code = personal_account(e.person_id, e.scheme)
        if code is not None:
            names[code] = f"{SCHEMES[e.scheme].name}个人账户"
    ids = ledger.open_accounts(session, names, normal_side=NormalSide.CREDIT, has_floor=True, at=at)
    rows = [
        {
            "person_id": e.person_id,
            "scheme": e.scheme,
            "family": SCHEMES[e.scheme].family,
            "kind": e.kind,
            "employer_id": e.employer_id,
            "status": e.status,
            "started_on": e.started_on,
            "ended_on": e.ended_on,
            "end_reason": e.end_reason,
            "wage_minor": e.wage_minor,
            "account_id": ids.get(personal_account(e.person_id, e.scheme) or ""),
            "channel": channel,
            "created_at": at,
            "updated_at": at,
        }
        for e in enrolments
    ]
    for i in range(0, len(rows), 20_000):
        bulk_insert(session, Enrolment.__table__, rows[i : i + 20_000])
    return len(rows)


def migrate_months(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert contribution months as the legacy system recorded them (already paid)."""
    for row in rows:
        row["source"] = MonthSource.MIGRATED
        row["status"] = MonthStatus.PAID
    for i in range(0, len(rows), 20_000):
        bulk_insert(session, ContributionMonth.__table__, rows[i : i + 20_000])
    return len(rows)


def migrate_resident_years(session: Session, rows: list[dict[str, object]], *, at: datetime) -> int:
    for row in rows:
        row.update(source=MonthSource.MIGRATED, status=MonthStatus.PAID, created_at=at)
    for i in range(0, len(rows), 20_000):
        bulk_insert(session, ResidentContribution.__table__, rows[i : i + 20_000])
    return len(rows)


def _credits_per_year(session: Session) -> dict[tuple[int, SchemeCode], dict[int, int]]:
    """What the migrated records credited to each pension account, per calendar year of payment."""
    out: dict[tuple[int, SchemeCode], dict[int, int]] = defaultdict(dict)
    m = ContributionMonth
    year_of = (m.period // literal_column("100")).label("year")
    stmt = (
        select(m.person_id, year_of, func.sum(m.pension_account_minor))
        .where(m.source == MonthSource.MIGRATED, m.pension_account_minor > 0)
        .group_by(m.person_id, year_of)
    )
    for person_id, year, amount in session.execute(stmt).tuples():
        out[(int(person_id), SchemeCode.PENSION_EMPLOYEE)][int(year)] = int(amount)
    r = ResidentContribution
    stmt2 = (
        select(r.person_id, r.year, func.sum(r.amount_minor + r.subsidy_minor))
        .where(r.source == MonthSource.MIGRATED, r.scheme == SchemeCode.PENSION_RESIDENT)
        .group_by(r.person_id, r.year)
    )
    for person_id, year, amount in session.execute(stmt2).tuples():
        out[(int(person_id), SchemeCode.PENSION_RESIDENT)][int(year)] = int(amount)
    return out


def settle_migrated_accounts(session: Session, *, at: datetime) -> tuple[int, int]:
    """Settle every past year of the migrated pension accounts and carry each personal account's
    balance into the ledger. Returns (pension year rows, opening transfers)."""
    this_year = at.astimezone(SHANGHAI).year
    rates: dict[int, int] = {}
    year_rows: list[dict[str, object]] = []
    for (person_id, scheme), by_year in _credits_per_year(session).items():
        closing = 0
        for year in range(min(by_year), this_year):
            if year not in rates:
                rate = interest_rate(session, year)
                rates[year] = rate.rate_bp if rate else 0
            credited = by_year.get(year, 0)
            interest = year_interest(closing, credited, rates[year])
            year_rows.append(
                {
                    "person_id": person_id,
                    "scheme": scheme,
                    "year": year,
                    "opening_minor": closing,
                    "credited_minor": credited,
                    "interest_minor": interest,
                    "transferred_minor": 0,
                    "closing_minor": closing + credited + interest,
                    "rate_bp": rates[year],
                    "settled_at": at,
                }
            )
            closing += credited + interest
    for i in range(0, len(year_rows), 20_000):
        bulk_insert(session, PensionAccountYear.__table__, year_rows[i : i + 20_000])
    ledger.open_account(
        session, LEGACY, name="原社保核心系统（迁移）", normal_side=NormalSide.DEBIT, at=at
    )
    legacy_id = int(
        session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == LEGACY)) or 0
    )
    transfers = 0
    for scheme, kind, journal, amounts in _carried_over(this_year):
        transfers += _post_carried(session, scheme, kind, journal, amounts, legacy_id, at)
    return len(year_rows), transfers


def _carried_over(this_year: int) -> list[tuple[SchemeCode, TransferKind, str, Subquery]]:
    """What the ledger must carry over, as (person_id, amount) subqueries: each pension
    account's last settled closing (a migrated balance) and this year's migrated credits (credits
    of this year, which this year's settlement will count); each medical account's migrated
    credits."""
    y = PensionAccountYear
    m = ContributionMonth
    r = ResidentContribution

    def closing(scheme: SchemeCode) -> Subquery:
        return (
            select(y.person_id.label("person_id"), y.closing_minor.label("amount"))
            .where(y.year == this_year - 1, y.scheme == scheme, y.closing_minor > 0)
            .subquery()
        )

    employee_now = (
        select(m.person_id.label("person_id"), func.sum(m.pension_account_minor).label("amount"))
        .where(m.source == MonthSource.MIGRATED, m.period > this_year * 100)
        .group_by(m.person_id)
        .having(func.sum(m.pension_account_minor) > 0)
        .subquery()
    )
    resident_now = (
        select(
            r.person_id.label("person_id"),
            func.sum(r.amount_minor + r.subsidy_minor).label("amount"),
        )
        .where(
            r.source == MonthSource.MIGRATED,
            r.scheme == SchemeCode.PENSION_RESIDENT,
            r.year >= this_year,
        )
        .group_by(r.person_id)
        .subquery()
    )
    medical = (
        select(m.person_id.label("person_id"), func.sum(m.medical_account_minor).label("amount"))
        .where(m.source == MonthSource.MIGRATED, m.medical_account_minor > 0)
        .group_by(m.person_id)
        .subquery()
    )
    migrated, credited = TransferKind.BALANCE_MIGRATED, TransferKind.ACCOUNT_CREDITED
    pe, pr = SchemeCode.PENSION_EMPLOYEE, SchemeCode.PENSION_RESIDENT
    me = SchemeCode.MEDICAL_EMPLOYEE
    return [
        (pe, migrated, f"migrated:{pe.value}", closing(pe)),
        (pe, credited, f"migrated:{pe.value}:{this_year}", employee_now),
        (pr, migrated, f"migrated:{pr.value}", closing(pr)),
        (pr, credited, f"migrated:{pr.value}:{this_year}", resident_now),
        (me, migrated, f"migrated:{me.value}", medical),
    ]


def _post_carried(
    session: Session,
    scheme: SchemeCode,
    kind: TransferKind,
    journal: str,
    amounts: Subquery,
    legacy_id: int,
    at: datetime,
) -> int:
    accounts = (
        select(Enrolment.person_id, Enrolment.account_id)
        .where(Enrolment.scheme == scheme, Enrolment.account_id.is_not(None))
        .distinct()
        .subquery()
    )
    if not session.scalar(select(func.count()).select_from(amounts)):
        return 0
    rows = (
        select(
            literal(journal + ":") + cast(amounts.c.person_id, String),
            literal(journal),
            literal(legacy_id),
            accounts.c.account_id,
            amounts.c.amount,
            literal(kind.value),
            literal(TransferPhase.SINGLE.value),
            cast(null(), BigInteger),
            literal("legacy:") + cast(amounts.c.person_id, String),
            literal(at),
        )
        .select_from(amounts)
        .join(accounts, accounts.c.person_id == amounts.c.person_id)
    )
    return ledger.record_journal_from(session, rows, journal_key=journal, at=at)
