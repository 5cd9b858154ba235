"""Contribution declarations (缴费申报, item 23) and their payment.

An employer declares a month for every employee enrolled through it (the wage it gives, or the
one on record), a flexible worker declares their own months, an employer back-pays months it
missed (补缴). Each declaration writes one contribution month per person and month, with every
scheme's employer and individual part on the base clamped to the rule in force. Until paid the
months are arrears. Payment is all or nothing: an employer's bank transfer (recorded here) or the
holder's card through the collection service (the entry point raises and pays the order, then
settles the declaration with it). Settling credits the pooled funds with the declaration's totals
and each personal account with its part, in one transaction, once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import BigInteger, String, cast, func, literal, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialcard.db import bulk_insert
from socialcard.errors import InvalidField
from socialcard.insurance.accounts import EMPLOYER_TRANSFERS, pooled_fund
from socialcard.insurance.errors import (
    DeclarationNotFound,
    DeclarationRefused,
    NotEnrolled,
    PaymentMismatch,
)
from socialcard.insurance.models import (
    CITY_REGION,
    ContributionMonth,
    Declaration,
    DeclarationKind,
    DeclarationStatus,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    MonthSource,
    MonthStatus,
)
from socialcard.insurance.parameters import monthly_rule, rules_in_force
from socialcard.insurance.rules import (
    MonthlyRule,
    clamp_base,
    month_parts,
    next_period,
    period_label,
    period_of,
    period_start,
    periods_between,
    previous_period,
)
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, MONTHLY_PARTS, SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.money import Money
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import TransferKind, TransferPhase
from socialcard.registry.models import Employer

# Bit of each employee scheme in ContributionMonth.schemes_mask.
SCHEME_BITS: Final = {
    SchemeCode.PENSION_EMPLOYEE: 1,
    SchemeCode.MEDICAL_EMPLOYEE: 2,
    SchemeCode.UNEMPLOYMENT: 4,
    SchemeCode.WORK_INJURY: 8,
    SchemeCode.MATERNITY: 16,
}
REGULAR_MONTHS_BACK: Final = 3  # older months are declared as a back-payment
FLEXIBLE_MONTHS_MAX: Final = 12


def current_period(at: datetime) -> int:
    return period_of(at.astimezone(SHANGHAI).date())


def last_day(period: int) -> date:
    return period_start(next_period(period)) - timedelta(days=1)


def _next_no(session: Session, prefix: str, at: datetime) -> str:
    head = prefix + at.astimezone(SHANGHAI).strftime("%Y%m%d")
    last = session.scalar(
        select(func.max(Declaration.declaration_no)).where(
            Declaration.declaration_no.startswith(head)
        )
    )
    return f"{head}{(int(last[len(head) :]) + 1) if last else 1:05d}"


def rules_of(session: Session, period: int) -> dict[SchemeCode, MonthlyRule]:
    in_force = rules_in_force(session, EMPLOYEE_SCHEMES, period)
    return {scheme: monthly_rule(rule) for scheme, rule in in_force.items()}


@dataclass(frozen=True, slots=True)
class Insured:
    """Who is declared for a month, in which schemes, on which wage."""

    person_id: int
    employer_id: int | None
    kind: EnrolmentKind
    wage_minor: int
    schemes: frozenset[SchemeCode]


def month_row(
    insured: Insured,
    period: int,
    rules: dict[SchemeCode, MonthlyRule],
    *,
    source: MonthSource,
    region_code: str = CITY_REGION,
) -> dict[str, object]:
    """The contribution month of one person (columns of ContributionMonth)."""
    flexible = insured.kind is EnrolmentKind.FLEXIBLE
    row: dict[str, object] = {
        "person_id": insured.person_id,
        "period": period,
        "employer_id": insured.employer_id,
        "kind": insured.kind,
        "source": source,
        "region_code": region_code,
        "status": MonthStatus.DUE,
        "pension_account_minor": 0,
        "medical_account_minor": 0,
    }
    mask = 0
    base = None
    for scheme, employer_col, individual_col in MONTHLY_PARTS:
        row[employer_col] = 0
        if individual_col:
            row[individual_col] = 0
        if scheme not in insured.schemes:
            continue
        mask |= SCHEME_BITS[scheme]
        rule = rules[scheme]
        clamped = clamp_base(insured.wage_minor, rule)
        base = clamped if base is None else base
        parts = month_parts(clamped, rule, flexible=flexible)
        row[employer_col] = parts.employer_minor
        if individual_col:
            row[individual_col] = parts.individual_minor
        else:  # employer-only schemes: a flexible worker is not in them
            row[employer_col] = parts.employer_minor + parts.individual_minor
        if scheme is SchemeCode.PENSION_EMPLOYEE:
            row["pension_account_minor"] = parts.account_minor
        elif scheme is SchemeCode.MEDICAL_EMPLOYEE:
            row["medical_account_minor"] = parts.account_minor
    row["base_minor"] = base or 0
    row["schemes_mask"] = mask
    return row


def _totals(rows: list[dict[str, object]]) -> tuple[int, int]:
    employer = individual = 0
    for row in rows:
        for _scheme, employer_col, individual_col in MONTHLY_PARTS:
            employer += int(row[employer_col])  # type: ignore[call-overload]
            if individual_col:
                individual += int(row[individual_col])  # type: ignore[call-overload]
    return employer, individual


def _insert(
    session: Session, declaration: Declaration, rows: list[dict[str, object]], *, at: datetime
) -> Declaration:
    employer_total, individual_total = _totals(rows)
    declaration.persons = len({row["person_id"] for row in rows})
    declaration.months = len(rows)
    declaration.employer_minor = employer_total
    declaration.individual_minor = individual_total
    declaration.total_minor = employer_total + individual_total
    for _ in range(5):
        declaration.declaration_no = _next_no(session, "SB", at)
        try:
            with session.begin_nested():
                session.add(declaration)
                session.flush()
        except IntegrityError as exc:
            if "declaration_no" in str(exc.orig) or "declaration_no" in str(exc):
                continue
            raise DeclarationRefused(
                "该单位该月已申报", period=period_label(declaration.first_period)
            ) from None
        break
    for row in rows:
        row["declaration_id"] = declaration.id
    try:
        with session.begin_nested():
            bulk_insert(session, ContributionMonth.__table__, rows)
    except IntegrityError:
        raise DeclarationRefused("其中有人员该月已有缴费记录（已申报、已转入或已缴费）") from None
    return declaration


def _existing_periods(
    session: Session, person_ids: list[int], periods: list[int]
) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for start in range(0, len(person_ids), 500):
        chunk = person_ids[start : start + 500]
        stmt = select(ContributionMonth.person_id, ContributionMonth.period).where(
            ContributionMonth.person_id.in_(chunk),
            ContributionMonth.period.in_(periods),
            ContributionMonth.status != MonthStatus.CANCELLED,
        )
        found.update((int(p), int(m)) for p, m in session.execute(stmt).tuples())
    return found


def _insured_through(
    session: Session, *, period: int, employer_id: int | None = None, person_id: int | None = None
) -> list[Insured]:
    """Everyone with an active employee-scheme enrolment covering the month (by employer, or one
    person's own flexible enrolment), grouped per person."""
    # Plain columns, not Enrolment objects: an employer's month reads every employee's five
    # enrolments, and building ORM objects cost more than the read.
    stmt = select(
        Enrolment.person_id,
        Enrolment.employer_id,
        Enrolment.kind,
        Enrolment.wage_minor,
        Enrolment.scheme,
    ).where(
        Enrolment.scheme.in_(EMPLOYEE_SCHEMES),
        Enrolment.status == EnrolmentStatus.ACTIVE,
        Enrolment.started_on <= last_day(period),
    )
    if employer_id is not None:
        stmt = stmt.where(Enrolment.employer_id == employer_id)
    if person_id is not None:
        stmt = stmt.where(
            Enrolment.person_id == person_id, Enrolment.kind == EnrolmentKind.FLEXIBLE
        )
    grouped: dict[int, list[tuple[int | None, EnrolmentKind, int | None, SchemeCode]]]
    grouped = defaultdict(list)
    rows = session.execute(stmt.order_by(Enrolment.person_id, Enrolment.id)).tuples()
    for pid, employer, kind, wage, scheme in rows:
        grouped[pid].append((employer, kind, wage, scheme))
    return [
        Insured(
            person_id=pid,
            employer_id=items[0][0],
            kind=items[0][1],
            wage_minor=max(wage or 0 for _e, _k, wage, _s in items),
            schemes=frozenset(scheme for *_rest, scheme in items),
        )
        for pid, items in grouped.items()
    ]


def declare_employer_month(
    session: Session,
    *,
    employer_id: int,
    period: int,
    wages: dict[int, int] | None = None,
    channel: str,
    declared_by: int | None,
    at: datetime,
) -> Declaration:
    """The employer's declaration of `period` for every employee enrolled through it. `wages`
    (person id → monthly wage in fen) replaces the wage on record for those employees."""
    employer = session.get(Employer, employer_id)
    if employer is None:
        raise InvalidField("employer_id", "known_employer", "须指定已登记的参保单位。")
    now = current_period(at)
    if period > now:
        raise InvalidField("period", "not_future", "不能申报未来月份。")
    oldest = now
    for _ in range(REGULAR_MONTHS_BACK - 1):
        oldest = previous_period(oldest)
    if period < oldest:
        raise DeclarationRefused(
            f"{period_label(period)} 已超过正常申报期，请按补缴办理", period=period
        )
    insured = _insured_through(session, period=period, employer_id=employer_id)
    if not insured:
        raise DeclarationRefused(f"{employer.name} 在 {period_label(period)} 没有参保职工")
    wages = wages or {}
    for pid, wage in wages.items():
        if not 0 < wage <= 100_000_000:
            raise InvalidField("wages", "monthly_wage", f"人员 {pid} 的月工资应为正数（分）。")
    unknown = set(wages) - {i.person_id for i in insured}
    if unknown:
        raise InvalidField("wages", "insured_employee", "工资清单中有人员不是本单位在保职工。")
    if wages:
        for enrolment in session.scalars(
            select(Enrolment).where(
                Enrolment.employer_id == employer_id,
                Enrolment.person_id.in_(list(wages)),
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
        ):
            enrolment.wage_minor = wages[enrolment.person_id]
            enrolment.updated_at = at
        insured = [
            Insured(
                i.person_id, i.employer_id, i.kind, wages.get(i.person_id, i.wage_minor), i.schemes
            )
            for i in insured
        ]
    taken = _existing_periods(session, [i.person_id for i in insured], [period])
    insured = [i for i in insured if (i.person_id, period) not in taken]
    if not insured:
        raise DeclarationRefused(f"{employer.name} 的职工在 {period_label(period)} 都已有缴费记录")
    rules = rules_of(session, period)
    rows = [month_row(i, period, rules, source=MonthSource.DECLARED) for i in insured]
    declaration = Declaration(
        kind=DeclarationKind.EMPLOYER,
        employer_id=employer_id,
        first_period=period,
        last_period=period,
        status=DeclarationStatus.DECLARED,
        channel=channel,
        declared_by=declared_by,
        declared_at=at,
    )
    return _insert(session, declaration, rows, at=at)


def declare_back_payment(
    session: Session,
    *,
    employer_id: int,
    person_id: int,
    first_period: int,
    last_period: int,
    wage_minor: int,
    channel: str,
    declared_by: int | None,
    at: datetime,
) -> Declaration:
    """补缴: months of an employee the employer did not declare in time, on the wage of then."""
    if last_period < first_period:
        raise InvalidField("last_period", "range", "截止月份不能早于起始月份。")
    if last_period >= current_period(at):
        raise InvalidField("last_period", "past_months", "补缴只针对以前月份。")
    if not 0 < wage_minor <= 100_000_000:
        raise InvalidField("wage_minor", "monthly_wage", "月缴费工资应为正数（分）。")
    enrolments = list(
        session.scalars(
            select(Enrolment).where(
                Enrolment.person_id == person_id,
                Enrolment.employer_id == employer_id,
                Enrolment.scheme.in_(EMPLOYEE_SCHEMES),
                Enrolment.status != EnrolmentStatus.TERMINATED,
            )
        )
    )
    if not enrolments:
        raise NotEnrolled("本单位职工参保")
    started = min(e.started_on for e in enrolments)
    if period_start(first_period) < date(started.year, started.month, 1):
        raise DeclarationRefused(
            f"补缴月份早于参保时间（{started:%Y年%m月}）；请先更正参保时间", started_on=str(started)
        )
    periods = periods_between(first_period, last_period)
    if len(periods) > 60:
        raise InvalidField("first_period", "range", "一次补缴不超过 60 个月。")
    if _existing_periods(session, [person_id], periods):
        raise DeclarationRefused("所补月份中已有缴费记录")
    insured = Insured(
        person_id, employer_id, EnrolmentKind.EMPLOYEE, wage_minor,
        frozenset(e.scheme for e in enrolments),
    )  # fmt: skip
    rows = [
        month_row(insured, p, rules_of(session, p), source=MonthSource.BACK_PAYMENT)
        for p in periods
    ]
    declaration = Declaration(
        kind=DeclarationKind.BACK_PAYMENT,
        employer_id=employer_id,
        first_period=first_period,
        last_period=last_period,
        status=DeclarationStatus.DECLARED,
        channel=channel,
        declared_by=declared_by,
        declared_at=at,
    )
    return _insert(session, declaration, rows, at=at)


def declare_flexible(
    session: Session,
    *,
    person_id: int,
    first_period: int,
    last_period: int,
    channel: str,
    at: datetime,
) -> Declaration:
    """A flexible worker's own months (个人缴费申报): from at most three months back up to the end
    of the year, on the wage on record, paid as one."""
    now = current_period(at)
    if last_period < first_period:
        raise InvalidField("last_period", "range", "截止月份不能早于起始月份。")
    oldest = now
    for _ in range(REGULAR_MONTHS_BACK - 1):
        oldest = previous_period(oldest)
    if first_period < oldest:
        raise DeclarationRefused("灵活就业人员只能申报近三个月及以后的月份")
    if last_period > (now // 100) * 100 + 12:
        raise DeclarationRefused("最多预缴到本年度 12 月")
    periods = periods_between(first_period, last_period)
    if len(periods) > FLEXIBLE_MONTHS_MAX:
        raise InvalidField("last_period", "range", "一次最多申报 12 个月。")
    insured = _insured_through(session, period=first_period, person_id=person_id)
    if not insured:
        raise NotEnrolled("灵活就业人员参保（职工养老、职工医保）")
    if _existing_periods(session, [person_id], periods):
        raise DeclarationRefused("所选月份中已有缴费记录")
    rows = [
        month_row(insured[0], p, rules_of(session, p), source=MonthSource.DECLARED) for p in periods
    ]
    declaration = Declaration(
        kind=DeclarationKind.FLEXIBLE,
        person_id=person_id,
        first_period=first_period,
        last_period=last_period,
        status=DeclarationStatus.DECLARED,
        channel=channel,
        declared_at=at,
    )
    return _insert(session, declaration, rows, at=at)


def get_declaration_for_update(session: Session, declaration_no: str) -> Declaration:
    declaration = session.scalars(
        select(Declaration).where(Declaration.declaration_no == declaration_no).with_for_update()
    ).first()
    if declaration is None:
        raise DeclarationNotFound(declaration_no)
    return declaration


def cancel_declaration(session: Session, declaration_no: str, *, at: datetime) -> Declaration:
    """Withdraw an unpaid declaration: its months are cancelled (kept, never counted), and the
    payer may declare them again."""
    declaration = get_declaration_for_update(session, declaration_no)
    declaration.move_to(DeclarationStatus.CANCELLED)
    declaration.cancelled_at = at
    session.query(ContributionMonth).filter(
        ContributionMonth.declaration_id == declaration.id
    ).update({ContributionMonth.status: MonthStatus.CANCELLED}, synchronize_session=False)
    return declaration


def attach_order(session: Session, declaration_no: str, order_no: str) -> Declaration:
    """Remember the payment order raised to pay this declaration by card."""
    declaration = get_declaration_for_update(session, declaration_no)
    if declaration.status is not DeclarationStatus.DECLARED:
        raise DeclarationRefused("申报单已缴费或已撤销", status=declaration.status.value)
    declaration.payment_order_no = order_no
    return declaration


def _account_credits(
    session: Session,
    declaration: Declaration,
    scheme: SchemeCode,
    column: str,
    suffix: str,
    at: datetime,
) -> int:
    """Credit each person's personal account with its part of the declaration, set-based."""
    month = ContributionMonth
    part = getattr(month, column)
    declared = select(month.person_id).where(month.declaration_id == declaration.id)
    accounts = (
        select(Enrolment.person_id, Enrolment.account_id)
        .where(
            Enrolment.scheme == scheme,
            Enrolment.account_id.is_not(None),
            Enrolment.person_id.in_(declared),
        )
        .distinct()
        .subquery()
    )
    pooled = ledger_queries.get_account(session, pooled_fund(scheme)).id
    journal = f"sb:{declaration.declaration_no}:{suffix}"
    rows = (
        select(
            literal(journal + ":") + cast(month.id, String),
            literal(journal),
            literal(pooled),
            accounts.c.account_id,
            part,
            literal(TransferKind.ACCOUNT_CREDITED.value),
            literal(TransferPhase.SINGLE.value),
            cast(null(), BigInteger),
            literal("contribution_month:") + cast(month.id, String),
            literal(at),
        )
        .select_from(month)
        .join(accounts, accounts.c.person_id == month.person_id)
        .where(month.declaration_id == declaration.id, part > 0)
    )
    wanted = (
        session.scalar(select(func.count()).where(month.declaration_id == declaration.id, part > 0))
        or 0
    )
    if not wanted:
        return 0
    written = ledger.record_journal_from(session, rows, journal_key=journal, at=at)
    if written != wanted:
        raise RuntimeError(f"{journal}: {written} account credits for {wanted} months")
    return written


def settle_declaration(
    session: Session,
    declaration_no: str,
    *,
    source_account: str,
    paid_minor: int,
    at: datetime,
    bank_reference: str | None = None,
) -> Declaration:
    """The declaration was paid in full: months paid, funds and personal accounts credited.
    Settling a paid declaration again changes nothing (the caller may retry)."""
    declaration = get_declaration_for_update(session, declaration_no)
    if declaration.status is DeclarationStatus.PAID:
        return declaration
    if paid_minor != declaration.total_minor:
        raise PaymentMismatch(declaration_no, declaration.total_minor, paid_minor)
    declaration.move_to(DeclarationStatus.PAID)
    declaration.paid_at = at
    declaration.bank_reference = bank_reference
    month = ContributionMonth
    sums = session.execute(
        select(
            *(
                func.coalesce(func.sum(getattr(month, e) + (getattr(month, i) if i else 0)), 0)
                for _s, e, i in MONTHLY_PARTS
            )
        ).where(month.declaration_id == declaration.id)
    ).one()
    journal = f"sb:{declaration.declaration_no}"
    for (scheme, _e, _i), amount in zip(MONTHLY_PARTS, sums, strict=True):
        if int(amount) > 0:
            ledger.post_transfer(
                session,
                ledger.TransferRequest(
                    transfer_key=f"{journal}:{scheme.value}",
                    debit_account=source_account,
                    credit_account=pooled_fund(scheme),
                    amount=Money(int(amount)),
                    kind=TransferKind.CONTRIBUTION_RECEIVED,
                    reference=f"declaration:{declaration.declaration_no}",
                    journal_key=journal,
                ),
                at=at,
            )
    _account_credits(
        session, declaration, SchemeCode.PENSION_EMPLOYEE, "pension_account_minor", "pa", at
    )
    _account_credits(
        session, declaration, SchemeCode.MEDICAL_EMPLOYEE, "medical_account_minor", "ma", at
    )
    session.query(month).filter(month.declaration_id == declaration.id).update(
        {month.status: MonthStatus.PAID, month.paid_on: at.astimezone(SHANGHAI).date()},
        synchronize_session=False,
    )
    return declaration


def record_employer_payment(
    session: Session, declaration_no: str, *, paid_minor: int, bank_reference: str, at: datetime
) -> Declaration:
    """The employer's bank transfer for a declaration arrived at the fund's income account."""
    if not bank_reference.strip():
        raise InvalidField("bank_reference", "required", "须填写银行到账凭证号。")
    return settle_declaration(
        session,
        declaration_no,
        source_account=EMPLOYER_TRANSFERS,
        paid_minor=paid_minor,
        at=at,
        bank_reference=bank_reference.strip()[:40],
    )


def employers_to_declare(session: Session, period: int) -> list[int]:
    """Employers with employees enrolled through them in the month and no declaration of it yet
    (the monthly declaration run takes them one by one)."""
    declared = select(Declaration.employer_id).where(
        Declaration.kind == DeclarationKind.EMPLOYER,
        Declaration.first_period == period,
        Declaration.status != DeclarationStatus.CANCELLED,
        Declaration.employer_id.is_not(None),
    )
    stmt = (
        select(Enrolment.employer_id)
        .where(
            Enrolment.employer_id.is_not(None),
            Enrolment.status == EnrolmentStatus.ACTIVE,
            Enrolment.started_on <= last_day(period),
            Enrolment.employer_id.not_in(declared),
        )
        .distinct()
        .order_by(Enrolment.employer_id)
    )
    return [int(e) for e in session.scalars(stmt) if e is not None]
