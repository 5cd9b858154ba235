"""Reference data for partner systems: designated institutions and employers."""

from __future__ import annotations

from fastapi import Query
from pydantic import BaseModel

from socialcard.api.routes import api_router
from socialcard.http.context import DbSession
from socialcard.registry import queries
from socialcard.registry.models import InstitutionKind

router = api_router("", "reference")


class InstitutionOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    level: int | None
    county_code: str | None


class EmployerOut(BaseModel):
    id: int
    credit_code: str
    name: str
    county_code: str | None
    industry: str | None


@router.get("/institutions", response_model=list[InstitutionOut])
def list_institutions(
    session: DbSession,
    kind: InstitutionKind | None = Query(default=None),
    county_code: str | None = Query(default=None, pattern=r"^\d{6}$"),
) -> list[InstitutionOut]:
    """Hospitals (with level), pharmacies, partner banks, training and appraisal bodies."""
    return [
        InstitutionOut(
            id=i.id,
            code=i.code,
            name=i.name,
            kind=i.kind.value,
            level=i.level,
            county_code=i.county_code,
        )
        for i in queries.list_institutions(session, kind=kind, county_code=county_code)
    ]


@router.get("/employers", response_model=list[EmployerOut])
def list_employers(
    session: DbSession, county_code: str | None = Query(default=None, pattern=r"^\d{6}$")
) -> list[EmployerOut]:
    """Employers with their unified social credit codes."""
    return [
        EmployerOut(
            id=e.id,
            credit_code=e.credit_code,
            name=e.name,
            county_code=e.county_code,
            industry=e.industry,
        )
        for e in queries.list_employers(session, county_code=county_code)
    ]
