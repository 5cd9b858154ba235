"""API routes, one module per business area.

Every router is created by `api_router` with its full path prefix and the policy dependency, and
is included into the app without a further prefix: the route template the policy is looked up
by is then exactly the path the client calls.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from socialcard.http.context import enforce_policy

API_PREFIX = "/api/v1"


def api_router(path: str, tag: str) -> APIRouter:
    return APIRouter(prefix=API_PREFIX + path, tags=[tag], dependencies=[Depends(enforce_policy)])
