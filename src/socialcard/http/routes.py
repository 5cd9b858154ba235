"""List every route of the application as (METHOD, path template), for the authorization
matrix and for operators. Handles FastAPI's included-router objects by duck typing, since the
framework keeps them private."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import Mount


def _walk(routes: Iterable[Any], found: set[tuple[str, str]]) -> None:
    for route in routes:
        if isinstance(route, Mount):
            found.add(("GET", route.path + "/{path:path}"))
            continue
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            _walk(candidates(), found)
            continue
        original = getattr(route, "original_route", route)
        methods = getattr(original, "methods", None) or ()
        path = getattr(route, "path", None) or getattr(original, "path", None)
        if path:
            found.update((method, str(path)) for method in methods if method != "HEAD")


def list_route_templates(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers."""
    found: set[tuple[str, str]] = set()
    _walk(app.router.routes, found)
    return found
