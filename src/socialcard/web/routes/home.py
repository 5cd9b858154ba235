"""The home page (the doors and working pages a user may open), the counter and the department
console. The resident portal and the kiosk are in holders.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.http.context import Context, DbSession, RequestContext
from socialcard.regions import queries as regions
from socialcard.web.forms import permissions_of
from socialcard.web.navigation import doors_for, functions_for
from socialcard.web.rendering import render_page
from socialcard.web.routes.persons import SearchForm, searchable_counties

router = APIRouter()


def render_home(
    request: Request,
    ctx: RequestContext,
    session: Session,
) -> Response:
    """Home: the doors and functions this user may open."""
    principal = ctx.require_principal()
    permissions = permissions_of(ctx)
    scope = regions.find_region(session, principal.scope_region_code)
    return render_page(
        request,
        "home.html",
        doors=doors_for(permissions),
        functions=functions_for(permissions),
        scope_name=scope.name if scope is not None else principal.scope_region_code,
    )


@router.get("/")
def home(request: Request, ctx: Context, session: DbSession) -> Response:
    return render_home(request, ctx, session)


@router.get("/counter")
def counter(request: Request, ctx: Context, session: DbSession) -> Response:
    principal = ctx.require_principal()
    form = SearchForm(searchable_counties(session, principal))
    return render_page(request, "rooms/counter.html", search_form=form)


@router.get("/console")
def console(request: Request, ctx: Context) -> Response:
    ctx.require_principal()
    return render_page(request, "rooms/console.html")
