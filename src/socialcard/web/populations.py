"""The population figures the pages show: the city first, then the counties in official order."""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from socialcard.regions import queries
from socialcard.regions.data import CITY_CODE
from socialcard.regions.models import Region

ESTIMATE_PREFIX: Final = "估算"


def is_estimate(region: Region) -> bool:
    """Whether the figure is the shipped estimate still waiting for an official one."""
    return (region.population_source or "").startswith(ESTIMATE_PREFIX)


def population_rows(session: Session) -> list[Region]:
    return [queries.get_region(session, CITY_CODE), *queries.list_counties(session)]
