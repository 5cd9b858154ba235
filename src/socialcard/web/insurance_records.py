"""What the social-insurance staff pages show, read from the records: the console's employers
with their headcount and arrears, the unpaid declarations and the city's monthly contributions;
a person's months by year with a chart each, enrolments, account movements; an employer's
employees and declarations; a declaration's lines as CSV (ID numbers masked). Page routes are in
`web/routes/insurance_staff.py`."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from socialcard.access.services import Principal
from socialcard.http.persons import present_person
from socialcard.insurance import queries
from socialcard.insurance.declarations import current_period
from socialcard.insurance.errors import (
    ENROLMENT_STATUS_LABELS,
    KIND_LABELS,
    MONTH_SOURCE_LABELS,
    MONTH_STATUS_LABELS,
)
from socialcard.insurance.models import (
    CITY_REGION,
    Declaration,
    DeclarationStatus,
    Enrolment,
    EnrolmentStatus,
    InsuranceTransfer,
    MonthStatus,
)
from socialcard.insurance.parameters import find_rule
from socialcard.insurance.queries import AccountView, MonthLike, YearSummary
from socialcard.insurance.rules import period_label, periods_between, previous_period
from socialcard.insurance.schemes import MONTHLY_PARTS, SCHEMES, SchemeCode
from socialcard.kernel.money import Money
from socialcard.regions import queries as regions
from socialcard.registry.models import Employer, Person
from socialcard.registry.queries import find_persons_by_ids
from socialcard.web.charts import ColumnChart, ColumnItem, column_chart, yuan_text

DECLARATION_KIND_LABELS: Final = {
    "employer": "月度申报",
    "flexible": "灵活就业",
    "back_payment": "补缴",
}
TRANSFER_DIRECTION_LABELS: Final = {"out": "转出", "in": "转入"}
MOVEMENT_LABELS: Final = {
    "account_credited": "缴费划入",
    "interest_credited": "记账利息",
    "relation_transferred": "关系转移",
    "balance_migrated": "历史余额结转",
    "subsidy_received": "政府补贴",
    "contribution_received": "缴费",
    "claim_approved": "医疗费用结算",
    "adjustment": "调整",
    "reversal": "冲正",
}
COUNTERPART_LABELS: Final = {
    "external:other_regions": "异地社保经办机构",
    "external:legacy_core_system": "原社保核心系统",
    "external:employer_contributions": "单位缴费",
    "external:treasury_insurance_subsidy": "财政补贴",
}
MONTHS_CHARTED: Final = 24
DECLARABLE_MONTHS: Final = 3  # this month and the two before (older: back-payment)

# -- amounts and names ----------------------------------------------------------------------------


def fen_text(minor: int) -> str:
    """Fen as yuan with two decimals and no separator (CSV cells, form values)."""
    sign = "-" if minor < 0 else ""
    whole, fen = divmod(abs(minor), 100)
    return f"{sign}{whole}.{fen:02d}"


def persons_by_id(session: Session, person_ids: set[int]) -> dict[int, Person]:
    return {p.id: p for p in find_persons_by_ids(session, person_ids)}


def shown_name(person: Person | None, principal: Principal) -> str:
    if person is None:
        return "—"
    return present_person(person, principal.masking).name


def employer_part(month: MonthLike) -> int:
    return sum(int(getattr(month, e)) for _s, e, _i in MONTHLY_PARTS)


def individual_part(month: MonthLike) -> int:
    return sum(int(getattr(month, i)) for _s, _e, i in MONTHLY_PARTS if i)


def month_total(month: MonthLike) -> int:
    return employer_part(month) + individual_part(month)


# -- the officer's console ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmployerRow:
    employer: Employer
    county_name: str
    active: int
    suspended: int
    unpaid: int
    unpaid_minor: int
    oldest_unpaid: int | None


@dataclass(frozen=True, slots=True)
class UnpaidRow:
    declaration: Declaration
    payer: str
    href: str | None


def employer_rows(session: Session, *, search: str, limit: int = 200) -> list[EmployerRow]:
    """Employers with insured employees or unpaid declarations, those owing the oldest months
    first, then the others (up to `limit`); or those matching `search`."""
    heads: dict[int, dict[EnrolmentStatus, int]] = defaultdict(dict)
    for employer_id, status, count in session.execute(
        select(Enrolment.employer_id, Enrolment.status, func.count())
        .where(
            Enrolment.employer_id.is_not(None),
            Enrolment.scheme == SchemeCode.PENSION_EMPLOYEE,
            Enrolment.status != EnrolmentStatus.TERMINATED,
        )
        .group_by(Enrolment.employer_id, Enrolment.status)
    ).tuples():
        if employer_id is not None:
            heads[employer_id][status] = int(count)
    arrears: dict[int, tuple[int, int, int]] = {}
    for employer_id, count, amount, oldest in session.execute(
        select(
            Declaration.employer_id,
            func.count(),
            func.sum(Declaration.total_minor),
            func.min(Declaration.first_period),
        )
        .where(
            Declaration.status == DeclarationStatus.DECLARED, Declaration.employer_id.is_not(None)
        )
        .group_by(Declaration.employer_id)
    ).tuples():
        if employer_id is not None:
            arrears[employer_id] = (int(count), int(amount or 0), int(oldest))
    if search:
        stmt = select(Employer).where(
            or_(
                Employer.name.contains(search, autoescape=True),
                Employer.credit_code == search.upper(),
            )
        )
    else:
        stmt = select(Employer).where(Employer.id.in_(sorted(set(heads) | set(arrears))))
    found = list(session.scalars(stmt.order_by(Employer.id).limit(limit)))
    if not search and len(found) < limit:  # then the registered employers nobody insures yet
        known = [e.id for e in found]
        found += session.scalars(
            select(Employer)
            .where(Employer.id.not_in(known))
            .order_by(Employer.id)
            .limit(limit - len(found))
        )
    names = {r.code: r.name for r in regions.list_regions(session)}
    rows = [
        EmployerRow(
            employer=e,
            county_name=names.get(e.county_code or "", ""),
            active=heads[e.id].get(EnrolmentStatus.ACTIVE, 0) if e.id in heads else 0,
            suspended=heads[e.id].get(EnrolmentStatus.SUSPENDED, 0) if e.id in heads else 0,
            unpaid=arrears.get(e.id, (0, 0, 0))[0],
            unpaid_minor=arrears.get(e.id, (0, 0, 0))[1],
            oldest_unpaid=arrears[e.id][2] if e.id in arrears else None,
        )
        for e in found
    ]
    return sorted(
        rows,
        key=lambda r: (r.oldest_unpaid is None, r.oldest_unpaid or 0, -r.active, r.employer.id),
    )


def unpaid_declarations(session: Session, principal: Principal, limit: int = 50) -> list[UnpaidRow]:
    """Declarations waiting for their money, the oldest months first."""
    found = list(
        session.scalars(
            select(Declaration)
            .where(Declaration.status == DeclarationStatus.DECLARED)
            .order_by(Declaration.first_period, Declaration.id)
            .limit(limit)
        )
    )
    employer_ids = {d.employer_id for d in found if d.employer_id is not None}
    employers = {
        e.id: e.name for e in session.scalars(select(Employer).where(Employer.id.in_(employer_ids)))
    }
    persons = persons_by_id(session, {d.person_id for d in found if d.person_id is not None})
    rows = []
    for d in found:
        if d.employer_id is not None:
            rows.append(
                UnpaidRow(
                    d, employers.get(d.employer_id, ""), f"/insurance/employers/{d.employer_id}"
                )
            )
        elif d.person_id is not None:
            payer = shown_name(persons.get(d.person_id), principal) + "（灵活就业）"
            rows.append(UnpaidRow(d, payer, f"/insurance/persons/{d.person_id}"))
    return rows


def arrears_total(session: Session) -> tuple[int, int]:
    """Every declaration waiting for its money: how many, and how much."""
    count, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(Declaration.total_minor), 0)).where(
            Declaration.status == DeclarationStatus.DECLARED
        )
    ).one()
    return int(count), int(amount)


def monthly_chart(session: Session, at: datetime) -> tuple[ColumnChart, int, int]:
    """The city's paid contributions of the last 24 months: the chart, the total and the months
    with a payment."""
    last = current_period(at)
    first = last
    for _ in range(MONTHS_CHARTED - 1):
        first = previous_period(first)
    totals = queries.monthly_totals(session, first_period=first)
    items = []
    for index, period in enumerate(periods_between(first, last)):
        persons, amount = totals.get(period, (0, 0))
        items.append(
            ColumnItem(
                label=f"{period % 100}月",
                # The year under each January, and under the first month unless a January is
                # too close for both to fit.
                sublabel=f"{period // 100}年"
                if period % 100 == 1 or (index == 0 and period % 100 <= 10)
                else "",
                value=amount,
                title=f"{period_label(period)}：{persons:,} 人次，{Money(amount).format_yuan()}",
            )
        )
    chart = column_chart(items, height=250, show_values=False)
    return chart, sum(i.value for i in items), sum(1 for i in items if i.value)


def examples_in_force(session: Session, period: int) -> bool:
    """Whether a parameter in force this month is one of the shipped examples."""
    for scheme in SchemeCode:
        rule = find_rule(session, scheme, period)
        if rule is not None and rule.is_example:
            return True
    return False


# -- a person's record ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthRow:
    period: int
    label: str
    base_minor: int
    employer_minor: int
    individual_minor: int
    total_minor: int
    pension_account_minor: int
    medical_account_minor: int
    status: str
    status_label: str
    source_label: str
    where: str
    is_due: bool
    is_elsewhere: bool


@dataclass(frozen=True, slots=True)
class YearView:
    year: int
    summary: YearSummary
    chart: ColumnChart
    months: list[MonthRow]
    paid_minor: int
    due_minor: int
    elsewhere: list[str]


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    enrolment: Enrolment
    scheme_name: str
    kind_label: str
    status_label: str
    employer: str | None
    actions: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Movement:
    at: datetime
    label: str
    counterpart: str
    amount_minor: int


def region_names(session: Session, moved: list[InsuranceTransfer]) -> dict[str, str]:
    """Names of the regions months were paid in: Yongzhou's own, and those transfers named."""
    names = {r.code: r.name for r in regions.list_regions(session)}
    names.update({t.region_code: t.region_name for t in moved})
    names[CITY_REGION] = "永州市"
    return names


def year_views(
    months: Sequence[MonthLike], employers: dict[int, str], places: dict[str, str]
) -> list[YearView]:
    """The months by calendar year, newest year first, each with its chart of twelve months."""
    by_year: dict[int, dict[int, MonthLike]] = defaultdict(dict)
    for m in months:
        by_year[m.period // 100][m.period] = m
    summaries = {s.year: s for s in queries.summarise_by_year(months)}
    highest = max((month_total(m) for m in months), default=0)  # one scale for every year
    views = []
    for year in sorted(by_year, reverse=True):
        items: list[ColumnItem] = []
        rows: list[MonthRow] = []
        elsewhere: set[str] = set()
        for n in range(1, 13):
            period = year * 100 + n
            found = by_year[year].get(period)
            if found is None:
                items.append(ColumnItem(f"{n}月", 0, "none", f"{period_label(period)}：无缴费记录"))
                continue
            m = found
            total = month_total(m)
            away = m.region_code != CITY_REGION
            place = places.get(m.region_code, m.region_code)
            if away:
                elsewhere.add(f"{place}（{m.region_code}）" if place != m.region_code else place)
            key = {
                MonthStatus.DUE: "due",
                MonthStatus.TRANSFERRED_OUT: "moved",
            }.get(m.status, "elsewhere" if away else "paid")
            status_label = MONTH_STATUS_LABELS[m.status.value]
            where = (
                f"{place}（{m.region_code}）"
                if away
                else employers.get(m.employer_id or 0, "个人缴费" if m.employer_id is None else "")
            )
            items.append(
                ColumnItem(
                    f"{n}月",
                    total,
                    key,
                    f"{period_label(period)}：{Money(total).format_yuan()}，{status_label}"
                    + (f"，在{place}缴纳" if away else ""),
                    note=m.region_code if away else "",
                )
            )
            rows.append(
                MonthRow(
                    period=period,
                    label=period_label(period),
                    base_minor=m.base_minor,
                    employer_minor=employer_part(m),
                    individual_minor=individual_part(m),
                    total_minor=total,
                    pension_account_minor=m.pension_account_minor,
                    medical_account_minor=m.medical_account_minor,
                    status=m.status.value,
                    status_label=status_label,
                    source_label=MONTH_SOURCE_LABELS[m.source.value],
                    where=where,
                    is_due=m.status is MonthStatus.DUE,
                    is_elsewhere=away,
                )
            )
        views.append(
            YearView(
                year=year,
                summary=summaries.get(year, YearSummary(year)),
                chart=column_chart(
                    items, height=170, margin_top=24, value_text=yuan_text, scale_max=highest
                ),
                months=rows,
                paid_minor=sum(r.total_minor for r in rows if not r.is_due),
                due_minor=sum(r.total_minor for r in rows if r.is_due),
                elsewhere=sorted(elsewhere),
            )
        )
    return views


def enrolment_rows(
    enrolments: list[tuple[Enrolment, str | None]], *, may_change: bool
) -> list[EnrolmentRow]:
    rows = []
    for e, employer in enrolments:
        actions: list[tuple[str, str]] = []
        if may_change and e.status is EnrolmentStatus.ACTIVE:
            actions = [("suspend", "暂停缴费"), ("terminate", "终止参保")]
        elif may_change and e.status is EnrolmentStatus.SUSPENDED:
            actions = [("resume", "恢复缴费"), ("terminate", "终止参保")]
        rows.append(
            EnrolmentRow(
                enrolment=e,
                scheme_name=SCHEMES[e.scheme].name,
                kind_label=KIND_LABELS[e.kind.value],
                status_label=ENROLMENT_STATUS_LABELS[e.status.value],
                employer=employer,
                actions=actions,
            )
        )
    return rows


def movements(view: AccountView | None) -> list[Movement]:
    if view is None:
        return []
    return [
        Movement(
            at=line.created_at,
            label=MOVEMENT_LABELS.get(line.kind, line.kind),
            counterpart=counterpart_label(line.counterpart),
            amount_minor=line.amount_minor,
        )
        for line in view.latest
    ]


def counterpart_label(code: str) -> str:
    if code in COUNTERPART_LABELS:
        return COUNTERPART_LABELS[code]
    if code.startswith("fund:"):
        scheme = code.split(":")[1]
        return (
            f"{SCHEMES[SchemeCode(scheme)].short_name}统筹基金" if scheme in SCHEMES else "统筹基金"
        )
    if code.startswith("department:") or code.startswith("income:"):
        return "社保卡银行账户缴费"
    return code


# -- an employer ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmployeeRow:
    enrolment: Enrolment
    name: str
    resident_id_masked: str
    status_label: str


@dataclass(frozen=True, slots=True)
class DeclarationRow:
    declaration: Declaration
    kind_label: str
    status_label: str
    span: str


def declarable_periods(at: datetime) -> list[int]:
    """The months an employer declares as regular ones: this month and the two before."""
    period = current_period(at)
    periods = [period]
    for _ in range(DECLARABLE_MONTHS - 1):
        period = previous_period(period)
        periods.append(period)
    return periods


def span_of(declaration: Declaration) -> str:
    text = period_label(declaration.first_period)
    if declaration.last_period != declaration.first_period:
        text += "至" + period_label(declaration.last_period)
    return text


CSV_HEADER: Final = (
    "申报单号",
    "费款所属期",
    "社会保障号码",
    "姓名",
    "缴费基数",
    "养老单位",
    "养老个人",
    "医疗单位",
    "医疗个人",
    "失业单位",
    "失业个人",
    "工伤单位",
    "生育单位",
    "单位合计",
    "个人合计",
    "合计",
    "状态",
)


def declaration_csv(
    session: Session, declaration: Declaration, principal: Principal
) -> tuple[str, int]:
    """A declaration's lines as CSV for Excel (UTF-8 with BOM) and how many: ID numbers masked,
    names as the viewer's role shows them, amounts in yuan."""
    lines = queries.declaration_months(session, declaration.id)
    persons = persons_by_id(session, {m.person_id for m in lines})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for m in lines:
        person = persons.get(m.person_id)
        writer.writerow(
            [
                declaration.declaration_no,
                str(m.period),
                person.resident_id_masked if person is not None else "",
                shown_name(person, principal),
                fen_text(m.base_minor),
                *(
                    fen_text(int(getattr(m, column)))
                    for _s, e, i in MONTHLY_PARTS
                    for column in (e, i)
                    if column
                ),
                fen_text(employer_part(m)),
                fen_text(individual_part(m)),
                fen_text(month_total(m)),
                MONTH_STATUS_LABELS[m.status.value],
            ]
        )
    return "\ufeff" + out.getvalue(), len(lines)
