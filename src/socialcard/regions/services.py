"""Writes to the region reference data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from socialcard.errors import InvalidField
from socialcard.regions.data import CITY_CODE, REGIONS
from socialcard.regions.models import Region
from socialcard.regions.queries import get_region


def ensure_regions(session: Session) -> int:
    """Insert the shipped regions that are missing; never overwrite edited populations.

    Returns the number of regions inserted.
    """
    existing = {code for (code,) in session.query(Region.code).all()}
    inserted = 0
    # Parents before children: the city first, then counties, zones and historical codes.
    for order, seed in enumerate(REGIONS):
        if seed.code in existing:
            continue
        session.add(
            Region(
                code=seed.code,
                name=seed.name,
                kind=seed.kind,
                parent_code=None if seed.code == CITY_CODE else CITY_CODE,
                host_code=seed.host_code,
                current_code=seed.current_code,
                sort_order=order,
                population=seed.population,
                population_source=seed.population_source,
            )
        )
        session.flush()
        inserted += 1
    return inserted


def set_population(
    session: Session, *, code: str, population: int, source: str, updated_at: datetime
) -> Region:
    """Record an official resident population for a city or county (coverage divides by it)."""
    if population < 0:
        raise InvalidField("population", "non_negative", "人口数不能为负数")
    if not source.strip():
        raise InvalidField("source", "required", "请注明人口数据来源")
    region = get_region(session, code)
    region.population = population
    region.population_source = source.strip()
    region.population_updated_at = updated_at
    return region
