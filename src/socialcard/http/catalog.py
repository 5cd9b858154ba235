"""The audited opening change, shared by the API and the web form."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.catalog import services
from socialcard.catalog.models import ItemOpening, OpeningStatus
from socialcard.http.context import RequestContext
from socialcard.regions.queries import get_region


def change_item_opening(
    session: Session,
    ctx: RequestContext,
    *,
    item_no: int,
    region_code: str,
    status: OpeningStatus,
    effective_on: date,
    reason: str | None,
    at: datetime,
) -> ItemOpening:
    """Open, suspend or close an item in a region for the caller, and audit it (the caller owns
    the transaction)."""
    principal = ctx.require_principal()
    get_region(session, region_code)
    opening = services.change_opening(
        session,
        item_no=item_no,
        region_code=region_code,
        status=status,
        effective_on=effective_on,
        reason=reason,
        recorded_by=principal.staff_id,
        at=at,
    )
    append_audit(
        session,
        ctx.event(
            "catalog.opening_changed",
            AuditResult.SUCCESS,
            object_type="catalog_item",
            object_id=item_no,
            details={
                "region_code": region_code,
                "status": status.value,
                "effective_on": effective_on.isoformat(),
            },
        ),
        at=at,
    )
    return opening
