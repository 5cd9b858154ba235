"""Pure contribution arithmetic: periods, bases clamped to the floor and ceiling in force, the
employer and individual parts of one month, resident tiers, and the pension account's yearly
interest. No I/O; the parameters come from `parameters` (versioned, effective-dated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

BP: Final = 10_000  # rates are basis points: 800 = 8 %


# -- periods (费款所属期) as yyyymm integers ------------------------------------------------------


def period_of(day: date) -> int:
    return day.year * 100 + day.month


def period_start(period: int) -> date:
    check_period(period)
    return date(period // 100, period % 100, 1)


def check_period(period: int) -> int:
    year, month = divmod(period, 100)
    if not (1990 <= year <= 2100 and 1 <= month <= 12):
        raise ValueError(f"period {period} is not a yyyymm month")
    return period


def next_period(period: int) -> int:
    year, month = divmod(period, 100)
    return (year + 1) * 100 + 1 if month == 12 else period + 1


def previous_period(period: int) -> int:
    year, month = divmod(period, 100)
    return (year - 1) * 100 + 12 if month == 1 else period - 1


def periods_between(first: int, last: int) -> list[int]:
    """Every month from `first` to `last`, both included (empty when last < first)."""
    out: list[int] = []
    period = first
    while period <= last:
        out.append(period)
        period = next_period(period)
    return out


def period_label(period: int) -> str:
    return f"{period // 100}年{period % 100:02d}月"


# -- one month of an employee scheme --------------------------------------------------------------


def share(amount_minor: int, rate_bp: int) -> int:
    """`amount × rate`, rounded half up to the fen."""
    return (amount_minor * rate_bp + BP // 2) // BP


@dataclass(frozen=True, slots=True)
class MonthlyRule:
    """The parameters of one employee scheme in force for a month."""

    base_floor_minor: int
    base_ceiling_minor: int
    employer_rate_bp: int
    individual_rate_bp: int
    account_rate_bp: int  # credited to the personal account, as a share of the base
    flexible_rate_bp: int  # a flexible worker pays this share of the base alone


@dataclass(frozen=True, slots=True)
class MonthParts:
    employer_minor: int
    individual_minor: int
    account_minor: int  # of the two parts, what the personal account is credited with


def clamp_base(declared_minor: int, rule: MonthlyRule) -> int:
    """The contribution base: the declared wage, raised to the floor and cut to the ceiling."""
    return min(max(declared_minor, rule.base_floor_minor), rule.base_ceiling_minor)


def month_parts(base_minor: int, rule: MonthlyRule, *, flexible: bool) -> MonthParts:
    """The parts of one month on a clamped base. A flexible worker pays the flexible rate alone;
    the personal account never gets more than was paid."""
    if flexible:
        employer, individual = 0, share(base_minor, rule.flexible_rate_bp)
    else:
        employer = share(base_minor, rule.employer_rate_bp)
        individual = share(base_minor, rule.individual_rate_bp)
    account = min(share(base_minor, rule.account_rate_bp), employer + individual)
    return MonthParts(employer, individual, account)


# -- resident schemes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tier:
    """One contribution grade of a resident scheme: what the person pays a year and what the
    government adds (to the pension account, or to the pooled medical fund)."""

    amount_minor: int
    subsidy_minor: int


def tier_for(tiers: tuple[Tier, ...], amount_minor: int) -> Tier | None:
    return next((t for t in tiers if t.amount_minor == amount_minor), None)


# -- the pension account's yearly interest (记账利息) ---------------------------------------------


def year_interest(opening_minor: int, credited_minor: int, rate_bp: int) -> int:
    """Interest credited at the year's end (劳办发〔1997〕116号): the opening balance earns the
    year's rate in full, the year's credits `rate × 1.083 × 1/2` (credited through the year).
    Rounded half up to the fen, once."""
    numerator = opening_minor * rate_bp * 2000 + credited_minor * rate_bp * 1083
    denominator = BP * 2000
    return (numerator + denominator // 2) // denominator
