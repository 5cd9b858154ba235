"""The application catalogue: items, what is opened where on a date, and opening changes."""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from fastapi import File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.api.routes import api_router
from socialcard.catalog import queries, services
from socialcard.catalog.metrics import Ratio, compute_figures, responsibilities
from socialcard.catalog.models import USAGE_KIND_LABELS, CatalogItem, OpeningStatus
from socialcard.catalog.opening_sheet import (
    OpeningSheetRejected,
    SheetProblem,
    read_opening_sheet,
)
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.http.catalog import change_item_opening, may_change_item
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.reports import evaluation_download
from socialcard.kernel.clock import local_today

router = api_router("/catalog", "catalog")

SHEET_BYTES_MAX = 5 << 20


class CatalogItemOut(BaseModel):
    item_no: int
    catalog_version: str
    category: str
    usage_kind: str
    usage_kind_label: str
    name: str
    description: str
    responsible_units: list[str]
    planned_completion: str
    planned_from_on: date | None
    planned_to_on: date | None
    by_ministry_progress: bool
    notes: str | None


class OpeningIn(BaseModel):
    region_code: str = Field(pattern=r"^\d{6}$", description="431100 for the city, or a county")
    status: OpeningStatus
    effective_on: date
    reason: str | None = Field(default=None, max_length=200)


class OpeningOut(BaseModel):
    item_no: int
    region_code: str
    status: str
    effective_on: date
    reason: str | None


def _item_out(item: CatalogItem) -> CatalogItemOut:
    return CatalogItemOut(
        item_no=item.item_no,
        catalog_version=item.catalog_version,
        category=item.category,
        usage_kind=item.usage_kind.value,
        usage_kind_label=USAGE_KIND_LABELS[item.usage_kind],
        name=item.name,
        description=item.description,
        responsible_units=list(item.responsible_units),
        planned_completion=item.planned_completion,
        planned_from_on=item.planned_from_on,
        planned_to_on=item.planned_to_on,
        by_ministry_progress=item.by_ministry_progress,
        notes=item.notes,
    )


@router.get("/items", response_model=list[CatalogItemOut])
def list_items(session: DbSession) -> list[CatalogItemOut]:
    """All items of the current catalogue version, in order."""
    return [_item_out(i) for i in queries.list_items(session)]


@router.get("/items/{item_no}", response_model=CatalogItemOut)
def get_item(item_no: int, session: DbSession) -> CatalogItemOut:
    return _item_out(queries.get_item(session, item_no))


@router.get("/openings", response_model=list[OpeningOut])
def list_openings(
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None, description="default: today (Asia/Shanghai)"),
) -> list[OpeningOut]:
    """The status of every (item, region) pair that has one on the date: what was open where."""
    on = as_of or local_today(platform.clock)
    history = {
        (o.item_no, o.region_code): o
        for o in queries.list_opening_history(session)
        if o.effective_on <= on
    }
    return [
        OpeningOut(
            item_no=o.item_no,
            region_code=o.region_code,
            status=o.status.value,
            effective_on=o.effective_on,
            reason=o.reason,
        )
        for _, o in sorted(history.items())
    ]


@router.post("/items/{item_no}/openings", response_model=OpeningOut, status_code=201)
def change_opening(
    item_no: int, body: OpeningIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> OpeningOut:
    """Open, suspend or close an item in a county or for the city from a date on (audited)."""
    with transaction(session):
        opening = change_item_opening(
            session,
            ctx,
            item_no=item_no,
            region_code=body.region_code,
            status=body.status,
            effective_on=body.effective_on,
            reason=body.reason,
            at=platform.clock.now(),
        )
    return OpeningOut(
        item_no=opening.item_no,
        region_code=opening.region_code,
        status=opening.status.value,
        effective_on=opening.effective_on,
        reason=opening.reason,
    )


class RatioOut(BaseModel):
    numerator: int
    denominator: int
    percent: str


class ItemFiguresOut(BaseModel):
    item_no: int
    name: str
    category: str
    usage_kind: str
    is_applicable: bool
    opened_at_city_level: bool
    opened_counties: list[str]
    county_coverage: RatioOut
    population_coverage: RatioOut
    users: int


class SubcategoryOut(BaseModel):
    category: str
    usage_kind: str
    items: int
    mean_county_coverage: str
    mean_population_coverage: str
    meets_target: bool


class FiguresOut(BaseModel):
    as_of: date
    period_from: date
    period_to: date
    opening_rate_city: RatioOut
    opening_target: str | None
    opening_rate_by_county: dict[str, RatioOut]
    opening_rate_by_category: dict[str, RatioOut]
    opening_rate_by_usage_kind: dict[str, RatioOut]
    subcategories: list[SubcategoryOut]
    not_applicable_items: list[int]
    items: list[ItemFiguresOut]


def _ratio(ratio: Ratio) -> RatioOut:
    return RatioOut(numerator=ratio.numerator, denominator=ratio.denominator, percent=ratio.percent)


def _share(value: Decimal | None) -> str:
    return "—" if value is None else Ratio(int(value * 10000), 10000).percent


@router.get("/metrics", response_model=FiguresOut)
def get_metrics(
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None, description="openings on this date; default today"),
    period_from: date | None = Query(default=None, description="uses from; default 1 Jan"),
    period_to: date | None = Query(default=None, description="uses to; default as_of"),
) -> FiguresOut:
    """Every catalogue figure (definitions: docs/metrics.md), computed from openings and uses."""
    on = as_of or local_today(platform.clock)
    figures = compute_figures(
        queries.gather_metric_inputs(
            session,
            as_of=on,
            period_from=period_from or date(on.year, 1, 1),
            period_to=period_to or on,
        )
    )
    return FiguresOut(
        as_of=figures.as_of,
        period_from=figures.period_from,
        period_to=figures.period_to,
        opening_rate_city=_ratio(figures.opening_rate_city),
        opening_target=_share(figures.opening_target) if figures.opening_target else None,
        opening_rate_by_county={k: _ratio(v) for k, v in figures.opening_rate_by_county.items()},
        opening_rate_by_category={
            k: _ratio(v) for k, v in figures.opening_rate_by_category.items()
        },
        opening_rate_by_usage_kind={
            k.value: _ratio(v) for k, v in figures.opening_rate_by_usage_kind.items()
        },
        subcategories=[
            SubcategoryOut(
                category=s.category,
                usage_kind=s.usage_kind.value,
                items=s.items,
                mean_county_coverage=_share(s.mean_county_coverage),
                mean_population_coverage=_share(s.mean_population_coverage),
                meets_target=s.meets_target,
            )
            for s in figures.subcategories
        ],
        not_applicable_items=list(figures.not_applicable_items),
        items=[
            ItemFiguresOut(
                item_no=f.item_no,
                name=f.name,
                category=f.category,
                usage_kind=f.usage_kind.value,
                is_applicable=f.is_applicable,
                opened_at_city_level=f.opened_at_city_level,
                opened_counties=list(f.opened_counties),
                county_coverage=_ratio(f.county_coverage),
                population_coverage=_ratio(f.population_coverage),
                users=f.users,
            )
            for f in figures.items
        ],
    )


class UnitItemOut(BaseModel):
    item_no: int
    name: str
    planned_completion: str
    due_on: date | None
    county_coverage: RatioOut
    is_overdue: bool


class ResponsibilityOut(BaseModel):
    unit: str
    items: list[UnitItemOut]
    overdue: int


@router.get("/responsibilities", response_model=list[ResponsibilityOut])
def list_responsibilities(
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None, description="default: today"),
) -> list[ResponsibilityOut]:
    """Each responsible unit's items, their planned completion and which are overdue."""
    on = as_of or local_today(platform.clock)
    figures = compute_figures(
        queries.gather_metric_inputs(
            session, as_of=on, period_from=on, period_to=on, with_users=False
        )
    )
    return [
        ResponsibilityOut(
            unit=unit.unit,
            overdue=len(unit.overdue),
            items=[
                UnitItemOut(
                    item_no=i.figures.item_no,
                    name=i.figures.name,
                    planned_completion=i.plan.planned_completion,
                    due_on=i.plan.due_on,
                    county_coverage=_ratio(i.figures.county_coverage),
                    is_overdue=i.is_overdue,
                )
                for i in unit.items
            ],
        )
        for unit in responsibilities(figures, queries.list_item_plans(session))
    ]


@router.post("/openings/sheet", response_model=list[OpeningOut], status_code=201)
async def apply_opening_sheet(
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    file: UploadFile = File(...),
) -> list[OpeningOut]:
    """Apply a bulk-opening spreadsheet (CSV or XLSX): every row, or none with every problem."""
    principal = ctx.require_principal()
    suffix = Path(file.filename or "sheet.csv").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidField("file", "csv_or_xlsx", "只支持 .csv 和 .xlsx 文件。")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sheet{suffix}"
        path.write_bytes(await file.read(SHEET_BYTES_MAX + 1))
        if path.stat().st_size > SHEET_BYTES_MAX:
            raise InvalidField("file", "size_max_5mib", "文件超过 5 MiB。")
        changes = read_opening_sheet(path)
    items = {item.item_no: item for item in queries.list_items(session)}
    foreign = [
        c
        for c in changes
        if c.item_no in items and not may_change_item(principal, items[c.item_no])
    ]
    if foreign:
        raise OpeningSheetRejected(
            [SheetProblem(c.row_number, "item_no", "不是本单位负责的事项") for c in foreign]
        )
    with transaction(session):
        applied = services.apply_opening_sheet(
            session, changes, recorded_by=principal.staff_id, at=platform.clock.now()
        )
        append_audit(
            session,
            ctx.event(
                "catalog.opening_sheet_applied",
                AuditResult.SUCCESS,
                object_type="catalog",
                details={"rows": len(applied)},
            ),
            at=platform.clock.now(),
        )
    return [
        OpeningOut(
            item_no=o.item_no,
            region_code=o.region_code,
            status=o.status.value,
            effective_on=o.effective_on,
            reason=o.reason,
        )
        for o in applied
    ]


@router.get("/reports/evaluation.{file_format}")
def evaluation_report(
    file_format: str,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    as_of: date | None = Query(default=None, description="default: today"),
) -> Response:
    """The evaluation report (评估报告) as XLSX or PDF; the export is audited."""
    return evaluation_download(
        session,
        ctx,
        file_format=file_format,
        as_of=as_of or local_today(platform.clock),
        at=platform.clock.now(),
    )
