"""What a holder may do on 我的社保, worked out for the forms before anything is written: the
years and grades a resident contribution can be paid in, a flexible worker's month, whom a
contribution is for (oneself or a family member), what an enrolment would open, whether the
relation can be transferred out. The routes (web.routes.insurance_holder) show these and, once the
holder confirms with the card, call the services."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final, Literal

from sqlalchemy.orm import Session

from socialcard.bootstrap import Platform
from socialcard.errors import InvalidField
from socialcard.http.context import RequestContext
from socialcard.insurance import declarations, enrolment, queries, resident, transfers
from socialcard.insurance.models import (
    EnrolmentKind,
    EnrolmentStatus,
    MonthStatus,
)
from socialcard.insurance.parameters import get_rule, monthly_rule, tiers_of
from socialcard.insurance.rules import (
    clamp_base,
    month_parts,
    period_label,
    period_of,
    periods_between,
    previous_period,
)
from socialcard.insurance.schemes import (
    FLEXIBLE_SCHEMES,
    RESIDENT_SCHEMES,
    SCHEMES,
    SchemeCode,
)
from socialcard.kernel.clock import SHANGHAI, local_today
from socialcard.kernel.money import Money
from socialcard.kernel.resident_id import InvalidResidentId, ResidentId
from socialcard.registry.queries import find_person_by_resident_id
from socialcard.web.insurance_overview import declaration_views, yuan

Door = Literal["portal", "kiosk"]
# How an issued document, a declaration or an enrolment names the door it came through.
RECORD_CHANNELS: Final[dict[str, str]] = {"portal": "web", "kiosk": "kiosk"}
NEXT_YEAR_FROM_MONTH: Final = resident.NEXT_YEAR_FROM_MONTH
REGION_PATTERN: Final = re.compile(r"[1-8]\d{5}")


def whole_number(text: str, name: str, message: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidField(name, "integer", message) from None


@dataclass(frozen=True, slots=True)
class Grade:
    amount_minor: int
    text: str


@dataclass(frozen=True, slots=True)
class ResidentOption:
    """A resident year the holder may pay for themselves."""

    form: str
    scheme: str
    scheme_name: str
    year: int
    grades: list[Grade]  # the pension's grades; the medical contribution's one amount
    chosen: int | None
    paid: bool


@dataclass(frozen=True, slots=True)
class FlexibleOption:
    """A flexible worker's months to declare, on the base on record."""

    base_minor: int
    month_minor: int
    parts: list[tuple[str, int]]
    periods: list[tuple[int, str]]  # months with no record yet: (yyyymm, label)


def grades_of(session: Session, scheme: SchemeCode, year: int) -> list[Grade]:
    tiers = tiers_of(get_rule(session, scheme, year * 100 + 1))
    word = "政府补贴" if scheme is SchemeCode.PENSION_RESIDENT else "财政补助"
    return [
        Grade(t.amount_minor, f"{yuan(t.amount_minor)}（{word} {yuan(t.subsidy_minor)}）")
        for t in tiers
    ]


def payable_years(at: datetime) -> list[int]:
    """This year, and from September next year's resident medical contribution."""
    today = at.astimezone(SHANGHAI).date()
    return [today.year] + ([today.year + 1] if today.month >= NEXT_YEAR_FROM_MONTH else [])


def flexible_month(session: Session, wage_minor: int, period: int) -> FlexibleOption:
    """What one month costs a flexible worker on this wage (base clamped, the flexible rate)."""
    parts, base = [], wage_minor
    for scheme in FLEXIBLE_SCHEMES:
        rule = monthly_rule(get_rule(session, scheme, period))
        base = clamp_base(wage_minor, rule)
        paid = month_parts(base, rule, flexible=True)
        parts.append((SCHEMES[scheme].short_name, paid.employer_minor + paid.individual_minor))
    return FlexibleOption(base, sum(p for _n, p in parts), parts, [])


def declarable_months(
    session: Session, person_id: int, *, since: date, at: datetime
) -> list[tuple[int, str]]:
    """The months a flexible worker may declare: three months back (not before the enrolment
    began) to December, less those already on record."""
    now = declarations.current_period(at)
    oldest = max(previous_period(previous_period(now)), period_of(since))
    taken = {m.period for m in queries.contribution_months(session, person_id, since_period=oldest)}
    return [
        (p, period_label(p))
        for p in periods_between(oldest, (now // 100) * 100 + 12)
        if p not in taken
    ]


def pay_values(session: Session, person_id: int, *, at: datetime) -> dict[str, object]:
    this_year = at.astimezone(SHANGHAI).year
    years = payable_years(at)
    active = {
        e.scheme: e
        for e in queries.open_enrolments(session, person_id)
        if e.status is EnrolmentStatus.ACTIVE
    }
    recorded = {
        (r.scheme, r.year): r for r in queries.list_resident_contributions(session, person_id)
    }
    own = []
    for scheme in RESIDENT_SCHEMES:
        mine = active.get(scheme)
        if mine is None or mine.kind is not EnrolmentKind.RESIDENT:
            continue
        for year in years if scheme is SchemeCode.MEDICAL_RESIDENT else [this_year]:
            existing = recorded.get((scheme, year))
            own.append(
                ResidentOption(
                    form=f"own:{scheme.value}:{year}",
                    scheme=scheme.value,
                    scheme_name=SCHEMES[scheme].name,
                    year=year,
                    grades=grades_of(session, scheme, year),
                    chosen=mine.wage_minor,
                    paid=existing is not None and existing.status is not MonthStatus.DUE,
                )
            )
    flexible = None
    working = next((e for e in active.values() if e.kind is EnrolmentKind.FLEXIBLE), None)
    if working is not None and working.wage_minor:
        period = declarations.current_period(at)
        flexible = replace(
            flexible_month(session, working.wage_minor, period),
            periods=declarable_months(session, person_id, since=working.started_on, at=at),
        )
    return {
        "own": own,
        "years": years,
        "family_grades": grades_of(session, SchemeCode.PENSION_RESIDENT, this_year),
        "medical_amounts": {
            year: grades_of(session, SchemeCode.MEDICAL_RESIDENT, year)[0].text for year in years
        },
        "flexible": flexible,
        "unpaid": declaration_views(session, person_id),
    }


@dataclass(frozen=True, slots=True)
class ResidentPlan:
    insured_id: int | None  # None: the holder
    scheme: SchemeCode
    year: int
    amount_minor: int | None


def family_member(platform: Platform, resident_id: str, name: str) -> int:
    """The family member named by ID number and name, both as registered."""
    try:
        number = ResidentId.parse(resident_id.strip(), today=local_today(platform.clock))
    except InvalidResidentId:
        raise InvalidField(
            "resident_id", "resident_id", "号码格式不正确（18 位，末位可能为 X）。"
        ) from None
    if not name.strip():
        raise InvalidField("name", "required", "请填写家庭成员的姓名。")
    with platform.session() as session:
        person = find_person_by_resident_id(session, platform.keys, number)
        if person is None or person.name != name.strip():
            # One answer for both: nobody learns whether a number is registered.
            raise InvalidField(
                "name", "registered_name", "与社会保障号码在户籍登记中的姓名不一致，请核对。"
            )
        return person.id


def resident_plan(
    platform: Platform,
    ctx: RequestContext,
    *,
    scheme: str,
    year: str,
    grade: str,
    family: bool,
    resident_id: str,
    name: str,
) -> ResidentPlan:
    """Check the form and rehearse the contribution (enrolled, grade, year, not paid yet) in a
    transaction that is rolled back: what will be paid, with nothing written."""
    try:
        code = SchemeCode(scheme)
    except ValueError:
        raise InvalidField("scheme", "resident_scheme", "请选择险种。") from None
    if code not in RESIDENT_SCHEMES:
        raise InvalidField("scheme", "resident_scheme", "请选择城乡居民险种。")
    chosen_year = whole_number(year, "year", "请选择缴费年度。")
    amount = None
    if code is SchemeCode.PENSION_RESIDENT and grade.strip():
        amount = whole_number(grade, "grade", "请选择缴费档次。")
    insured = family_member(platform, resident_id, name) if family else None
    payer = ctx.require_holder().person_id
    with platform.session() as session:
        resident.order_resident_contribution(
            session,
            person_id=insured or payer,
            payer_person_id=payer,
            scheme=code,
            year=chosen_year,
            amount_minor=amount,
            at=platform.clock.now(),
        )
        session.rollback()
    return ResidentPlan(insured, code, chosen_year, amount)


@dataclass(frozen=True, slots=True)
class BaseRange:
    """The monthly base a flexible worker may declare, from the rules in force."""

    floor_minor: int
    ceiling_minor: int
    rates: list[tuple[str, str]]  # (scheme, flexible rate as text)


def base_range(session: Session, period: int) -> BaseRange:
    rules = {s: get_rule(session, s, period) for s in FLEXIBLE_SCHEMES}
    return BaseRange(
        floor_minor=max(r.base_floor_minor for r in rules.values()),
        ceiling_minor=min(r.base_ceiling_minor for r in rules.values()),
        rates=[(SCHEMES[s].name, f"{r.flexible_rate_bp / 100:g}%") for s, r in rules.items()],
    )


@dataclass(frozen=True, slots=True)
class EnrolPlan:
    request: enrolment.EnrolRequest
    lines: list[tuple[str, str]]  # what the confirmation step shows


def enrol_plan(
    platform: Platform,
    person_id: int,
    door: Door,
    *,
    kind: str,
    grade: str,
    schemes: Sequence[str],
    wage: str,
) -> EnrolPlan:
    """Check the form, then rehearse the enrolment in a transaction rolled back (eligibility,
    another open relation of the same scheme): the request to confirm, and what it will do."""
    at = platform.clock.now()
    today = at.astimezone(SHANGHAI).date()
    started_on = today.replace(day=1)
    period = period_of(started_on)
    lines: list[tuple[str, str]]
    with platform.session() as session:
        if kind == EnrolmentKind.RESIDENT.value:
            chosen = tuple(s for s in RESIDENT_SCHEMES if s.value in schemes)
            if not chosen:
                raise InvalidField("schemes", "required", "请至少选择一个险种。")
            grade_minor = None
            lines = [("参保身份", "城乡居民"), ("参保日期", started_on.isoformat())]
            if SchemeCode.PENSION_RESIDENT in chosen:
                grades = {
                    g.amount_minor: g.text
                    for g in grades_of(session, SchemeCode.PENSION_RESIDENT, today.year)
                }
                grade_minor = whole_number(grade or "0", "grade", "请选择缴费档次。")
                if grade_minor not in grades:
                    raise InvalidField("grade", "tier", "请选择缴费档次。")
                lines.append(("城乡居民基本养老保险", f"每年缴费 {grades[grade_minor]}"))
            if SchemeCode.MEDICAL_RESIDENT in chosen:
                amount = grades_of(session, SchemeCode.MEDICAL_RESIDENT, today.year)[0].text
                lines.append(("城乡居民基本医疗保险", f"{today.year}年度个人缴费 {amount}"))
            lines.append(("缴费方式", "每年在“我的社保—缴费”中用社保卡银行账户缴纳"))
            request = enrolment.EnrolRequest(
                person_id=person_id, kind=EnrolmentKind.RESIDENT, started_on=started_on,
                channel=RECORD_CHANNELS[door], wage_minor=grade_minor, schemes=chosen,
            )  # fmt: skip
        elif kind == EnrolmentKind.FLEXIBLE.value:
            allowed = base_range(session, period)
            try:
                wage_minor = Money.yuan(wage.strip().replace(",", "")).minor
            except (ArithmeticError, ValueError):
                raise InvalidField("wage", "amount", "请按元填写，如 5000 或 5000.00。") from None
            if not allowed.floor_minor <= wage_minor <= allowed.ceiling_minor:
                raise InvalidField(
                    "wage",
                    "base_range",
                    f"应在 {yuan(allowed.floor_minor)} 至 {yuan(allowed.ceiling_minor)} 之间。",
                )
            month = flexible_month(session, wage_minor, period)
            parts = "、".join(f"{n} {yuan(v)}" for n, v in month.parts)
            lines = [
                ("参保身份", "灵活就业人员"),
                ("参保险种", "、".join(SCHEMES[s].name for s in FLEXIBLE_SCHEMES)),
                ("参保日期", started_on.isoformat()),
                ("月缴费基数", yuan(wage_minor)),
                ("每月应缴", f"{yuan(month.month_minor)}（{parts}）"),
                ("缴费方式", "按月申报，用社保卡银行账户缴纳"),
            ]
            request = enrolment.EnrolRequest(
                person_id=person_id, kind=EnrolmentKind.FLEXIBLE, started_on=started_on,
                channel=RECORD_CHANNELS[door], wage_minor=wage_minor,
            )  # fmt: skip
        else:
            raise InvalidField("kind", "enrolment_kind", "请选择参保身份。")
        open_now = {
            (e.scheme, e.kind): e
            for e in queries.open_enrolments(session, person_id)
            if e.status is EnrolmentStatus.ACTIVE
        }
        for scheme in request.schemes or FLEXIBLE_SCHEMES:
            if (scheme, request.kind) in open_now:
                raise InvalidField(
                    "kind", "enrolled", f"您已参加“{SCHEMES[scheme].name}”，无需重复登记。"
                )
        enrolment.enrol(session, request, at=at)
        session.rollback()
    return EnrolPlan(request, lines)


@dataclass(frozen=True, slots=True)
class TransferState:
    """What a transfer out would move now."""

    schemes: list[str]
    paid_months: int
    due_months: int
    pension_minor: int
    medical_minor: int


def transfer_state(session: Session, person_id: int) -> TransferState:
    months = queries.contribution_months(session, person_id)
    balances = {
        scheme: view.balance_minor if view else 0
        for scheme in (SchemeCode.PENSION_EMPLOYEE, SchemeCode.MEDICAL_EMPLOYEE)
        for view in [queries.account_view(session, person_id, scheme, latest=0)]
    }
    return TransferState(
        schemes=[
            SCHEMES[e.scheme].name
            for e in queries.open_enrolments(session, person_id)
            if e.family in transfers.TRANSFERABLE
        ],
        paid_months=sum(1 for m in months if m.status is MonthStatus.PAID),
        due_months=sum(1 for m in months if m.status is MonthStatus.DUE),
        pension_minor=balances[SchemeCode.PENSION_EMPLOYEE],
        medical_minor=balances[SchemeCode.MEDICAL_EMPLOYEE],
    )


def check_region(region_code: str, region_name: str) -> tuple[str, str]:
    """The receiving region as the form gave it: a GB/T 2260 code outside Yongzhou, a name."""
    code, name = region_code.strip(), region_name.strip()
    if not REGION_PATTERN.fullmatch(code):
        raise InvalidField("region_code", "gb2260", "应为 6 位行政区划代码，如 440305。")
    if code.startswith("4311"):
        raise InvalidField("region_code", "other_region", "永州市内的县区之间不需要转移。")
    if not name or len(name) > 60:
        raise InvalidField("region_name", "required", "请填写转入地名称（不超过 60 字）。")
    return code, name
