"""The application catalogue (应用目录): the 111 items by category, with where each is opened
today, and — for the leading group office — the audited opening, suspension or closing of an
item for a county or the whole city from a date on."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access.services import Principal
from socialcard.catalog import queries
from socialcard.catalog.metrics import compute_figures
from socialcard.catalog.models import USAGE_KIND_LABELS, CatalogItem, OpeningStatus
from socialcard.db import transaction
from socialcard.errors import Conflict, InvalidField, NotFound, RuleViolation
from socialcard.http.catalog import change_item_opening, may_change_item
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.kernel.clock import local_today
from socialcard.regions.data import CITY_CODE
from socialcard.regions.queries import get_region, list_counties
from socialcard.web.forms import FormErrors, see_other
from socialcard.web.rendering import render_page

router = APIRouter()

STATUS_CHOICES: Final = (
    (OpeningStatus.OPENED.value, "开通"),
    (OpeningStatus.SUSPENDED.value, "暂停"),
    (OpeningStatus.CLOSED.value, "关闭"),
)


def _render_catalog(
    request: Request,
    session: Session,
    today: date,
    principal: Principal,
    *,
    errors: FormErrors | None = None,
    error_item: int | None = None,
    values: dict[str, str] | None = None,
    changed: CatalogItem | None = None,
    status_code: int = 200,
) -> Response:
    items = queries.list_items(session)
    inputs = queries.gather_metric_inputs(
        session, as_of=today, period_from=date(today.year, 1, 1), period_to=today
    )
    figures = {f.item_no: f for f in compute_figures(inputs).items}
    groups: dict[str, list[dict[str, object]]] = {}
    for item in items:
        groups.setdefault(item.category, []).append(
            {
                "item": item,
                "usage_kind": USAGE_KIND_LABELS[item.usage_kind],
                "figures": figures[item.item_no],
            }
        )
    counties = list_counties(session)
    regions = [(CITY_CODE, "永州市（全市）"), *((c.code, c.name) for c in counties)]
    return render_page(
        request,
        "catalog/index.html",
        status_code=status_code,
        groups=groups,
        item_count=len(items),
        county_count=len(counties),
        regions=regions,
        status_choices=STATUS_CHOICES,
        today=today,
        errors=errors or FormErrors(),
        error_item=error_item,
        values=values or {},
        changed=changed,
        openable={item.item_no for item in items if may_change_item(principal, item)},
    )


@router.get("/catalog")
def catalog_page(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    changed: str = "",
) -> Response:
    principal = ctx.require_principal()
    changed_item = None
    if changed.isascii() and changed.isdigit() and len(changed) <= 4:
        try:
            changed_item = queries.get_item(session, int(changed))
        except NotFound:
            changed_item = None
    return _render_catalog(
        request, session, local_today(platform.clock), principal, changed=changed_item
    )


def _parse_change(
    session: Session, region_code: str, status: str, effective_on: str
) -> tuple[str, OpeningStatus, date]:
    code = region_code.strip()
    if code != CITY_CODE and code not in {c.code for c in list_counties(session)}:
        raise InvalidField("region_code", "unknown_region", "请选择全市或一个县区。")
    get_region(session, code)
    try:
        chosen = OpeningStatus(status)
    except ValueError:
        raise InvalidField("status", "unknown_status", "请选择开通、暂停或关闭。") from None
    try:
        on = date.fromisoformat(effective_on.strip())
    except ValueError:
        raise InvalidField("effective_on", "invalid_date", "请填写生效日期（年-月-日）。") from None
    return code, chosen, on


@router.post("/catalog/items/{item_no}/openings")
def change_opening(
    item_no: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    region_code: Annotated[str, Form(max_length=10)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
    effective_on: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Open, suspend or close an item for a county or the city from a date on (audited)."""
    principal = ctx.require_principal()
    values = {
        "region_code": region_code,
        "status": status,
        "effective_on": effective_on,
        "reason": reason,
    }
    try:
        code, chosen, on = _parse_change(session, region_code, status, effective_on)
        with transaction(session):
            change_item_opening(
                session,
                ctx,
                item_no=item_no,
                region_code=code,
                status=chosen,
                effective_on=on,
                reason=reason.strip() or None,
                at=platform.clock.now(),
            )
    except (RuleViolation, Conflict, NotFound) as error:
        session.rollback()
        errors = FormErrors.of(error, aliases={name: f"{item_no}.{name}" for name in values})
        return _render_catalog(
            request,
            session,
            local_today(platform.clock),
            principal,
            errors=errors,
            error_item=item_no,
            values=values,
            status_code=errors.status_code,
        )
    return see_other(f"/catalog?changed={item_no}#item-{item_no}")
