"""The demo city's social insurance: ten years of history as the legacy core system hands it over,
then the last two months through the real services.

About one working-age resident in ten works for one of the 20 demo employers (more in the two
city districts; others left, a few changed employer), a few hundred are flexible workers
(灵活就业), and most other residents are in the resident schemes. The employees' and flexible
workers' months from ten years back up to the cutover two months ago, and the residents' yearly
contributions of the last RESIDENT_YEARS years, are computed with the real arithmetic
(`declarations.month_row` on the rules in force each month, each year's resident tiers) and
carried over through `insurance.history` in bulk: months, resident years, the pension accounts'
settled years and their opening balances in the ledger. Every employer then declares and pays the
last two months through the declaration services (two leave their latest months unpaid:
arrears), some flexible workers declare months they have not paid, one person's relation comes
in from 深圳 with a transfer data file and another's goes out to 东莞.

Rows are plain dicts copied from one computed row per wage and rule set; the volumes are what
the demo's start can afford (PERFORMANCE W6, docs/benchmarks.md).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.access.models import Staff
from socialcard.bootstrap import Platform
from socialcard.cards.models import IN_HAND, Card
from socialcard.db import transaction
from socialcard.insurance import declarations
from socialcard.insurance.declarations import Insured, month_row, rules_of
from socialcard.insurance.history import (
    MigratedEnrolment,
    migrate_enrolments,
    migrate_months,
    migrate_resident_years,
    settle_migrated_accounts,
)
from socialcard.insurance.models import (
    CITY_REGION,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    MonthSource,
)
from socialcard.insurance.parameters import get_rule, interest_rate, tiers_of
from socialcard.insurance.rules import MonthlyRule, Tier, share, tier_for, year_interest
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, FLEXIBLE_SCHEMES, SCHEMES, SchemeCode
from socialcard.insurance.transfers import (
    FILE_FORMAT,
    MONTH_FIELDS,
    POOLED_SHARE_BP,
    transfer_in,
    transfer_out,
)
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import sm3_hex
from socialcard.registry.models import Employer, Person, PersonStatus

HISTORY_MONTHS: Final = 120  # ten years of months, this one included
LIVE_MONTHS: Final = 2  # declared here after the cutover (within the regular window of 3)
CHANNEL: Final = "migration"
# Of the working-age residents, those employed by a demo employer in the ten years: about one in
# ten is employed there now (the rest left or, for the city's other employers, is not in the demo).
EMPLOYEE_SHARE: Final = 0.118
FLEXIBLE_SHARE: Final = 0.025
LEFT_SHARE: Final = 0.15  # employees who left their employer (enrolments suspended)
CHANGED_SHARE: Final = 0.05  # employees who moved to another demo employer
HIRED_BEFORE_SHARE: Final = 0.35  # hired before the history starts
LOCAL_HIRE_SHARE: Final = 0.85  # employees living in the employer's county
CITY_DISTRICTS: Final = ("431102", "431103")
# Relative size and median monthly wage of 2026 (yuan) of each demo employer (demo.reference).
EMPLOYER_PROFILES: Final[dict[str, tuple[float, int]]] = {
    "永州潇湘电子科技有限公司": (14, 6800),
    "永州市冷水滩区湘江物流有限公司": (9, 6000),
    "永州凤凰园商贸有限公司": (7, 5200),
    "永州市零陵区柳子文化旅游有限公司": (5, 5000),
    "永州市零陵区萍洲食品有限公司": (8, 5000),
    "祁阳浯溪纺织有限公司": (10, 4800),
    "祁阳市白水农业开发有限公司": (3, 4300),
    "东安县紫溪建材有限公司": (5, 5300),
    "东安县芦洪市餐饮管理有限公司": (3, 4200),
    "双牌县阳明山林业开发有限公司": (2, 4500),
    "道县濂溪电子有限公司": (8, 5600),
    "道县寿雁脐橙农民专业合作社": (1.5, 3900),
    "江永县香柚农业开发有限公司": (2, 4200),
    "宁远县九嶷山旅游开发有限公司": (3, 4600),
    "宁远县舜陵建筑工程有限公司": (5, 5800),
    "蓝山县塔峰皮具制造有限公司": (6, 4700),
    "新田县富硒农产品有限公司": (2, 4300),
    "江华瑶族自治县瑶都电机有限公司": (6, 5600),
    "江华瑶族自治县沱江水电有限公司": (2, 7200),
    "永州市人力资源服务有限公司": (7, 5000),
}
WAGE_MIN_MINOR: Final = 300_000
WAGE_MAX_MINOR: Final = 1_500_000
# Employers whose latest months are declared and not paid (arrears): name → months unpaid.
ARREARS: Final = {"东安县芦洪市餐饮管理有限公司": 2, "蓝山县塔峰皮具制造有限公司": 1}
# Resident pension grades (yuan a year) and how often each is chosen: mostly the lowest.
GRADE_WEIGHTS: Final = {
    200: 42, 300: 18, 400: 8, 500: 12, 600: 4, 700: 2, 800: 2, 900: 1, 1000: 7, 1500: 2,
    2000: 1.5, 3000: 0.5,
}  # fmt: skip
RESIDENT_MEDICAL_SHARE: Final = 0.96
YEAR_MISSED_SHARE: Final = 0.04  # resident years not paid
HABIT_DAYS: Final = 200  # resident contributions are collected from September to March
# Years of resident contributions carried over, this one included. Ten years of every resident
# (240,000 contributions, 85,000 settled pension years) take the demo's start far past
# PERFORMANCE W6 through the insurance area's bulk paths (docs/benchmarks.md W6).
RESIDENT_YEARS: Final = 3
FLEXIBLE_DUE_SHARE: Final = 0.1  # flexible workers with declared, unpaid live months
# Another region's contribution parameters, for the history that comes in from 深圳 (illustrative).
SHENZHEN: Final = ("440300", "广东省深圳市")
TRANSFER_OUT_TO: Final = ("441900", "广东省东莞市")
_SHENZHEN_BASE: Final = (220_000, 2_500_000)
SHENZHEN_RULES: Final = {
    SchemeCode.PENSION_EMPLOYEE: MonthlyRule(*_SHENZHEN_BASE, 1400, 800, 800, 2000),
    SchemeCode.MEDICAL_EMPLOYEE: MonthlyRule(*_SHENZHEN_BASE, 600, 200, 200, 800),
    SchemeCode.UNEMPLOYMENT: MonthlyRule(*_SHENZHEN_BASE, 70, 30, 0, 0),
    SchemeCode.WORK_INJURY: MonthlyRule(*_SHENZHEN_BASE, 40, 0, 0, 0),
    SchemeCode.MATERNITY: MonthlyRule(*_SHENZHEN_BASE, 45, 0, 0, 0),
}
TRANSFERRED_SCHEMES: Final = (
    SchemeCode.PENSION_EMPLOYEE,
    SchemeCode.MEDICAL_EMPLOYEE,
    SchemeCode.UNEMPLOYMENT,
)
CLERK: Final = "lingling_clerk"  # the demo's social-security counter clerk handles transfers


@dataclass(frozen=True, slots=True)
class DemoInsurance:
    """What create_demo_insurance made (persons, rows, the live months and the transfers)."""

    employees: int  # persons employed by a demo employer in the ten years
    employees_left: int  # of them, those who left (enrolments suspended)
    employer_changes: int  # of them, those who moved to another demo employer
    flexible: int
    resident_pension: int  # open resident pension enrolments
    resident_medical: int  # open resident medical enrolments
    months: int  # migrated contribution months
    resident_years: int  # migrated resident contributions (person, scheme, year)
    pension_years: int  # settled pension account years
    opening_transfers: int  # balances carried into the ledger
    declarations_paid: int
    declarations_due: int  # declared and not paid (employers' and flexible workers' arrears)
    arrears_employer: str | None  # the employer with two months of arrears
    transfer_in: str | None  # transfer number of the relation that came in from 深圳
    transfer_out: str | None
    transfer_file: Path | None  # the data file 深圳 sent


def demo_insurance_exists(session: Session) -> bool:
    """Tell whether the insurance part was made already (any enrolment is there)."""
    return session.scalar(select(func.count()).select_from(Enrolment)) != 0


# -- months as indexes (year × 12 + month − 1), which random draws and ranges need ---------------


def _period(index: int) -> int:
    return (index // 12) * 100 + index % 12 + 1


def _index_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def _day(index: int, day: int) -> date:
    return date(index // 12, index % 12 + 1, day)


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return date(born.year + years, 3, 1)


def _moment(index: int, day: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, day, 10, 0, tzinfo=SHANGHAI)


@dataclass(frozen=True, slots=True)
class _Calendar:
    """The months of the demo: ten years up to this month; the last two are live."""

    now: datetime
    current: int

    @property
    def first(self) -> int:
        return self.current - HISTORY_MONTHS + 1

    @property
    def cutover(self) -> int:
        return self.current - LIVE_MONTHS + 1

    @property
    def last(self) -> int:  # the last migrated month
        return self.cutover - 1

    @property
    def cutover_on(self) -> date:
        return _day(self.cutover, 1)

    @property
    def migrated_at(self) -> datetime:
        return _moment(self.cutover, 1)

    def at(self, index: int, day: int) -> datetime:
        """A moment in a month, never after now."""
        return min(self.now, _moment(index, day))


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    birth_on: date
    county: str
    household: str | None


@dataclass(slots=True)
class _Job:
    employer_id: int
    first: int  # month index of the first month paid through the employer
    last: int  # … and of the last migrated one


@dataclass(slots=True)
class _Employee:
    person: _Person
    hired_on: date
    jobs: list[_Job]
    wage_minor: int  # this year's monthly wage
    growth_bp: int  # yearly wage growth
    left_on: date | None = None
    from_shenzhen: bool = False

    def wage_in(self, year: int, this_year: int) -> int:
        """The monthly wage of a year: this year's, less the growth of the years between."""
        wage = self.wage_minor / (1 + self.growth_bp / 10_000) ** (this_year - year)
        return max(round(wage / 1000) * 1000, 100_000)


@dataclass(slots=True)
class _Flexible:
    person: _Person
    started_on: date
    grade_bp: int  # the declared base as a share of the floor
    months: list[int] = field(default_factory=list)
    stopped_on: date | None = None


class _MonthRows:
    """Contribution months with the real arithmetic: the rules fetched once per month, one row
    computed per (rules in force, kind, wage, schemes) and copied for every person and month."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._rules: dict[int, dict[SchemeCode, MonthlyRule]] = {}
        self._rule_keys: dict[int, int] = {}
        self._distinct: dict[tuple[MonthlyRule, ...], int] = {}
        self._templates: dict[tuple[object, ...], dict[str, object]] = {}

    def rules(self, period: int) -> dict[SchemeCode, MonthlyRule]:
        found = self._rules.get(period)
        if found is None:
            found = self._rules[period] = rules_of(self._session, period)
            key = tuple(found[s] for s in EMPLOYEE_SCHEMES)
            self._rule_keys[period] = self._distinct.setdefault(key, len(self._distinct))
        return found

    def floor(self, period: int) -> int:
        return self.rules(period)[SchemeCode.PENSION_EMPLOYEE].base_floor_minor

    def row(
        self,
        insured: Insured,
        period: int,
        paid_on: date,
    ) -> dict[str, object]:
        rules = self.rules(period)
        key = (self._rule_keys[period], insured.kind, insured.wage_minor, insured.schemes)
        template = self._templates.get(key)
        if template is None:
            template = month_row(insured, period, rules, source=MonthSource.MIGRATED)
            self._templates[key] = template
        row = dict(template)
        row["person_id"] = insured.person_id
        row["employer_id"] = insured.employer_id
        row["period"] = period
        row["paid_on"] = paid_on
        return row


def _living(session: Session, today: date) -> list[_Person]:
    stmt = (
        select(Person.id, Person.birth_on, Person.residence_county_code, Person.household_address)
        .where(Person.status == PersonStatus.LIVING, Person.birth_on <= today)
        .order_by(Person.id)
    )
    return [
        _Person(int(pid), born, county or "431100", household)
        for pid, born, county, household in session.execute(stmt).tuples()
    ]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# -- who works where ------------------------------------------------------------------------------


def _take(pools: dict[str, list[_Person]], county: str, rng: random.Random) -> _Person | None:
    """A person for an employer of `county`: mostly one living there, else from anywhere."""
    home = [county] if county in pools else list(CITY_DISTRICTS)
    candidates = [c for c in home if pools.get(c)] if rng.random() < LOCAL_HIRE_SHARE else []
    if not candidates:
        candidates = [c for c, members in pools.items() if members]
    if not candidates:
        return None
    chosen = rng.choices(candidates, weights=[len(pools[c]) for c in candidates])[0]
    return pools[chosen].pop()


def _plan_employees(
    persons: list[_Person],
    employers: list[tuple[int, str, str]],
    cal: _Calendar,
    rng: random.Random,
) -> list[_Employee]:
    """Employees of the demo employers: quotas by size, hire dates over the ten years (some
    before), wages around each employer's median, some who left, a few who moved on."""
    today = cal.now.astimezone(SHANGHAI).date()
    working = [
        p
        for p in persons
        if 18 <= _age(p.birth_on, today) <= 59
        and _index_of(_birthday(p.birth_on, 18)) <= cal.last - 1
    ]
    pools: dict[str, list[_Person]] = defaultdict(list)
    for person in working:
        pools[person.county].append(person)
    for members in pools.values():
        rng.shuffle(members)
    weights = {e: EMPLOYER_PROFILES.get(name, (2.0, 4500))[0] for e, name, _c in employers}
    total = sum(weights.values())
    wanted = round(len(working) * EMPLOYEE_SHARE)
    ids = [e for e, _n, _c in employers]
    plans: list[_Employee] = []
    anchors = set()  # each employer's first employee stays: every employer declares
    for employer_id, name, county in employers:
        median = EMPLOYER_PROFILES.get(name, (2.0, 4500))[1] * 100
        quota = max(1, round(wanted * weights[employer_id] / total))
        for n in range(quota):
            hired = _take(pools, county, rng)
            if hired is None:
                break
            plans.append(_plan_one(hired, employer_id, median, n == 0, ids, weights, cal, rng))
            if n == 0:
                anchors.add(hired.id)
    if not any(e.left_on for e in plans):  # a small city still has someone who left
        movable = [
            e
            for e in plans
            if e.person.id not in anchors and len(e.jobs) == 1 and cal.last - e.jobs[0].first >= 6
        ]
        if movable:
            _leave(movable[-1], cal, rng)
    return plans


def _plan_one(
    person: _Person,
    employer_id: int,
    median_minor: int,
    keep: bool,
    employer_ids: list[int],
    weights: dict[int, float],
    cal: _Calendar,
    rng: random.Random,
) -> _Employee:
    adult = _index_of(_birthday(person.birth_on, 18)) + 1
    if rng.random() < HIRED_BEFORE_SHARE and adult < cal.first:
        hired = rng.randint(max(adult, cal.first - 144), cal.first - 1)
    else:
        hired = rng.randint(max(adult, cal.first), cal.last)
    hired_on = _day(hired, rng.randint(1, 28))
    wage = median_minor * rng.lognormvariate(0, 0.3)
    employee = _Employee(
        person=person,
        hired_on=hired_on,
        jobs=[_Job(employer_id, max(hired, cal.first), cal.last)],
        wage_minor=round(min(max(wage, WAGE_MIN_MINOR), WAGE_MAX_MINOR) / 1000) * 1000,
        growth_bp=rng.randint(300, 700),
    )
    served = cal.last - employee.jobs[0].first
    roll = rng.random()
    if keep or served < 6:
        return employee
    if roll < LEFT_SHARE:
        _leave(employee, cal, rng)
    elif roll < LEFT_SHARE + CHANGED_SHARE and served >= 18:
        moved = rng.randint(employee.jobs[0].first + 12, cal.last - 1)
        others = [e for e in employer_ids if e != employer_id]
        target = rng.choices(others, weights=[weights[e] for e in others])[0]
        start = min(moved + rng.choice((0, 0, 1, 2)), cal.last)
        employee.jobs = [
            _Job(employer_id, employee.jobs[0].first, moved - 1),
            _Job(target, start, cal.last),
        ]
    return employee


def _leave(employee: _Employee, cal: _Calendar, rng: random.Random) -> None:
    job = employee.jobs[0]
    left = rng.randint(job.first + 4, cal.last)
    employee.left_on = _day(left, rng.randint(1, 28))
    job.last = left - 1


def _plan_flexible(
    persons: list[_Person], taken: set[int], cal: _Calendar, rng: random.Random
) -> list[_Flexible]:
    """Flexible workers: their own base (mostly the floor), regular payers, irregular ones and
    some who stopped paying."""
    today = cal.now.astimezone(SHANGHAI).date()
    pool = [
        p
        for p in persons
        if p.id not in taken
        and 22 <= _age(p.birth_on, today) <= 59
        and _index_of(_birthday(p.birth_on, 22)) <= cal.last - 3
    ]
    working = sum(1 for p in persons if 18 <= _age(p.birth_on, today) <= 59)
    wanted = round(working * FLEXIBLE_SHARE)
    rng.shuffle(pool)
    chosen = [p for p in pool if p.county in CITY_DISTRICTS or rng.random() < 0.5][:wanted]
    plans = []
    for person in chosen:
        adult = _index_of(_birthday(person.birth_on, 22)) + 1
        if rng.random() < 0.3 and adult < cal.first:
            started = rng.randint(max(adult, cal.first - 48), cal.first - 1)
        else:
            started = rng.randint(max(adult, cal.first), cal.last - 2)
        plan = _Flexible(
            person, _day(started, rng.randint(1, 28)), rng.choice((10_000,) * 7 + (13_000, 16_000))
        )
        first = max(started, cal.first)
        roll = rng.random()
        if roll < 0.6:  # pays every month
            plan.months = list(range(first, cal.last + 1))
        elif roll < 0.85:  # pays, stops for a while, pays again
            paying = True
            for index in range(first, cal.last + 1):
                if paying:
                    plan.months.append(index)
                paying = rng.random() > 0.04 if paying else rng.random() < 0.3
        else:  # stopped paying
            stop = rng.randint(min(first + 1, cal.last), cal.last)
            plan.months = list(range(first, stop))
            if cal.last - stop >= 5:
                plan.stopped_on = _day(stop, 1)
        if plan.months:
            plans.append(plan)
    return plans


# -- rows -----------------------------------------------------------------------------------------


def _employee_rows(
    employees: list[_Employee], rows: _MonthRows, cal: _Calendar, rng: random.Random
) -> tuple[list[MigratedEnrolment], list[dict[str, object]]]:
    this_year = cal.cutover // 12
    pay_day: dict[int, int] = {}
    enrolments: list[MigratedEnrolment] = []
    months: list[dict[str, object]] = []
    schemes = frozenset(EMPLOYEE_SCHEMES)
    kind = EnrolmentKind.EMPLOYEE
    for employee in employees:
        pid = employee.person.id
        for job in employee.jobs:
            day = pay_day.setdefault(job.employer_id, rng.randint(8, 20))
            insured = {
                year: Insured(
                    pid, job.employer_id, kind, employee.wage_in(year, this_year), schemes
                )
                for year in range(job.first // 12, job.last // 12 + 1)
            }
            for index in range(job.first, job.last + 1):
                months.append(rows.row(insured[index // 12], _period(index), _day(index, day)))
        left = employee.left_on
        wage = employee.wage_in(left.year if left else this_year, this_year)
        enrolments.extend(
            MigratedEnrolment(
                pid, scheme, EnrolmentKind.EMPLOYEE, employee.jobs[-1].employer_id,
                employee.hired_on, wage,
                EnrolmentStatus.SUSPENDED if left else EnrolmentStatus.ACTIVE,
                left, "离开单位（减员）" if left else None,
            )
            for scheme in EMPLOYEE_SCHEMES
        )  # fmt: skip
    return enrolments, months


def _flexible_rows(
    workers: list[_Flexible], rows: _MonthRows, cal: _Calendar, rng: random.Random
) -> tuple[list[MigratedEnrolment], list[dict[str, object]]]:
    enrolments: list[MigratedEnrolment] = []
    months: list[dict[str, object]] = []
    schemes = frozenset(FLEXIBLE_SCHEMES)
    for worker in workers:
        pid = worker.person.id
        day = rng.randint(5, 25)
        for index in worker.months:
            period = _period(index)
            wage = rows.floor(period) * worker.grade_bp // 10_000
            insured = Insured(pid, None, EnrolmentKind.FLEXIBLE, wage, schemes)
            months.append(rows.row(insured, period, _day(index, day)))
        wage = rows.floor(_period(cal.last)) * worker.grade_bp // 10_000
        stopped = worker.stopped_on
        enrolments.extend(
            MigratedEnrolment(
                pid, scheme, EnrolmentKind.FLEXIBLE, None, worker.started_on, wage,
                EnrolmentStatus.SUSPENDED if stopped else EnrolmentStatus.ACTIVE,
                stopped, "个人停止缴费" if stopped else None,
            )
            for scheme in FLEXIBLE_SCHEMES
        )  # fmt: skip
    return enrolments, months


class _ResidentRows:
    """Resident enrolments and their yearly contributions at each year's tiers, for the last
    RESIDENT_YEARS years."""

    def __init__(self, session: Session, cal: _Calendar, rng: random.Random) -> None:
        self.cal = cal
        self.rng = rng
        self.last_year = cal.cutover // 12
        self.first_year = max(cal.first // 12 + 1, self.last_year - RESIDENT_YEARS + 1)
        years = range(self.first_year, self.last_year + 1)
        tiers = {
            (scheme, year): tiers_of(get_rule(session, scheme, year * 100 + 1))
            for scheme in (SchemeCode.PENSION_RESIDENT, SchemeCode.MEDICAL_RESIDENT)
            for year in years
        }
        self.medical_tiers = {y: tiers[(SchemeCode.MEDICAL_RESIDENT, y)][0] for y in years}
        self.pension_tiers = {y: tiers[(SchemeCode.PENSION_RESIDENT, y)] for y in years}
        grades = self.pension_tiers[self.last_year]
        self.grades = [t.amount_minor for t in grades]
        weights = [GRADE_WEIGHTS.get(t.amount_minor // 100, 0.5) for t in grades]
        self.grade_weights = list(accumulate(weights))
        self.collection = {y: date(y - 1, 9, 1) for y in years}  # collected from September
        self.paid_by = cal.cutover_on - timedelta(days=1)
        self.enrolments: list[MigratedEnrolment] = []
        self.years: list[dict[str, object]] = []
        self.open_pension = self.open_medical = 0

    def pension_start(self, person: _Person, before: date) -> date | None:
        """When the person enrolled in the resident pension: in the 2011–2016 campaign, or some
        years after turning 16; None when that would be after `before`."""
        rng = self.rng
        sixteen = _birthday(person.birth_on, 16)
        campaign = date(2011, 7, 1) + timedelta(days=int(rng.random() * 2000))
        started = max(campaign, sixteen + timedelta(days=int(rng.random() * 4 * 365)))
        return started if started < before else None

    def _add_years(
        self,
        person: _Person,
        scheme: SchemeCode,
        started_on: date,
        last_year: int,
        tiers: dict[int, Tier],
        payer: int,
    ) -> None:
        """One contribution a year, a few years missed; each person pays about the same day of
        the collection every year, and in the year they enrol soon after enrolling."""
        rng, rows = self.rng, self.years
        habit = timedelta(days=int(rng.random() * HABIT_DAYS))
        joined = started_on + timedelta(days=3 + habit.days % 50)
        for year in range(max(started_on.year, self.first_year), last_year + 1):
            if rng.random() < YEAR_MISSED_SHARE:
                continue
            paid = joined if year == started_on.year else self.collection[year] + habit
            tier = tiers[year]
            rows.append(
                {
                    "person_id": person.id,
                    "scheme": scheme,
                    "year": year,
                    "amount_minor": tier.amount_minor,
                    "subsidy_minor": tier.subsidy_minor,
                    "payer_person_id": payer,
                    "region_code": CITY_REGION,
                    "paid_on": min(paid, self.paid_by),
                }
            )

    def add_pension(
        self, person: _Person, started_on: date, payer: int, ended_on: date | None = None
    ) -> None:
        grade = self.rng.choices(self.grades, cum_weights=self.grade_weights)[0]
        tiers = {y: tier_for(found, grade) or found[0] for y, found in self.pension_tiers.items()}
        last = min((ended_on.year - 1) if ended_on else self.last_year, person.birth_on.year + 59)
        self._add_years(person, SchemeCode.PENSION_RESIDENT, started_on, last, tiers, payer)
        self._enrol(person, SchemeCode.PENSION_RESIDENT, started_on, grade, ended_on)

    def add_medical(
        self, person: _Person, started_on: date, payer: int, ended_on: date | None = None
    ) -> None:
        last = (ended_on.year - 1) if ended_on else self.last_year
        scheme = SchemeCode.MEDICAL_RESIDENT
        self._add_years(person, scheme, started_on, last, self.medical_tiers, payer)
        self._enrol(person, scheme, started_on, None, ended_on)

    def _enrol(
        self,
        person: _Person,
        scheme: SchemeCode,
        started_on: date,
        grade: int | None,
        ended_on: date | None,
    ) -> None:
        status = EnrolmentStatus.TERMINATED if ended_on else EnrolmentStatus.ACTIVE
        self.enrolments.append(
            MigratedEnrolment(
                person.id, scheme, EnrolmentKind.RESIDENT, None, started_on, grade, status,
                ended_on, "转为职工参保" if ended_on else None,
            )
        )  # fmt: skip
        if ended_on is None:
            if scheme is SchemeCode.PENSION_RESIDENT:
                self.open_pension += 1
            else:
                self.open_medical += 1


def _heads(persons: list[_Person]) -> dict[str, int]:
    """The oldest member of each household: who pays the children's resident contributions."""
    heads: dict[str, tuple[date, int]] = {}
    for person in persons:
        if person.household is None:
            continue
        found = heads.get(person.household)
        if found is None or person.birth_on < found[0]:
            heads[person.household] = (person.birth_on, person.id)
    return {household: pid for household, (_b, pid) in heads.items()}


def _plan_residents(
    residents: _ResidentRows,
    persons: list[_Person],
    employees: list[_Employee],
    taken: set[int],
) -> None:
    """Everyone not in the employee schemes: resident medical for almost all, resident pension for
    most adults (few students); employees hired in the ten years were often residents before."""
    cal, rng = residents.cal, residents.rng
    today = cal.now.astimezone(SHANGHAI).date()
    cutover_on = cal.cutover_on
    heads = _heads(persons)
    medical_from = date(cal.first // 12 + 1, 1, 1)  # the resident medical scheme as it is now
    for person in persons:
        if person.id in taken:
            continue
        age = _age(person.birth_on, today)
        payer = person.id if age >= 16 else heads.get(person.household or "", person.id)
        started = max(person.birth_on, medical_from)
        if started < cutover_on and rng.random() < RESIDENT_MEDICAL_SHARE:
            residents.add_medical(person, started, payer)
        joins = 0.0 if age < 16 else 0.3 if age < 22 else 0.85 if age < 60 else 0.9
        if rng.random() < joins:
            pension_on = residents.pension_start(person, cutover_on)
            if pension_on is not None:
                residents.add_pension(person, pension_on, person.id)
    for employee in employees:
        hired = employee.hired_on
        if employee.from_shenzhen or hired <= medical_from or rng.random() > 0.4:
            continue
        person = employee.person
        started = max(person.birth_on, medical_from)
        if started.year < hired.year:
            residents.add_medical(person, started, person.id, ended_on=hired)
        pension_on = residents.pension_start(person, hired)
        if pension_on is not None and pension_on.year < hired.year:
            residents.add_pension(person, pension_on, person.id, ended_on=hired)


# -- the live months and the transfers ------------------------------------------------------------


def _declare_live_months(
    platform: Platform,
    cal: _Calendar,
    employer_ids: list[int],
    arrears: dict[int, int],
    rng: random.Random,
) -> tuple[int, int]:
    """Every employer declares each live month on its 8th and pays it on the 15th by bank
    transfer, except the months left in arrears. Returns (paid, unpaid) declarations."""
    paid = due = 0
    for index in range(cal.cutover, cal.current + 1):
        period = _period(index)
        with platform.session() as session, transaction(session):
            for employer_id in employer_ids:
                declaration = declarations.declare_employer_month(
                    session, employer_id=employer_id, period=period, channel="web",
                    declared_by=None, at=cal.at(index, 8),
                )  # fmt: skip
                if cal.current - index < arrears.get(employer_id, 0):
                    due += 1
                    continue
                declarations.record_employer_payment(
                    session,
                    declaration.declaration_no,
                    paid_minor=declaration.total_minor,
                    bank_reference=f"HX{period}{employer_id:04d}{rng.randrange(10**8):08d}",
                    at=cal.at(index, 15),
                )
                paid += 1
    return paid, due


def _declare_flexible_arrears(
    platform: Platform, cal: _Calendar, workers: list[_Flexible], rng: random.Random
) -> int:
    """Some regular flexible workers declared the live months at a kiosk and have not paid."""
    regular = [w for w in workers if w.stopped_on is None and w.months[-1] == cal.last]
    chosen = rng.sample(regular, round(len(regular) * FLEXIBLE_DUE_SHARE))
    with platform.session() as session, transaction(session):
        for worker in chosen:
            declarations.declare_flexible(
                session, person_id=worker.person.id, first_period=_period(cal.cutover),
                last_period=_period(cal.current), channel="kiosk", at=cal.at(cal.current, 20),
            )  # fmt: skip
    return len(chosen)


def _staff_id(session: Session, username: str) -> int | None:
    return session.scalar(select(Staff.id).where(Staff.username == username))


def _card_id(session: Session, person_id: int) -> int | None:
    return session.scalar(
        select(Card.id).where(Card.person_id == person_id, Card.status.in_(IN_HAND)).limit(1)
    )


def _shenzhen_file(
    session: Session,
    platform: Platform,
    employee: _Employee,
    cal: _Calendar,
    at: datetime,
) -> bytes:
    """The transfer data file 深圳 sends for the employee's years there, in the format of
    `insurance.transfers`: months on 深圳's parameters, the pension account with each year's
    interest, the medical account's remainder and the pooled share."""
    person = session.get_one(Person, employee.person.id)
    this_year = cal.cutover // 12
    hired = _index_of(employee.hired_on)
    start = max(cal.first, _index_of(_birthday(person.birth_on, 22)) + 1)
    schemes = frozenset(EMPLOYEE_SCHEMES)
    months: list[dict[str, int]] = []
    for index in range(start, hired - 1):
        wage = employee.wage_in(index // 12, this_year) * 5 // 4
        insured = Insured(person.id, None, EnrolmentKind.EMPLOYEE, wage, schemes)
        row = month_row(
            insured, _period(index), SHENZHEN_RULES, source=MonthSource.TRANSFERRED_IN,
            region_code=SHENZHEN[0],
        )  # fmt: skip
        months.append({f: int(str(row[f])) for f in ("period", "schemes_mask", *MONTH_FIELDS)})
    credited: dict[int, int] = defaultdict(int)
    for m in months:
        credited[int(m["period"]) // 100] += int(m["pension_account_minor"])
    pension = 0
    for year in sorted(credited):
        rate = interest_rate(session, year)
        pension += credited[year] + year_interest(
            pension, credited[year], rate.rate_bp if rate else 0
        )
    medical = sum(int(m["medical_account_minor"]) for m in months) * 2 // 5  # the rest was spent
    pooled = sum(share(int(m["base_minor"]), POOLED_SHARE_BP) for m in months)
    body = {
        "format": FILE_FORMAT,
        "transfer_no": f"ZY{SHENZHEN[0]}{at.astimezone(SHANGHAI):%Y%m%d}01",
        "from_region": SHENZHEN[0],
        "from_region_name": SHENZHEN[1],
        "to_region": CITY_REGION,
        "issued_at": at.astimezone(SHANGHAI).isoformat(),
        "person": {
            "resident_id": platform.keys.decrypt(person.resident_id_cipher),
            "name": person.name,
        },
        "schemes": sorted(s.value for s in TRANSFERRED_SCHEMES),
        "pension_account_minor": pension,
        "medical_account_minor": medical,
        "pooled_minor": pooled,
        "months": [
            {**m, "region_code": SHENZHEN[0], "kind": EnrolmentKind.EMPLOYEE.value} for m in months
        ],
    }
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return json.dumps({"digest": sm3_hex(text.encode()), "body": body}, ensure_ascii=False).encode()


def _move_relations(
    platform: Platform,
    cal: _Calendar,
    employees: list[_Employee],
) -> tuple[str | None, str | None, Path | None]:
    """One relation comes in from 深圳 (its data file kept under `<data_dir>/demo/`), one goes
    out to 东莞, both at the counter. Returns (transfer in, transfer out, the file)."""
    newcomer = next((e for e in employees if e.from_shenzhen), None)
    leaver = next((e for e in employees if e.left_on is not None and len(e.jobs) == 1), None)
    moved_in = moved_out = None
    path = None
    with platform.session() as session, transaction(session):
        clerk = _staff_id(session, CLERK)
        if newcomer is not None:
            at = cal.at(cal.current, 18)
            data = _shenzhen_file(session, platform, newcomer, cal, at)
            path = platform.settings.data_dir / "demo" / f"transfer-in-{SHENZHEN[0]}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o600)
            moved_in = transfer_in(
                session, platform.keys, person_id=newcomer.person.id, data=data,
                card_id=_card_id(session, newcomer.person.id), channel="counter",
                created_by=clerk, at=at,
            ).transfer_no  # fmt: skip
        if leaver is not None:
            moved_out = transfer_out(
                session, platform.keys, person_id=leaver.person.id,
                region_code=TRANSFER_OUT_TO[0], region_name=TRANSFER_OUT_TO[1],
                card_id=_card_id(session, leaver.person.id), channel="counter",
                created_by=clerk, at=cal.at(cal.current, 22),
            ).transfer.transfer_no  # fmt: skip
    return moved_in, moved_out, path


def _mark_newcomer(employees: list[_Employee], cal: _Calendar) -> None:
    """The employee whose earlier years were paid in 深圳: hired here three years or more into the
    history, working age before it started."""
    for employee in employees:
        hired = _index_of(employee.hired_on)
        grown = _index_of(_birthday(employee.person.birth_on, 22)) < cal.first
        if (
            employee.left_on is None
            and len(employee.jobs) == 1
            and grown
            and hired >= cal.first + 36
        ):
            employee.from_shenzhen = True
            return


def _grouped(enrolments: list[MigratedEnrolment]) -> list[MigratedEnrolment]:
    """The enrolments with the same empty columns next to each other: a bulk insert sends each
    run of rows with the same columns as one statement, and a mixed list as thousands."""
    return sorted(
        enrolments,
        key=lambda e: (
            e.employer_id is None,
            e.wage_minor is None,
            e.ended_on is None,
            e.end_reason is None,
            SCHEMES[e.scheme].account_purpose is None,
        ),
    )


def create_demo_insurance(platform: Platform, *, seed: int) -> DemoInsurance:
    """Ten years of the city's social insurance: the history migrated in bulk, the last two
    months declared and paid through the services, arrears, two relation transfers."""
    now = platform.clock.now()
    cal = _Calendar(now, _index_of(now.astimezone(SHANGHAI).date()))
    rng = random.Random(f"{seed}:insurance")
    at = cal.migrated_at
    with platform.session() as session, transaction(session):
        persons = _living(session, cal.cutover_on)
        employers = [
            (int(e), name, county or "431100")
            for e, name, county in session.execute(
                select(Employer.id, Employer.name, Employer.county_code).order_by(Employer.id)
            ).tuples()
        ]
        employees = _plan_employees(persons, employers, cal, rng)
        _mark_newcomer(employees, cal)
        taken = {e.person.id for e in employees}
        workers = _plan_flexible(persons, taken, cal, rng)
        taken |= {w.person.id for w in workers}
        months = _MonthRows(session)
        employee_enrolments, employee_months = _employee_rows(employees, months, cal, rng)
        flexible_enrolments, flexible_months = _flexible_rows(workers, months, cal, rng)
        residents = _ResidentRows(session, cal, rng)
        _plan_residents(residents, persons, employees, taken)
        migrate_enrolments(
            session,
            _grouped(employee_enrolments + flexible_enrolments + residents.enrolments),
            channel=CHANNEL,
            at=at,
        )
        migrated = migrate_months(session, employee_months + flexible_months)
        resident_years = migrate_resident_years(session, residents.years, at=at)
        pension_years, opening = settle_migrated_accounts(session, at=at)
    by_name = {name: e for e, name, _c in employers}
    arrears = {by_name[name]: n for name, n in ARREARS.items() if name in by_name}
    staffed = sorted({e.jobs[-1].employer_id for e in employees if e.left_on is None})
    paid, due = _declare_live_months(platform, cal, staffed, arrears, rng)
    due += _declare_flexible_arrears(platform, cal, workers, rng)
    moved_in, moved_out, path = _move_relations(platform, cal, employees)
    worst = max(arrears, key=lambda e: arrears[e], default=None)
    return DemoInsurance(
        employees=len(employees),
        employees_left=sum(1 for e in employees if e.left_on is not None),
        employer_changes=sum(1 for e in employees if len(e.jobs) > 1),
        flexible=len(workers),
        resident_pension=residents.open_pension,
        resident_medical=residents.open_medical,
        months=migrated,
        resident_years=resident_years,
        pension_years=pension_years,
        opening_transfers=opening,
        declarations_paid=paid,
        declarations_due=due,
        arrears_employer=next((n for n, e in by_name.items() if e == worst), None),
        transfer_in=moved_in,
        transfer_out=moved_out,
        transfer_file=path,
    )
