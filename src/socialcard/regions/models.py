"""Regions: one row per code the platform knows, current or historical."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.db import Base, UTCDateTime, enum_type


class RegionKind(StrEnum):
    """What a region code stands for."""

    CITY = "city"  # prefecture-level city, 永州市
    COUNTY = "county"  # county-level unit: district, county or county-level city
    ZONE = "zone"  # management zone or development zone; statistical code, inside a host county
    HISTORICAL = "historical"  # a code no longer current, kept so old data resolves


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[RegionKind] = mapped_column(enum_type(RegionKind, "region_kind", length=20))
    # For a county or zone: the city. For a zone: host_code is the county that hosts it.
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    host_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    # For a historical code: the current code it became.
    current_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int | None] = mapped_column(Integer)
    population_source: Mapped[str | None] = mapped_column(String(200))
    population_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
