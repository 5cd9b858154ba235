"""The one mapping from domain error categories to HTTP statuses, and problem+json bodies
(RFC 9457) carrying the stable domain code."""

from __future__ import annotations

from typing import Any

from socialcard.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RuleViolation,
)

PROBLEM_JSON = "application/problem+json"

STATUS_BY_CATEGORY: tuple[tuple[type[DomainError], int], ...] = (
    (NotAuthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RuleViolation, 422),
)


def status_for(error: DomainError) -> int:
    for category, status in STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 400


def problem_body(error: DomainError, *, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:socialcard:error:{error.code}",
        "title": error.title,
        "status": status_for(error),
        "detail": error.message,
        "code": error.code,
        "request_id": request_id,
    }
    for key, value in error.details.items():
        body.setdefault(key, value)
    return body
