"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from socialcard.http.context import PlatformDep, enforce_policy

router = APIRouter(tags=["system"], dependencies=[Depends(enforce_policy)])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(platform: PlatformDep) -> JSONResponse:
    """The database answers and is migrated: the process may take traffic."""
    try:
        with platform.engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ready", "schema_version": version})
