"""Reads of the insurance area: a person's enrolments, contribution history by month and year,
resident contributions, personal accounts (balance and latest movements), declarations and
arrears of an employer. The self-service query (item 29, PERFORMANCE W4) is `insured_overview`:
a handful of indexed reads, no scan that grows with the city."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from socialcard.insurance.accounts import personal_account
from socialcard.insurance.declarations import SCHEME_BITS, current_period
from socialcard.insurance.errors import DeclarationNotFound
from socialcard.insurance.models import (
    ContributionMonth,
    Declaration,
    DeclarationStatus,
    Enrolment,
    EnrolmentStatus,
    InsuranceTransfer,
    MonthSource,
    MonthStatus,
    ResidentContribution,
)
from socialcard.insurance.schemes import MONTHLY_PARTS, SchemeCode
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger.models import LedgerAccount, LedgerBalance
from socialcard.ledger.queries import Balance, TransferLine
from socialcard.registry.models import Employer

COUNTED: Final = (MonthStatus.PAID, MonthStatus.TRANSFERRED_OUT)


# Statements of the self-service query (it runs thousands of times a second) are built once,
# with bound parameters: a request only binds values, as building a SELECT costs more than
# running it on an indexed table.
_ENROLMENTS: Final = (
    select(Enrolment, Employer.name)
    .outerjoin(Employer, Employer.id == Enrolment.employer_id)
    .where(Enrolment.person_id == bindparam("person_id"))
    .order_by(Enrolment.id.desc())
)


def list_enrolments(session: Session, person_id: int) -> list[tuple[Enrolment, str | None]]:
    """Every enrolment of the person, newest first, with its employer's name."""
    rows = session.execute(_ENROLMENTS, {"person_id": person_id}).tuples()
    return [(e, n) for e, n in rows]


def open_enrolments(session: Session, person_id: int) -> list[Enrolment]:
    stmt = select(Enrolment).where(
        Enrolment.person_id == person_id, Enrolment.status != EnrolmentStatus.TERMINATED
    )
    return list(session.scalars(stmt.order_by(Enrolment.id)))


def contribution_months(
    session: Session, person_id: int, *, since_period: int | None = None
) -> list[ContributionMonth]:
    """The person's months (not cancelled), oldest first."""
    stmt = select(ContributionMonth).where(
        ContributionMonth.person_id == person_id,
        ContributionMonth.status != MonthStatus.CANCELLED,
    )
    if since_period is not None:
        stmt = stmt.where(ContributionMonth.period >= since_period)
    return list(session.scalars(stmt.order_by(ContributionMonth.period)))


@dataclass
class YearSummary:
    year: int
    months: dict[str, int] = field(default_factory=dict)  # scheme → months counted
    base_minor: int = 0  # sum of the bases of the months
    employer_minor: int = 0
    individual_minor: int = 0
    due_months: int = 0
    elsewhere_months: int = 0  # paid in another region and transferred in

    @property
    def average_base_minor(self) -> int:
        counted = max(self.months.values(), default=0)
        return self.base_minor // counted if counted else 0


def summarise_by_year(months: Sequence[MonthLike]) -> list[YearSummary]:
    """Per calendar year: months counted per scheme (paid or carried out), amounts, arrears."""
    years: dict[int, YearSummary] = {}
    for m in months:
        year = years.setdefault(m.period // 100, YearSummary(m.period // 100))
        if m.status is MonthStatus.DUE:
            year.due_months += 1
            continue
        if m.status not in COUNTED:
            continue
        for scheme, bit in SCHEME_BITS.items():
            if m.schemes_mask & bit:
                year.months[scheme.value] = year.months.get(scheme.value, 0) + 1
        year.base_minor += m.base_minor
        for _s, employer_col, individual_col in MONTHLY_PARTS:
            year.employer_minor += getattr(m, employer_col)
            if individual_col:
                year.individual_minor += getattr(m, individual_col)
        if m.region_code != "431100":
            year.elsewhere_months += 1
    return [years[y] for y in sorted(years)]


def months_counted(months: Sequence[MonthLike], scheme: SchemeCode) -> int:
    bit = SCHEME_BITS[scheme]
    return sum(1 for m in months if m.status in COUNTED and m.schemes_mask & bit)


_RESIDENT_YEARS: Final = (
    select(ResidentContribution)
    .where(
        ResidentContribution.person_id == bindparam("person_id"),
        ResidentContribution.status != MonthStatus.CANCELLED,
    )
    .order_by(ResidentContribution.year.desc())
)


def list_resident_contributions(session: Session, person_id: int) -> list[ResidentContribution]:
    return list(session.scalars(_RESIDENT_YEARS, {"person_id": person_id}))


@dataclass(frozen=True, slots=True)
class AccountView:
    scheme: SchemeCode
    code: str
    balance_minor: int
    latest: list[TransferLine]


def account_view(
    session: Session, person_id: int, scheme: SchemeCode, *, latest: int = 20
) -> AccountView | None:
    """A personal account's balance (its balance row) and latest movements, or None."""
    code = personal_account(person_id, scheme)
    if code is None:
        return None
    balance = ledger_queries.stored_balance(session, code)
    if balance is None:
        return None
    lines = ledger_queries.list_transfers(session, code, limit=latest) if latest else []
    return AccountView(scheme, code, balance.posted, lines)


def resident_orders_waiting(session: Session) -> list[str]:
    """Payment orders raised for resident contributions not settled yet."""
    stmt = select(ResidentContribution.payment_order_no).where(
        ResidentContribution.status == MonthStatus.DUE,
        ResidentContribution.payment_order_no.is_not(None),
    )
    return [str(n) for n in session.scalars(stmt)]


def list_transfers_of(session: Session, person_id: int) -> list[InsuranceTransfer]:
    stmt = select(InsuranceTransfer).where(InsuranceTransfer.person_id == person_id)
    return list(session.scalars(stmt.order_by(InsuranceTransfer.id.desc())))


@dataclass(frozen=True, slots=True)
class MonthLine:
    """A contribution month as the self-service query shows it: the columns it prints, read
    as plain values (a person's ten years are 120 of them; ORM objects cost more than the read)."""

    period: int
    base_minor: int
    pension_employer_minor: int
    pension_individual_minor: int
    medical_employer_minor: int
    medical_individual_minor: int
    unemployment_employer_minor: int
    unemployment_individual_minor: int
    work_injury_employer_minor: int
    maternity_employer_minor: int
    pension_account_minor: int
    medical_account_minor: int
    schemes_mask: int
    status: MonthStatus
    source: MonthSource
    region_code: str
    employer_id: int | None


MonthLike = ContributionMonth | MonthLine  # a month as stored, or as the overview reads it


_MONTH_LINES: Final = (
    select(*(getattr(ContributionMonth, name) for name in MonthLine.__dataclass_fields__))
    .where(
        ContributionMonth.person_id == bindparam("person_id"),
        ContributionMonth.status != MonthStatus.CANCELLED,
        ContributionMonth.period >= bindparam("since"),
    )
    .order_by(ContributionMonth.period)
)


def month_lines(session: Session, person_id: int, *, since_period: int) -> list[MonthLine]:
    """The person's months (not cancelled) from `since_period`, oldest first: one range scan of
    the (person, period) index."""
    rows = session.execute(_MONTH_LINES, {"person_id": person_id, "since": since_period})
    return [MonthLine(*row) for row in rows.tuples()]


_BALANCES: Final = (
    select(
        LedgerAccount.id,
        LedgerAccount.code,
        LedgerAccount.normal_side,
        LedgerBalance.debits_posted,
        LedgerBalance.credits_posted,
        LedgerBalance.debits_pending,
        LedgerBalance.credits_pending,
    )
    .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
    .where(LedgerAccount.code.in_(bindparam("codes", expanding=True)))
)


def _personal_balances(
    session: Session, person_id: int, schemes: tuple[SchemeCode, ...]
) -> dict[SchemeCode, tuple[int, Balance]]:
    """The person's personal accounts of these schemes that exist: (account id, balance from
    its balance row), in one indexed read."""
    wanted = {code: s for s in schemes if (code := personal_account(person_id, s)) is not None}
    found = {}
    rows = session.execute(_BALANCES, {"codes": list(wanted)}).tuples()
    for account_id, code, side, dp, cp, dpend, cpend in rows:
        balance = Balance(code, side, int(dp), int(cp), int(dpend), int(cpend))
        found[wanted[code]] = (int(account_id), balance)
    return found


@dataclass(frozen=True, slots=True)
class InsuredOverview:
    """What the self-service query shows (item 29): enrolments, ten years of months, the
    medical account's balance and its latest movements, the pension account's balance."""

    enrolments: list[tuple[Enrolment, str | None]]
    months: list[MonthLine]
    medical: AccountView | None
    pension: AccountView | None
    resident: list[ResidentContribution]


def insured_overview(
    session: Session, person_id: int, *, at: datetime, years: int = 10, latest: int = 20
) -> InsuredOverview:
    """Five indexed reads whatever the city's size: enrolments, the months of `years` years,
    the personal accounts' balance rows, the medical account's latest movements, resident
    years. Balances come from the balance rows (`ledger verify` proves them), read in the
    same transaction as the movements."""
    since = current_period(at) - years * 100 + 1
    accounts = _personal_balances(
        session,
        person_id,
        (SchemeCode.PENSION_EMPLOYEE, SchemeCode.PENSION_RESIDENT, SchemeCode.MEDICAL_EMPLOYEE),
    )

    def view(scheme: SchemeCode, count: int) -> AccountView | None:
        if scheme not in accounts:
            return None
        account_id, balance = accounts[scheme]
        lines = (
            ledger_queries.account_statement(session, account_id, balance.normal_side, limit=count)
            if count
            else []
        )
        return AccountView(scheme, balance.code, balance.posted, lines)

    return InsuredOverview(
        enrolments=list_enrolments(session, person_id),
        months=month_lines(session, person_id, since_period=since),
        medical=view(SchemeCode.MEDICAL_EMPLOYEE, latest),
        pension=view(SchemeCode.PENSION_EMPLOYEE, 0) or view(SchemeCode.PENSION_RESIDENT, 0),
        resident=list_resident_contributions(session, person_id),
    )


# -- employers and declarations -------------------------------------------------------------------


def get_declaration(session: Session, declaration_no: str) -> Declaration:
    found = session.scalars(
        select(Declaration).where(Declaration.declaration_no == declaration_no)
    ).first()
    if found is None:
        raise DeclarationNotFound(declaration_no)
    return found


def find_declaration_by_order(session: Session, order_no: str) -> Declaration | None:
    return session.scalars(
        select(Declaration).where(Declaration.payment_order_no == order_no)
    ).first()


def list_declarations(
    session: Session,
    *,
    employer_id: int | None = None,
    person_id: int | None = None,
    status: DeclarationStatus | None = None,
    limit: int = 100,
) -> list[Declaration]:
    stmt = select(Declaration)
    if employer_id is not None:
        stmt = stmt.where(Declaration.employer_id == employer_id)
    if person_id is not None:
        stmt = stmt.where(Declaration.person_id == person_id)
    if status is not None:
        stmt = stmt.where(Declaration.status == status)
    return list(session.scalars(stmt.order_by(Declaration.id.desc()).limit(limit)))


def declaration_months(session: Session, declaration_id: int) -> list[ContributionMonth]:
    stmt = select(ContributionMonth).where(ContributionMonth.declaration_id == declaration_id)
    return list(
        session.scalars(stmt.order_by(ContributionMonth.person_id, ContributionMonth.period))
    )


def employer_headcount(session: Session, employer_id: int) -> dict[str, int]:
    """Persons per enrolment status through this employer (pension enrolments)."""
    stmt = (
        select(Enrolment.status, func.count())
        .where(
            Enrolment.employer_id == employer_id, Enrolment.scheme == SchemeCode.PENSION_EMPLOYEE
        )
        .group_by(Enrolment.status)
    )
    return {status.value: int(n) for status, n in session.execute(stmt).tuples()}


def employer_employees(session: Session, employer_id: int) -> list[Enrolment]:
    stmt = select(Enrolment).where(
        Enrolment.employer_id == employer_id,
        Enrolment.scheme == SchemeCode.PENSION_EMPLOYEE,
        Enrolment.status != EnrolmentStatus.TERMINATED,
    )
    return list(session.scalars(stmt.order_by(Enrolment.person_id)))


def arrears_by_payer(session: Session, *, before_period: int) -> dict[str, int]:
    """Unpaid declarations of months before `before_period`: count per declaration kind."""
    stmt = (
        select(Declaration.kind, func.count())
        .where(
            Declaration.status == DeclarationStatus.DECLARED,
            Declaration.first_period < before_period,
        )
        .group_by(Declaration.kind)
    )
    return {kind.value: int(n) for kind, n in session.execute(stmt).tuples()}


def monthly_totals(session: Session, *, first_period: int) -> dict[int, tuple[int, int]]:
    """Per month since `first_period`: (persons paid, amount paid) across the city."""
    month = ContributionMonth
    parts = sum(
        (getattr(month, e) + (getattr(month, i) if i else 0) for _s, e, i in MONTHLY_PARTS),
        start=0,
    )
    stmt = (
        select(month.period, func.count(), func.sum(parts))
        .where(month.period >= first_period, month.status == MonthStatus.PAID)
        .group_by(month.period)
        .order_by(month.period)
    )
    out: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for period, n, amount in session.execute(stmt).tuples():
        out[int(period)] = (int(n), int(amount or 0))
    return dict(out)
