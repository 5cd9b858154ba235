"""The audited opening change, shared by the API and the web form, and who may make it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.access.policy import load_policy
from socialcard.access.services import Principal
from socialcard.catalog import queries, services
from socialcard.catalog.models import CatalogItem, ItemOpening, OpeningStatus
from socialcard.errors import PermissionDenied
from socialcard.http.context import RequestContext
from socialcard.regions.queries import get_region

OPEN_ANY = "catalog.open_any"


class NotResponsibleForItem(PermissionDenied):
    """A responsible unit's staff may change only the items their department answers for."""

    code = "not_responsible_for_item"

    def __init__(self, item_no: int) -> None:
        super().__init__(
            f"第 {item_no} 项不是本单位负责的事项，只能由其责任单位或领导小组办公室变更。",
            object_type="catalog_item",
            object_id=str(item_no),
        )


def may_change_item(principal: Principal, item: CatalogItem) -> bool:
    """The leading group may change any item; others only those of their department's units."""
    if load_policy().allows(principal.roles, OPEN_ANY):
        return True
    return bool(principal.responsible_units & set(item.responsible_units))


def check_may_change_item(session: Session, principal: Principal, item_no: int) -> None:
    """Raises:
    NotResponsibleForItem: the item belongs to other responsible units."""
    if not may_change_item(principal, queries.get_item(session, item_no)):
        raise NotResponsibleForItem(item_no)


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
    check_may_change_item(session, principal, item_no)
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
