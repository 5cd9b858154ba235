"""The catalogue figures, computed from small hand-made inputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from socialcard.catalog.metrics import (
    CountyFacts,
    ItemFacts,
    MetricInputs,
    MetricRules,
    Ratio,
    compute_figures,
    opening_target_on,
)
from socialcard.catalog.models import OpeningStatus, UsageKind

COUNTIES = [
    CountyFacts("431124", "道县", 600),
    CountyFacts("431102", "零陵区", 300),
    CountyFacts("431103", "冷水滩区", 100),
]
ITEMS = [
    ItemFacts(1, "就业登记", "就业", UsageKind.CREDENTIAL),
    ItemFacts(2, "就业信息记录", "就业", UsageKind.RECORD),
    ItemFacts(3, "参保登记", "社会保险公共业务", UsageKind.CREDENTIAL),
    ItemFacts(88, "生育津贴领取", "生育保险待遇业务", UsageKind.MONEY),
]


def inputs(
    statuses: dict[tuple[int, str], OpeningStatus], users: dict[int, int] | None = None
) -> MetricInputs:
    return MetricInputs(
        as_of=date(2016, 1, 1),
        period_from=date(2016, 1, 1),
        period_to=date(2016, 1, 1),
        items=ITEMS,
        counties=COUNTIES,
        statuses=statuses,
        users_by_item=users or {},
    )


def test_nothing_opened_gives_zero_rates_not_errors() -> None:
    figures = compute_figures(inputs({}))
    assert figures.opening_rate_city == Ratio(0, 3)
    assert figures.opening_rate_city.percent == "0.0%"
    assert all(r == Ratio(0, 3) for r in figures.opening_rate_by_county.values())


def test_county_and_population_coverage_of_an_item() -> None:
    figures = compute_figures(
        inputs({(1, "431124"): OpeningStatus.OPENED, (1, "431102"): OpeningStatus.SUSPENDED})
    )
    item = figures.items[0]
    assert item.opened_counties == ("431124",)
    assert item.county_coverage == Ratio(1, 3)
    assert item.population_coverage == Ratio(600, 1000)
    assert figures.opening_rate_city == Ratio(1, 3)
    assert figures.opening_rate_by_county["431124"] == Ratio(1, 3)
    assert figures.opening_rate_by_county["431102"] == Ratio(0, 3)


def test_a_city_level_opening_counts_in_every_county() -> None:
    item = compute_figures(inputs({(3, "431100"): OpeningStatus.OPENED})).items[2]
    assert item.opened_at_city_level
    assert item.county_coverage == Ratio(3, 3)
    assert item.population_coverage.percent == "100.0%"


def test_not_applicable_items_are_shown_apart_and_the_rule_is_a_setting() -> None:
    statuses = {(88, "431124"): OpeningStatus.OPENED}
    default = compute_figures(inputs(statuses))
    assert default.opening_rate_city == Ratio(0, 3)
    assert not default.items[3].is_applicable
    counted = compute_figures(inputs(statuses), MetricRules(exclude_not_applicable=False))
    assert counted.opening_rate_city == Ratio(1, 4)


def test_subcategory_means_and_the_eighty_percent_target() -> None:
    figures = compute_figures(
        inputs({(1, "431100"): OpeningStatus.OPENED, (3, "431124"): OpeningStatus.OPENED})
    )
    by_key = {(s.category, s.usage_kind): s for s in figures.subcategories}
    employment = by_key[("就业", UsageKind.CREDENTIAL)]
    assert employment.mean_population_coverage == Decimal(1)
    assert employment.meets_target
    insurance = by_key[("社会保险公共业务", UsageKind.CREDENTIAL)]
    assert insurance.mean_population_coverage == Decimal("0.6")
    assert not insurance.meets_target
    assert ("生育保险待遇业务", UsageKind.MONEY) not in by_key


def test_users_come_from_the_period_counts() -> None:
    assert compute_figures(inputs({}, {2: 7})).items[1].users == 7


def test_the_plans_targets_apply_from_their_deadlines() -> None:
    assert opening_target_on(date(2015, 9, 29)) is None
    assert opening_target_on(date(2015, 9, 30)) == Decimal("0.60")
    assert opening_target_on(date(2017, 9, 30)) == Decimal("0.80")
    assert Ratio(2, 3).percent == "66.7%"
    assert Ratio(1, 0).percent == "—"


def test_overdue_items_are_listed_under_each_responsible_unit() -> None:
    from socialcard.catalog.metrics import ItemPlan, responsibilities

    figures = compute_figures(
        inputs({(1, "431100"): OpeningStatus.OPENED, (3, "431124"): OpeningStatus.OPENED})
    )
    plans = [
        ItemPlan(1, ("市人社局", "市就业局"), "2015年9月", date(2015, 9, 30)),
        ItemPlan(2, ("市就业局",), "2015年9月", date(2015, 9, 30)),
        ItemPlan(3, ("市人社局",), "2016年12月", date(2016, 12, 31)),
        ItemPlan(88, (), "", None),
    ]
    units = {u.unit: u for u in responsibilities(figures, plans)}
    assert [i.plan.item_no for i in units["市就业局"].overdue] == [2]
    assert units["市人社局"].overdue == ()
    assert [i.plan.item_no for i in units["（未指定责任单位）"].items] == [88]
