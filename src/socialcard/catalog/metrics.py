"""The catalogue's figures, defined once (docs/metrics.md) and computed from openings, regions
and card uses — never typed in. Pure: the inputs are gathered by queries.gather_metric_inputs.

Rules a reader must know:
- An item opened at the city level (431100) counts as opened in every county.
- Items the plan marks as not applicable to individuals yet (70–73, 88 by default) are shown
  apart; `exclude_not_applicable` (default on) removes them from the opening-rate denominator.
- Population coverage divides by the sum of the county populations (the same 11 units the county
  coverage counts), so both figures speak of the same area.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from socialcard.catalog.models import OpeningStatus, UsageKind

CITY_CODE: Final = "431100"
DEFAULT_NOT_APPLICABLE: Final = frozenset({70, 71, 72, 73, 88})
# The plan's targets (永政办发〔2015〕26号): catalogue opening 60 % by 2015-09 and 80 % by
# 2017-09; coverage at least 80 % on average per sub-category.
OPENING_TARGETS: Final = (
    (date(2015, 9, 30), Decimal("0.60")),
    (date(2017, 9, 30), Decimal("0.80")),
)
COVERAGE_TARGET: Final = Decimal("0.80")


@dataclass(frozen=True, slots=True)
class Ratio:
    """A figure as numerator over denominator; `value` is None when the denominator is 0."""

    numerator: int
    denominator: int

    @property
    def value(self) -> Decimal | None:
        if self.denominator == 0:
            return None
        return Decimal(self.numerator) / Decimal(self.denominator)

    @property
    def percent(self) -> str:
        """For screens and reports: one decimal, half up, e.g. "72.7%"; "—" without a base."""
        value = self.value
        if value is None:
            return "—"
        return f"{(value * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


@dataclass(frozen=True, slots=True)
class MetricRules:
    county_count: int | None = None  # None: the number of county-level units in the registry
    not_applicable: frozenset[int] = DEFAULT_NOT_APPLICABLE
    exclude_not_applicable: bool = True


@dataclass(frozen=True, slots=True)
class ItemFacts:
    item_no: int
    name: str
    category: str
    usage_kind: UsageKind


@dataclass(frozen=True, slots=True)
class CountyFacts:
    code: str
    name: str
    population: int


@dataclass(frozen=True, slots=True)
class MetricInputs:
    as_of: date
    period_from: date
    period_to: date
    items: Sequence[ItemFacts]
    counties: Sequence[CountyFacts]
    statuses: Mapping[tuple[int, str], OpeningStatus]
    users_by_item: Mapping[int, int]  # distinct holders with a successful use in the period


@dataclass(frozen=True, slots=True)
class ItemFigures:
    item_no: int
    name: str
    category: str
    usage_kind: UsageKind
    is_applicable: bool
    opened_at_city_level: bool
    opened_counties: tuple[str, ...]
    county_coverage: Ratio
    population_coverage: Ratio
    users: int

    @property
    def is_opened_anywhere(self) -> bool:
        return self.opened_at_city_level or bool(self.opened_counties)


@dataclass(frozen=True, slots=True)
class SubcategoryFigures:
    """细类: one category × usage kind; the plan's coverage target is an average over these."""

    category: str
    usage_kind: UsageKind
    items: int
    mean_county_coverage: Decimal | None
    mean_population_coverage: Decimal | None

    @property
    def meets_target(self) -> bool:
        return (self.mean_population_coverage or Decimal(0)) >= COVERAGE_TARGET


@dataclass(frozen=True, slots=True)
class CatalogueFigures:
    as_of: date
    period_from: date
    period_to: date
    items: tuple[ItemFigures, ...]
    opening_rate_city: Ratio
    opening_rate_by_county: dict[str, Ratio]
    opening_rate_by_category: dict[str, Ratio]
    opening_rate_by_usage_kind: dict[UsageKind, Ratio]
    subcategories: tuple[SubcategoryFigures, ...]
    not_applicable_items: tuple[int, ...]
    opening_target: Decimal | None = field(default=None)

    @property
    def applicable_items(self) -> tuple[ItemFigures, ...]:
        return tuple(i for i in self.items if i.is_applicable)


def opening_target_on(on: date) -> Decimal | None:
    """The plan's opening-rate target in force on a date (None before the first deadline)."""
    target = None
    for deadline, value in OPENING_TARGETS:
        if on >= deadline:
            target = value
    return target


def _mean(values: Sequence[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return sum(present, Decimal(0)) / len(present)


def compute_figures(inputs: MetricInputs, rules: MetricRules | None = None) -> CatalogueFigures:
    """Every catalogue figure for a date and a period."""
    rules = rules or MetricRules()
    counties = list(inputs.counties)
    county_count = rules.county_count or len(counties)
    total_population = sum(c.population for c in counties)
    opened = {key for key, status in inputs.statuses.items() if status is OpeningStatus.OPENED}

    figures: list[ItemFigures] = []
    for item in inputs.items:
        city_level = (item.item_no, CITY_CODE) in opened
        in_counties = tuple(
            c.code for c in counties if city_level or (item.item_no, c.code) in opened
        )
        population = sum(c.population for c in counties if c.code in in_counties)
        figures.append(
            ItemFigures(
                item_no=item.item_no,
                name=item.name,
                category=item.category,
                usage_kind=item.usage_kind,
                is_applicable=item.item_no not in rules.not_applicable,
                opened_at_city_level=city_level,
                opened_counties=in_counties,
                county_coverage=Ratio(len(in_counties), county_count),
                population_coverage=Ratio(population, total_population),
                users=inputs.users_by_item.get(item.item_no, 0),
            )
        )

    counted = [f for f in figures if f.is_applicable or not rules.exclude_not_applicable]

    def rate(selected: Sequence[ItemFigures]) -> Ratio:
        return Ratio(sum(1 for f in selected if f.is_opened_anywhere), len(selected))

    by_county = {
        c.code: Ratio(sum(1 for f in counted if c.code in f.opened_counties), len(counted))
        for c in counties
    }
    categories = list(dict.fromkeys(f.category for f in figures))
    kinds = list(dict.fromkeys(f.usage_kind for f in figures))
    subcategories: list[SubcategoryFigures] = []
    for category in categories:
        for kind in kinds:
            members = [f for f in counted if f.category == category and f.usage_kind is kind]
            if members:
                subcategories.append(
                    SubcategoryFigures(
                        category=category,
                        usage_kind=kind,
                        items=len(members),
                        mean_county_coverage=_mean([m.county_coverage.value for m in members]),
                        mean_population_coverage=_mean(
                            [m.population_coverage.value for m in members]
                        ),
                    )
                )
    return CatalogueFigures(
        as_of=inputs.as_of,
        period_from=inputs.period_from,
        period_to=inputs.period_to,
        items=tuple(figures),
        opening_rate_city=rate(counted),
        opening_rate_by_county=by_county,
        opening_rate_by_category={
            c: rate([f for f in counted if f.category == c]) for c in categories
        },
        opening_rate_by_usage_kind={
            k: rate([f for f in counted if f.usage_kind is k]) for k in kinds
        },
        subcategories=tuple(subcategories),
        not_applicable_items=tuple(sorted(rules.not_applicable)),
        opening_target=opening_target_on(inputs.as_of),
    )


@dataclass(frozen=True, slots=True)
class ItemPlan:
    item_no: int
    responsible_units: tuple[str, ...]
    planned_completion: str
    due_on: date | None  # the last day of the planned completion month (range: its end)


@dataclass(frozen=True, slots=True)
class UnitItem:
    figures: ItemFigures
    plan: ItemPlan
    is_overdue: bool


@dataclass(frozen=True, slots=True)
class UnitResponsibility:
    """责任单位: the items a unit answers for, and those past their planned date unfinished."""

    unit: str
    items: tuple[UnitItem, ...]

    @property
    def overdue(self) -> tuple[UnitItem, ...]:
        return tuple(i for i in self.items if i.is_overdue)


def responsibilities(
    figures: CatalogueFigures, plans: Sequence[ItemPlan]
) -> list[UnitResponsibility]:
    """Group items by responsible unit. An applicable item is overdue when its planned
    completion has passed on the figures' date and it is not yet opened in every county
    (the plan names and blames those who miss, §5.7)."""
    by_item = {f.item_no: f for f in figures.items}
    units: dict[str, list[UnitItem]] = {}
    for plan in plans:
        item = by_item[plan.item_no]
        complete = item.county_coverage.numerator >= item.county_coverage.denominator
        overdue = (
            item.is_applicable
            and plan.due_on is not None
            and plan.due_on < figures.as_of
            and not complete
        )
        for unit in plan.responsible_units or ("（未指定责任单位）",):
            units.setdefault(unit, []).append(UnitItem(item, plan, overdue))
    return [UnitResponsibility(unit, tuple(items)) for unit, items in units.items()]
