"""The application catalogue: items, what is opened where on a date, and opening changes."""

from __future__ import annotations

from datetime import date

from fastapi import Query
from pydantic import BaseModel, Field

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.api.routes import api_router
from socialcard.catalog import queries, services
from socialcard.catalog.models import USAGE_KIND_LABELS, CatalogItem, OpeningStatus
from socialcard.db import transaction
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.kernel.clock import local_today
from socialcard.regions.queries import get_region

router = api_router("/catalog", "catalog")


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
    principal = ctx.require_principal()
    with transaction(session):
        get_region(session, body.region_code)
        opening = services.change_opening(
            session,
            item_no=item_no,
            region_code=body.region_code,
            status=body.status,
            effective_on=body.effective_on,
            reason=body.reason,
            recorded_by=principal.staff_id,
            at=platform.clock.now(),
        )
        append_audit(
            session,
            ctx.event(
                "catalog.opening_changed",
                AuditResult.SUCCESS,
                object_type="catalog_item",
                object_id=item_no,
                details={
                    "region_code": body.region_code,
                    "status": body.status.value,
                    "effective_on": body.effective_on.isoformat(),
                },
            ),
            at=platform.clock.now(),
        )
    return OpeningOut(
        item_no=opening.item_no,
        region_code=opening.region_code,
        status=opening.status.value,
        effective_on=opening.effective_on,
        reason=opening.reason,
    )
