"""Reads of region reference data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.regions.errors import RegionNotFound
from socialcard.regions.models import Region, RegionKind


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise RegionNotFound(code)
    return region


def find_region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def list_counties(session: Session) -> list[Region]:
    """The county-level units in display order (the 11 by default)."""
    stmt = select(Region).where(Region.kind == RegionKind.COUNTY).order_by(Region.sort_order)
    return list(session.scalars(stmt))


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region).order_by(Region.sort_order)))


def resolve_county_code(session: Session, code: str) -> str | None:
    """Map any known code (county, zone, historical alias) to its current county code.

    A zone resolves to its host county, a historical code to the county it became; the city
    itself and unknown codes give None.
    """
    regions = {r.code: r for r in list_regions(session)}
    return resolve_county_code_in(regions, code)


def resolve_county_code_in(regions: dict[str, Region], code: str) -> str | None:
    """Same as resolve_county_code over an already loaded map (for bulk imports)."""
    seen: set[str] = set()
    current = regions.get(code)
    while current is not None and current.code not in seen:
        seen.add(current.code)
        if current.kind is RegionKind.COUNTY:
            return current.code
        next_code = current.host_code or current.current_code
        current = regions.get(next_code) if next_code else None
    return None
