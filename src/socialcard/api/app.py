"""The API router: /api/v1 for partner systems, plus /healthz and /readyz."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from socialcard.api.routes import (
    audit,
    cards,
    catalog,
    disbursement,
    imports,
    insurance,
    ledger,
    payments,
    persons,
    reference,
    regions,
    staff,
    system,
    terminals,
)
from socialcard.errors import DomainError
from socialcard.http.context import request_id_of
from socialcard.http.problems import PROBLEM_JSON, problem_body, status_for


def build_api_routers() -> list[APIRouter]:
    """The API's routers, each carrying its full prefix (include them without another)."""
    modules = (
        system,
        persons,
        regions,
        reference,
        catalog,
        cards,
        imports,
        staff,
        audit,
        disbursement,
        ledger,
        payments,
    )
    return [m.router for m in modules] + [
        insurance.router,
        insurance.public,
        insurance.terminal_router,
        terminals.router,
        terminals.signed,
    ]


def problem_response(request: Request, error: DomainError) -> JSONResponse:
    status = status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        problem_body(error, request_id=request_id_of(request)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def validation_problem(request: Request, error: RequestValidationError) -> JSONResponse:
    """Reshape FastAPI's validation errors into problem+json naming each field and rule."""
    fields = [
        {
            "field": ".".join(
                str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")
            ),
            "rule": e.get("type"),
            "message": e.get("msg"),
        }
        for e in error.errors()
    ]
    body = {
        "type": "urn:socialcard:error:invalid_request",
        "title": "请求格式不正确",
        "status": 422,
        "detail": "; ".join(f"{f['field']}: {f['message']}" for f in fields),
        "code": "invalid_request",
        "request_id": request_id_of(request),
        "errors": fields,
    }
    return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)
