"""我的社保 as the holder sees it, on the portal and the kiosk: the records of the last ten years
as views (months, years, the yearly chart, the personal accounts and their latest movements,
enrolments, resident years, declarations, transfers), built from the insurance queries. Pure
presentation: the routes (web.routes.insurance_holder) decide who sees what and record the card
use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final

from sqlalchemy.orm import Session

from socialcard.insurance import queries
from socialcard.insurance.errors import (
    DECLARATION_STATUS_LABELS,
    ENROLMENT_STATUS_LABELS,
    KIND_LABELS,
    MONTH_SOURCE_LABELS,
    MONTH_STATUS_LABELS,
)
from socialcard.insurance.models import (
    CITY_REGION,
    DeclarationStatus,
    EnrolmentKind,
    EnrolmentStatus,
    MonthStatus,
    TransferDirection,
)
from socialcard.insurance.queries import MonthLike
from socialcard.insurance.rules import period_label
from socialcard.insurance.schemes import (
    EMPLOYEE_SCHEMES,
    MONTHLY_PARTS,
    SCHEMES,
    SchemeCode,
)
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.money import Money
from socialcard.regions.data import REGIONS
from socialcard.web.charts import Bar, BarChart, BarItem, horizontal_bar_chart

YEARS_SHOWN: Final = 10
LATEST_MOVEMENTS: Final = 20
REGION_NAMES: Final = {r.code: r.name for r in REGIONS}
# GB/T 2260 provinces, to name where a month transferred in was paid.
PROVINCE_NAMES: Final[dict[str, str]] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}  # fmt: skip
MOVEMENT_LABELS: Final[dict[str, str]] = {
    "account_credited": "缴费记入个人账户",
    "contribution_received": "个人缴费",
    "subsidy_received": "政府补贴",
    "interest_credited": "记账利息",
    "balance_migrated": "历史余额结转",
    "claim_approved": "医疗费用支付",
    "adjustment": "调整",
    "reversal": "冲正",
}


def yuan(minor: int) -> str:
    return Money(minor).format_yuan()


@dataclass(frozen=True, slots=True)
class MonthView:
    period: int
    label: str
    base_minor: int
    individual_minor: int
    employer_minor: int
    status: str
    status_label: str
    source_label: str
    region: str | None  # where the month was paid, when not in Yongzhou

    @property
    def total_minor(self) -> int:
        return self.individual_minor + self.employer_minor


@dataclass(frozen=True, slots=True)
class Cell:
    """One month of a year's row in the chart."""

    x: float
    state: str  # paid, elsewhere, due, out, none
    title: str


@dataclass(frozen=True, slots=True)
class YearView:
    year: int
    months: int  # months counted (the scheme counted most)
    due_months: int
    elsewhere_months: int
    individual_minor: int
    employer_minor: int
    schemes: list[tuple[str, int]]  # (short name, months counted), in scheme order
    rows: list[MonthView]

    @property
    def total_minor(self) -> int:
        return self.individual_minor + self.employer_minor


@dataclass(frozen=True, slots=True)
class ChartRow:
    bar: Bar
    cells: list[Cell]


@dataclass(frozen=True, slots=True)
class YearChart:
    """Ten years at a glance: each year's twelve months as cells, then the year's amount."""

    chart: BarChart
    rows: list[ChartRow]
    year_x: int  # the right edge of the year labels
    cell_size: int


@dataclass(frozen=True, slots=True)
class MovementView:
    at: datetime
    label: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class AccountPanel:
    scheme: SchemeCode
    title: str
    balance_minor: int
    movements: list[MovementView]


def axis_yuan(minor: float) -> str:
    """An amount axis label in yuan: 0, 5,000, 1.5万."""
    yuan = minor / 100
    if yuan >= 10_000:
        return f"{yuan / 10_000:g}万"
    return f"{yuan:,.0f}"


def _region(code: str, known: Mapping[str, str]) -> str | None:
    """Where a month was paid when not in Yongzhou: the sending region's name as its transfer
    gave it, else the province with the code."""
    if code == CITY_REGION or code.startswith("4311"):
        return None
    name = known.get(code) or REGION_NAMES.get(code)
    return name or f"{PROVINCE_NAMES.get(code[:2], '外地')}（{code}）"


def month_view(month: MonthLike, regions: Mapping[str, str]) -> MonthView:
    individual = sum(getattr(month, i) for _s, _e, i in MONTHLY_PARTS if i)
    employer = sum(getattr(month, e) for _s, e, _i in MONTHLY_PARTS)
    return MonthView(
        period=month.period,
        label=f"{month.period % 100:02d}月",
        base_minor=month.base_minor,
        individual_minor=individual,
        employer_minor=employer,
        status=month.status.value,
        status_label=MONTH_STATUS_LABELS[month.status.value],
        source_label=MONTH_SOURCE_LABELS[month.source.value],
        region=_region(month.region_code, regions),
    )


def year_views(
    months: Sequence[MonthLike], *, first_year: int, last_year: int,
    regions: Mapping[str, str],
) -> list[YearView]:  # fmt: skip
    """Each year from the first with a month (not before `first_year`) to `last_year`, oldest
    first; a year without months stays in the list, so a gap shows."""
    shown = [m for m in months if first_year <= m.period // 100 <= last_year]
    if not shown:
        return []
    summaries = {s.year: s for s in queries.summarise_by_year(shown)}
    by_year: dict[int, list[MonthLike]] = defaultdict(list)
    for m in shown:
        by_year[m.period // 100].append(m)
    views = []
    for year in range(min(by_year), last_year + 1):
        summary = summaries.get(year)
        counted = summary.months if summary else {}
        views.append(
            YearView(
                year=year,
                months=max(counted.values(), default=0),
                due_months=summary.due_months if summary else 0,
                elsewhere_months=summary.elsewhere_months if summary else 0,
                individual_minor=summary.individual_minor if summary else 0,
                employer_minor=summary.employer_minor if summary else 0,
                schemes=[
                    (SCHEMES[s].short_name, counted[s.value])
                    for s in EMPLOYEE_SCHEMES
                    if counted.get(s.value)
                ],
                rows=[month_view(m, regions) for m in by_year.get(year, [])],
            )
        )
    return views


def _cell_state(month: MonthView | None) -> str:
    if month is None:
        return "none"
    if month.status == MonthStatus.DUE.value:
        return "due"
    if month.status == MonthStatus.TRANSFERRED_OUT.value:
        return "out"
    return "elsewhere" if month.region else "paid"


@dataclass(frozen=True, slots=True)
class ChartLayout:
    """The geometry of the years chart on one kind of screen (SVG units; the chart is drawn
    1000 wide on a desktop or a kiosk, 400 wide for a phone, where the month cells are left
    out and the amounts lose their fen)."""

    width: int
    year_width: int
    cell: int  # 0: no month cells
    cell_gap: int
    value_width: int
    bar_height: int
    gap: int


LAYOUTS: Final[dict[str, ChartLayout]] = {
    "desktop": ChartLayout(1000, 70, 16, 3, 200, 22, 9),
    "kiosk": ChartLayout(1000, 86, 22, 4, 230, 28, 12),
    "phone": ChartLayout(400, 58, 0, 0, 132, 20, 8),
}


def _value_text(year: YearView, layout: ChartLayout) -> str:
    if not year.months:
        return f"欠费 {year.due_months} 个月" if year.due_months else "无缴费记录"
    if layout.cell:
        return f"{year.months} 个月 · {yuan(year.total_minor)}"
    return f"{year.months}个月 ¥{year.total_minor // 100:,}"


def year_chart(years: Sequence[YearView], *, screen: str) -> YearChart | None:
    """Lay the years out: the year, its twelve month cells (coloured by status), a bar for the
    amount paid (employer and individual parts of the months counted) and the months and
    amount written out."""
    if not years:
        return None
    layout = LAYOUTS[screen]
    step = layout.cell + layout.cell_gap
    chart = horizontal_bar_chart(
        [BarItem(f"{y.year}年", y.total_minor) for y in years],
        width=layout.width,
        label_width=layout.year_width + (12 * step + 16 if layout.cell else 8),
        value_width=layout.value_width,
        bar_height=layout.bar_height,
        gap=layout.gap,
        tick_label=axis_yuan,
    )
    if not any(y.total_minor for y in years):
        chart = replace(chart, ticks=())  # nothing paid: no amount axis
    rows = []
    for bar, year in zip(chart.bars, years, strict=True):
        by_month = {m.period % 100: m for m in year.rows}
        cells = []
        for n in range(1, 13 if layout.cell else 1):
            month = by_month.get(n)
            title = f"{year.year}年{n:02d}月 " + (month.status_label if month else "无缴费记录")
            if month and month.region:
                title += f"（{month.region}）"
            x = layout.year_width + 8 + (n - 1) * step
            cells.append(Cell(x=x, state=_cell_state(month), title=title))
        rows.append(ChartRow(replace(bar, value_text=_value_text(year, layout)), cells))
    return YearChart(chart=chart, rows=rows, year_x=layout.year_width, cell_size=layout.cell)


def movement_label(kind: str, amount_minor: int) -> str:
    """A personal account's movement in Chinese (a transfer says which way it went)."""
    if kind == "relation_transferred":
        return "转出至外地" if amount_minor < 0 else "外地转入"
    return MOVEMENT_LABELS.get(kind, "其他")


def account_panel(view: queries.AccountView) -> AccountPanel:
    return AccountPanel(
        scheme=view.scheme,
        title=f"{SCHEMES[view.scheme].name}个人账户",
        balance_minor=view.balance_minor,
        movements=[
            MovementView(line.created_at, movement_label(line.kind, line.amount_minor),
                         line.amount_minor)
            for line in view.latest
        ],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class EnrolmentView:
    scheme: str
    kind_label: str
    status: str
    status_label: str
    started_on: date
    ended_on: date | None
    end_reason: str | None
    employer: str | None


@dataclass(frozen=True, slots=True)
class ResidentView:
    year: int
    scheme: str
    amount_minor: int
    subsidy_minor: int
    status: str
    status_label: str
    paid_on: date | None
    paid_by_other: bool


@dataclass(frozen=True, slots=True)
class DeclarationView:
    declaration_no: str
    span: str
    months: int
    total_minor: int
    status_label: str


@dataclass(frozen=True, slots=True)
class TransferView:
    transfer_no: str
    direction: str
    region: str
    months: int
    on: date
    file_again: bool  # a transfer out whose data file the holder may download again


@dataclass(frozen=True, slots=True)
class Overview:
    """What 我的社保 shows."""

    enrolments: list[EnrolmentView]  # open ones (active or suspended)
    ended: list[EnrolmentView]  # terminated ones
    years: list[YearView]  # oldest first
    chart: YearChart | None  # on a desktop or a kiosk
    phone_chart: YearChart | None
    first_year: int
    last_year: int
    due_months: int
    accounts: list[AccountPanel]
    resident: list[ResidentView]
    declarations: list[DeclarationView]
    transfers: list[TransferView]
    has_resident: bool  # an active resident enrolment: pay the year
    has_flexible: bool  # an active flexible enrolment: declare months

    @property
    def months_shown(self) -> int:
        return sum(y.months for y in self.years)

    @property
    def pension_minor(self) -> int:
        pension = (SchemeCode.PENSION_EMPLOYEE, SchemeCode.PENSION_RESIDENT)
        return sum(a.balance_minor for a in self.accounts if a.scheme in pension)

    @property
    def medical_minor(self) -> int | None:
        medical = (a for a in self.accounts if a.scheme is SchemeCode.MEDICAL_EMPLOYEE)
        return next((a.balance_minor for a in medical), None)


def declaration_span(first_period: int, last_period: int) -> str:
    span = period_label(first_period)
    return span if last_period == first_period else f"{span}至{period_label(last_period)}"


def declaration_views(session: Session, person_id: int) -> list[DeclarationView]:
    return [
        DeclarationView(
            declaration_no=d.declaration_no,
            span=declaration_span(d.first_period, d.last_period),
            months=d.months,
            total_minor=d.total_minor,
            status_label=DECLARATION_STATUS_LABELS[d.status.value],
        )
        for d in queries.list_declarations(
            session, person_id=person_id, status=DeclarationStatus.DECLARED
        )
    ]


def build_overview(session: Session, person_id: int, *, at: datetime, kiosk: bool) -> Overview:
    """The holder's records as the page shows them: enrolments, ten years of months by year,
    the personal accounts with their latest movements, resident years, unpaid declarations."""
    overview = queries.insured_overview(
        session, person_id, at=at, years=YEARS_SHOWN, latest=LATEST_MOVEMENTS
    )
    this_year = at.astimezone(SHANGHAI).year
    moved = queries.list_transfers_of(session, person_id)
    regions = {t.region_code: t.region_name for t in moved if t.direction is TransferDirection.IN}
    first_year = this_year - YEARS_SHOWN + 1
    years = year_views(overview.months, first_year=first_year, last_year=this_year, regions=regions)
    accounts = [
        account_panel(view)
        for scheme in (SchemeCode.PENSION_EMPLOYEE, SchemeCode.PENSION_RESIDENT)
        if (view := queries.account_view(session, person_id, scheme, latest=LATEST_MOVEMENTS))
    ]
    if overview.medical is not None:
        accounts.append(account_panel(overview.medical))
    active = [e for e, _n in overview.enrolments if e.status is EnrolmentStatus.ACTIVE]
    enrolments = [
        EnrolmentView(
            scheme=SCHEMES[e.scheme].name,
            kind_label=KIND_LABELS[e.kind.value],
            status=e.status.value,
            status_label=ENROLMENT_STATUS_LABELS[e.status.value],
            started_on=e.started_on,
            ended_on=e.ended_on,
            end_reason=e.end_reason,
            employer=employer,
        )
        for e, employer in overview.enrolments
    ]
    return Overview(
        enrolments=[e for e in enrolments if e.status != EnrolmentStatus.TERMINATED.value],
        ended=[e for e in enrolments if e.status == EnrolmentStatus.TERMINATED.value],
        years=years,
        chart=year_chart(years, screen="kiosk" if kiosk else "desktop"),
        phone_chart=None if kiosk else year_chart(years, screen="phone"),
        first_year=years[0].year if years else this_year,
        last_year=this_year,
        due_months=sum(1 for m in overview.months if m.status is MonthStatus.DUE),
        accounts=accounts,
        resident=[
            ResidentView(
                year=r.year,
                scheme=SCHEMES[r.scheme].name,
                amount_minor=r.amount_minor,
                subsidy_minor=r.subsidy_minor,
                status=r.status.value,
                status_label=MONTH_STATUS_LABELS[r.status.value],
                paid_on=r.paid_on,
                paid_by_other=r.payer_person_id not in (None, person_id),
            )
            for r in overview.resident
        ],
        declarations=declaration_views(session, person_id),
        transfers=[
            TransferView(
                transfer_no=t.transfer_no,
                direction="转出" if t.direction is TransferDirection.OUT else "转入",
                region=t.region_name,
                months=t.months,
                on=t.created_at.astimezone(SHANGHAI).date(),
                file_again=t.direction is TransferDirection.OUT and t.data_cipher is not None,
            )
            for t in moved
        ],
        has_resident=any(e.kind is EnrolmentKind.RESIDENT for e in active),
        has_flexible=any(e.kind is EnrolmentKind.FLEXIBLE for e in active),
    )
