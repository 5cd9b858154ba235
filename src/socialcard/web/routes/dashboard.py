"""The leading group office's dashboard (领导小组驾驶舱): the catalogue's opening rate against the
plan's target, per county, category and usage kind, the coverage of every 细类, the items most
used, the trend by quarter, and drill-downs to a county and to an item. Charts, not tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.cards.queries import count_usable_cards_by_region
from socialcard.catalog import queries
from socialcard.catalog.metrics import (
    COVERAGE_TARGET,
    CatalogueFigures,
    MetricInputs,
    Ratio,
    compute_figures,
    opening_target_on,
    responsibilities,
)
from socialcard.catalog.models import USAGE_KIND_LABELS, ItemOpening, OpeningStatus
from socialcard.errors import NotFound
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.reports import REPORT_TYPES, evaluation_download
from socialcard.kernel.clock import local_today
from socialcard.kernel.masking import mask_name
from socialcard.regions.data import CITY_CODE
from socialcard.regions.queries import list_counties, list_regions
from socialcard.registry.queries import count_persons_by_county, find_persons_by_ids
from socialcard.web.charts import (
    LineChart,
    LinePoint,
    PercentBarChart,
    PercentItem,
    line_chart,
    percent_bar_chart,
    rag_status,
)
from socialcard.web.rendering import render_page

router = APIRouter()

# The definition of every figure shown, worded as docs/metrics.md words it; each figure carries
# its definition as a tooltip (title attribute and a small ⓘ).
DEFINITIONS: Final[Mapping[str, str]] = {
    "opening_rate": "开通率 = 已开通事项数 ÷ 目录事项数（不含暂不适用事项）。"
    "市级开通（431100）计入每个县区。",
    "county_coverage": "县区覆盖率 = 已开通该事项的县区数 ÷ 县级行政区数（11）。"
    "市级开通（431100）计入每个县区。",
    "population_coverage": "人群覆盖率 = 已开通县区的常住人口 ÷ 全市各县区常住人口合计。",
    "users": "实际使用人数 = 期间内成功用卡的不同持卡人数。",
    "subcategory": "细类 = 分类 × 用卡方式。各细类的人群覆盖率平均不低于 80% 为达标。",
    "city_level": "市级开通（431100）计入每个县区。",
    "opening_target": "规划目标（永政办发〔2015〕26号）：2015 年 9 月底开通率 60%，"
    "2017 年 9 月底 80%；2015 年 9 月 30 日前无目标。",
    "not_applicable": "暂不适用事项（默认第 70–73、88 项）单列展示，不计入开通率的分母。",
    "holding_rate": (
        "持卡率 = 为该县区发放的可用社保卡数 ÷ 户籍系统中该县区在册正常人员数（按当日统计）。"
    ),
    "activation_rate": (
        "银行账户激活率 = 银行账户已激活的可用社保卡数 ÷ 可用社保卡数（按当日统计）。"
    ),
    "trend": "各季度末的全市开通率（开通率 = 已开通事项数 ÷ 目录事项数（不含暂不适用事项））。",
}

RECENT_USES_SHOWN: Final = 20
CHANNEL_LABELS: Final[Mapping[str, str]] = {
    "counter": "窗口",
    "kiosk": "自助服务一体机",
    "web": "网站",
    "mobile": "手机",
    "bank": "银行",
    "hospital": "定点医疗机构",
    "pharmacy": "定点零售药店",
}

OPENING_STATUS_LABELS: Final[Mapping[str, str]] = {
    "opened": "已开通",
    "opened_city": "已开通（市级）",
    "suspended": "暂停",
    "closed": "关闭",
    "not_opened": "未开通",
}

RAG_LABELS: Final[Mapping[str, str]] = {
    "green": "达标",
    "amber": "接近目标",
    "red": "未达标",
    "none": "暂无目标",
}

TOP_ITEMS: Final = 10
TREND_START: Final = date(2015, 1, 1)


# --- figures -------------------------------------------------------------------------------


def percent_of(ratio: Ratio) -> float | None:
    value = ratio.value
    return None if value is None else float(value * 100)


def share_text(value: Decimal | None) -> str:
    """A share (0–1) as the API words it: one decimal, half up."""
    return "—" if value is None else Ratio(int(value * 10000), 10000).percent


def target_percent(on: date) -> float | None:
    target = opening_target_on(on)
    return None if target is None else float(target * 100)


def figures_for(session: Session, as_of: date) -> tuple[MetricInputs, CatalogueFigures]:
    """The figures on a date, card uses counted from 1 January of its year to the date."""
    inputs = queries.gather_metric_inputs(
        session, as_of=as_of, period_from=date(as_of.year, 1, 1), period_to=as_of
    )
    return inputs, compute_figures(inputs)


def quarter_ends(until: date) -> list[date]:
    """The end of every quarter from 2015-Q1 on that falls on or before `until`, then `until`
    itself when it is not a quarter's end (the quarter so far)."""
    ends: list[date] = []
    year, quarter = TREND_START.year, 1
    while True:
        month = quarter * 3
        end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        if end > until:
            break
        ends.append(end)
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    if until >= TREND_START and (not ends or ends[-1] != until):
        ends.append(until)
    return ends


def statuses_by_date(
    history: Sequence[ItemOpening], dates: Sequence[date]
) -> list[dict[tuple[int, str], OpeningStatus]]:
    """queries.statuses_on for many dates from one read of the history (ordered by effective
    date, then id): the latest change effective on or before each date."""
    ordered = sorted(history, key=lambda o: (o.effective_on, o.id))
    result: list[dict[tuple[int, str], OpeningStatus]] = []
    current: dict[tuple[int, str], OpeningStatus] = {}
    position = 0
    for on in sorted(dates):
        while position < len(ordered) and ordered[position].effective_on <= on:
            opening = ordered[position]
            current[(opening.item_no, opening.region_code)] = opening.status
            position += 1
        result.append(dict(current))
    return result


@dataclass(frozen=True, slots=True)
class TrendPoint:
    on: date
    rate: Ratio


def opening_trend(session: Session, inputs: MetricInputs) -> list[TrendPoint]:
    """The city opening rate at the end of each quarter up to inputs.as_of (uses are not
    needed for the rate, so each quarter's period is the quarter itself with none counted)."""
    dates = quarter_ends(inputs.as_of)
    statuses = statuses_by_date(queries.list_opening_history(session), dates)
    points: list[TrendPoint] = []
    for on, on_statuses in zip(dates, statuses, strict=True):
        quarter_start = date(on.year, (on.month - 1) // 3 * 3 + 1, 1)
        figures = compute_figures(
            MetricInputs(
                as_of=on,
                period_from=quarter_start,
                period_to=on,
                items=inputs.items,
                counties=inputs.counties,
                statuses=on_statuses,
                users_by_item={},
            )
        )
        points.append(TrendPoint(on, figures.opening_rate_city))
    return points


def trend_chart_of(points: Sequence[TrendPoint]) -> LineChart:
    line_points: list[LinePoint] = []
    targets: list[tuple[int, float]] = []
    previous: float | None = None
    for index, point in enumerate(points):
        quarter = (point.on.month - 1) // 3 + 1
        is_quarter_end = (point.on + timedelta(days=1)).month != point.on.month and (
            point.on.month % 3 == 0
        )
        label = (
            f"{point.on.year}年第{quarter}季度末"
            if is_quarter_end
            else f"截至 {point.on.isoformat()}"
        )
        line_points.append(LinePoint(label, percent_of(point.rate), axis_label=f"{point.on.year}"))
        target = target_percent(point.on)
        if target is not None and target != previous:
            targets.append((index, target))
        previous = target
    return line_chart(line_points, targets=targets)


# --- item status in a county ---------------------------------------------------------------


def county_status(
    statuses: Mapping[tuple[int, str], OpeningStatus], item_no: int, county_code: str
) -> str:
    """opened_city, opened, suspended, closed or not_opened (a city-level opening counts in
    every county)."""
    if statuses.get((item_no, CITY_CODE)) is OpeningStatus.OPENED:
        return "opened_city"
    status = statuses.get((item_no, county_code))
    return "not_opened" if status is None else status.value


def city_status(statuses: Mapping[tuple[int, str], OpeningStatus], item_no: int) -> str:
    status = statuses.get((item_no, CITY_CODE))
    return "not_opened" if status is None else status.value


# --- pages ---------------------------------------------------------------------------------


def _as_of_or_today(as_of: date | None, today: date) -> date:
    return as_of or today


def _with_date(path: str, as_of: date, today: date) -> str:
    return path if as_of == today else f"{path}?as_of={as_of.isoformat()}"


@router.get("/dashboard")
def dashboard(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None),
) -> Response:
    ctx.require_principal()
    today = local_today(platform.clock)
    on = _as_of_or_today(as_of, today)
    inputs, figures = figures_for(session, on)
    target = target_percent(on)
    names = {county.code: county.name for county in inputs.counties}

    county_chart = percent_bar_chart(
        [
            PercentItem(
                label=names[code],
                percent=percent_of(rate),
                value_text=rate.percent,
                href=_with_date(f"/dashboard/counties/{code}", on, today),
                detail=f"{names[code]}：已开通 {rate.numerator} 项 ÷ 目录 {rate.denominator} 项",
                key=code,
            )
            for code, rate in figures.opening_rate_by_county.items()
        ],
        target=target,
    )
    category_chart = percent_bar_chart(
        [
            PercentItem(
                label=category,
                percent=percent_of(rate),
                value_text=rate.percent,
                detail=f"{category}：已开通 {rate.numerator} 项 ÷ {rate.denominator} 项",
            )
            for category, rate in figures.opening_rate_by_category.items()
        ],
        target=target,
        width=540,
        label_width=128,
        value_width=58,
    )
    kind_chart = percent_bar_chart(
        [
            PercentItem(
                label=USAGE_KIND_LABELS[kind],
                percent=percent_of(rate),
                value_text=rate.percent,
                detail=f"{USAGE_KIND_LABELS[kind]}：已开通 {rate.numerator} 项 ÷ "
                f"{rate.denominator} 项",
            )
            for kind, rate in figures.opening_rate_by_usage_kind.items()
        ],
        target=target,
        width=540,
        label_width=128,
        value_width=58,
    )
    coverage_target = float(COVERAGE_TARGET * 100)
    subcategories = [
        {
            "category": s.category,
            "usage_kind": USAGE_KIND_LABELS[s.usage_kind],
            "item_count": s.items,
            "county_coverage": share_text(s.mean_county_coverage),
            "population_coverage": share_text(s.mean_population_coverage),
            "population_percent": round(float((s.mean_population_coverage or 0) * 100), 1),
            "status": "green"
            if s.meets_target
            else rag_status(float((s.mean_population_coverage or 0) * 100), coverage_target),
        }
        for s in figures.subcategories
    ]
    used = sorted((f for f in figures.items if f.users > 0), key=lambda f: (-f.users, f.item_no))[
        :TOP_ITEMS
    ]
    most_users = max((f.users for f in used), default=0)
    top_chart = percent_bar_chart(
        [
            PercentItem(
                label=f"{f.item_no}. {f.name}",
                percent=100 * f.users / most_users,
                value_text=f"{f.users:,} 人",
                href=_with_date(f"/dashboard/items/{f.item_no}", on, today),
                detail=f"{f.name}：{f.users:,} 人",
                key=str(f.item_no),
            )
            for f in used
        ],
        target=None,
        width=640,
        label_width=250,
        value_width=70,
    )
    holding_chart, activation_chart, card_totals = card_charts(session, inputs, on, today)
    city = figures.opening_rate_city
    city_percent = percent_of(city)
    met_subcategories = sum(1 for s in figures.subcategories if s.meets_target)
    return render_page(
        request,
        "dashboard/index.html",
        as_of=on,
        today=today,
        figures=figures,
        city=city,
        city_status=rag_status(city_percent, target),
        target=target,
        county_chart=county_chart,
        category_chart=category_chart,
        kind_chart=kind_chart,
        subcategories=subcategories,
        met_subcategories=met_subcategories,
        not_applicable=[f for f in figures.items if not f.is_applicable],
        top_chart=top_chart,
        holding_chart=holding_chart,
        activation_chart=activation_chart,
        card_totals=card_totals,
        trend=trend_chart_of(opening_trend(session, inputs)),
        definitions=DEFINITIONS,
        rag_labels=RAG_LABELS,
        status_labels=OPENING_STATUS_LABELS,
        date_query="" if on == today else f"?as_of={on.isoformat()}",
    )


HOLDING_TARGET: Final = 100.0  # 人手一卡
ACTIVATION_TARGET: Final = 60.0


@dataclass(frozen=True, slots=True)
class CardTotals:
    holding: Ratio
    activation: Ratio
    is_current_only: bool  # the card figures are today's even when the page shows another date


def card_charts(
    session: Session, inputs: MetricInputs, on: date, today: date
) -> tuple[PercentBarChart, PercentBarChart, CardTotals]:
    """Card-holding rate and bank-account activation rate per county, from the card rows."""
    counts = count_usable_cards_by_region(session)
    residents = count_persons_by_county(session)
    holding_items: list[PercentItem] = []
    activation_items: list[PercentItem] = []
    usable_total = activated_total = 0
    for county in inputs.counties:
        usable, activated = counts.get(county.code, (0, 0))
        usable_total += usable
        activated_total += activated
        holding = Ratio(usable, residents.get(county.code, 0))
        activation = Ratio(activated, usable)
        holding_items.append(
            PercentItem(
                label=county.name,
                percent=percent_of(holding),
                value_text=holding.percent,
                detail=f"{county.name}：可用社保卡 {usable:,} 张 ÷ 在册人员 "
                f"{residents.get(county.code, 0):,} 人",
                key=county.code,
            )
        )
        activation_items.append(
            PercentItem(
                label=county.name,
                percent=percent_of(activation),
                value_text=activation.percent,
                detail=f"{county.name}：已激活银行账户 {activated:,} 张 ÷ 可用社保卡 {usable:,} 张",
                key=county.code,
            )
        )
    population = sum(residents.get(county.code, 0) for county in inputs.counties)
    totals = CardTotals(
        holding=Ratio(usable_total, population),
        activation=Ratio(activated_total, usable_total),
        is_current_only=on != today,
    )
    return (
        percent_bar_chart(holding_items, target=HOLDING_TARGET, width=540, label_width=90),
        percent_bar_chart(activation_items, target=ACTIVATION_TARGET, width=540, label_width=90),
        totals,
    )


@router.get("/dashboard/counties/{code}")
def county_page(
    code: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None),
) -> Response:
    ctx.require_principal()
    today = local_today(platform.clock)
    on = _as_of_or_today(as_of, today)
    county = next((c for c in list_counties(session) if c.code == code), None)
    if county is None:
        raise NotFound("没有这个县级行政区。", code=code)
    inputs, figures = figures_for(session, on)
    rate = figures.opening_rate_by_county[code]
    target = target_percent(on)
    categories: dict[str, list[dict[str, object]]] = {}
    for item in figures.applicable_items:
        status = county_status(inputs.statuses, item.item_no, code)
        categories.setdefault(item.category, []).append(
            {"item": item, "status": status, "label": OPENING_STATUS_LABELS[status]}
        )
    groups = []
    for category, entries in categories.items():
        opened = [e for e in entries if str(e["status"]).startswith("opened")]
        others = [e for e in entries if not str(e["status"]).startswith("opened")]
        groups.append(
            {
                "category": category,
                "opened": opened,
                "not_opened": others,
                "rate": Ratio(len(opened), len(entries)),
            }
        )
    not_applicable = [
        {
            "item": item,
            "status": county_status(inputs.statuses, item.item_no, code),
        }
        for item in figures.items
        if not item.is_applicable
    ]
    county_rank = sorted(
        figures.opening_rate_by_county.items(),
        key=lambda pair: (-(pair[1].value or 0), pair[0]),
    )
    rank = next(i for i, (c, _) in enumerate(county_rank, start=1) if c == code)
    return render_page(
        request,
        "dashboard/county.html",
        as_of=on,
        county=county,
        rate=rate,
        rate_status=rag_status(percent_of(rate), target),
        target=target,
        city=figures.opening_rate_city,
        rank=rank,
        county_count=len(county_rank),
        groups=groups,
        not_applicable=not_applicable,
        definitions=DEFINITIONS,
        rag_labels=RAG_LABELS,
        status_labels=OPENING_STATUS_LABELS,
        date_query="" if on == today else f"?as_of={on.isoformat()}",
    )


@router.get("/dashboard/items/{item_no}")
def item_page(
    item_no: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None),
) -> Response:
    ctx.require_principal()
    today = local_today(platform.clock)
    on = _as_of_or_today(as_of, today)
    item = queries.get_item(session, item_no)
    inputs, figures = figures_for(session, on)
    facts = next(f for f in figures.items if f.item_no == item_no)
    cells = [
        {
            "county": county,
            "status": county_status(inputs.statuses, item_no, county.code),
        }
        for county in inputs.counties
    ]
    region_names = {region.code: region.name for region in list_regions(session)}
    history = [
        {
            "opening": opening,
            "region": region_names.get(opening.region_code, opening.region_code),
            "label": OPENING_STATUS_LABELS[opening.status.value],
        }
        for opening in reversed(queries.list_opening_history(session, item_no=item_no))
    ]
    uses_by_place = queries.count_uses_by_county_and_channel(
        session, item_no=item_no, period_from=inputs.period_from, period_to=inputs.period_to
    )
    recent = queries.list_recent_uses(session, item_no=item_no, limit=RECENT_USES_SHOWN)
    holders = {p.id: p for p in find_persons_by_ids(session, {u.person_id for u in recent})}
    recent_uses = [
        {
            "use": use,
            # The leading group sees who used the card only as a masked name.
            "holder": mask_name(holders[use.person_id].name) if use.person_id in holders else "—",
            "county": region_names.get(use.county_code or "", use.county_code or "—"),
            "channel": CHANNEL_LABELS.get(use.channel.value, use.channel.value),
        }
        for use in recent
    ]
    return render_page(
        request,
        "dashboard/item.html",
        uses_by_place=[
            {
                "county": region_names.get(county or "", county or "—"),
                "channel": CHANNEL_LABELS.get(channel, channel),
                "count": count,
            }
            for county, channel, count in uses_by_place
        ],
        recent_uses=recent_uses,
        period_from=inputs.period_from,
        as_of=on,
        item=item,
        usage_kind=USAGE_KIND_LABELS[item.usage_kind],
        facts=facts,
        city_status=city_status(inputs.statuses, item_no),
        cells=cells,
        history=history,
        definitions=DEFINITIONS,
        status_labels=OPENING_STATUS_LABELS,
        date_query="" if on == today else f"?as_of={on.isoformat()}",
    )


@router.get("/dashboard/report.{file_format}")
def evaluation_report(
    file_format: str,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None),
) -> Response:
    """The evaluation report (评估报告) on a date, as XLSX or PDF; the export is audited."""
    if file_format not in REPORT_TYPES:
        raise NotFound("评估报告只提供 xlsx 或 pdf 格式。")
    on = _as_of_or_today(as_of, local_today(platform.clock))
    return evaluation_download(
        session, ctx, file_format=file_format, as_of=on, at=platform.clock.now()
    )


@router.get("/dashboard/units")
def units_page(
    request: Request,
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None),
) -> Response:
    """责任单位: each unit's items, their planned completion and status, overdue ones first."""
    today = local_today(platform.clock)
    on = _as_of_or_today(as_of, today)
    _, figures = figures_for(session, on)
    units = sorted(
        responsibilities(figures, queries.list_item_plans(session)),
        key=lambda unit: (-len(unit.overdue), unit.unit),
    )
    return render_page(
        request,
        "dashboard/units.html",
        as_of=on,
        units=units,
        definitions=DEFINITIONS,
        date_query="" if on == today else f"?as_of={on.isoformat()}",
    )
