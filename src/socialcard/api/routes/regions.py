"""Regions and their populations (the denominators of the coverage figures)."""

from __future__ import annotations

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.api.routes import api_router
from socialcard.api.schemas import PopulationIn, RegionOut
from socialcard.db import transaction
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.regions import queries, services
from socialcard.regions.models import Region

router = api_router("/regions", "regions")


def _out(region: Region) -> RegionOut:
    return RegionOut(
        code=region.code,
        name=region.name,
        kind=region.kind.value,
        host_code=region.host_code,
        current_code=region.current_code,
        population=region.population,
        population_source=region.population_source,
    )


@router.get("", response_model=list[RegionOut])
def list_regions(session: DbSession) -> list[RegionOut]:
    return [_out(r) for r in queries.list_regions(session)]


@router.put("/{code}/population", response_model=RegionOut)
def set_population(
    code: str, body: PopulationIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> RegionOut:
    """Record an official population figure for a city or county."""
    with transaction(session):
        region = services.set_population(
            session,
            code=code,
            population=body.population,
            source=body.source,
            updated_at=platform.clock.now(),
        )
        append_audit(
            session,
            ctx.event(
                "region.population_set",
                AuditResult.SUCCESS,
                object_type="region",
                object_id=code,
                details={"population": body.population},
            ),
            at=platform.clock.now(),
        )
    return _out(region)
