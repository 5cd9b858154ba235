"""Regions and their resident populations (the denominators of every coverage figure), as a
chart people can read at a glance, and the audited correction of a population."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.db import transaction
from socialcard.errors import InvalidField, RuleViolation
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.regions import services
from socialcard.web.charts import BarItem, horizontal_bar_chart
from socialcard.web.forms import FormErrors, see_other
from socialcard.web.populations import is_estimate, population_rows
from socialcard.web.rendering import render_page

router = APIRouter()


def _render_regions(
    request: Request, session: Session, *, errors: FormErrors | None = None, status_code: int = 200
) -> Response:
    rows = population_rows(session)
    city, counties = rows[0], rows[1:]
    ranked = sorted(counties, key=lambda county: county.population or 0, reverse=True)
    chart = horizontal_bar_chart(
        [BarItem(county.name, county.population, is_estimate(county)) for county in ranked]
    )
    return render_page(
        request,
        "regions.html",
        status_code=status_code,
        city=city,
        counties=counties,
        county_total=sum(county.population or 0 for county in counties),
        has_estimates=any(is_estimate(county) for county in counties),
        chart=chart,
        population_rows=rows,
        errors=errors or FormErrors(),
    )


@router.get("/regions")
def regions_page(request: Request, ctx: Context, session: DbSession) -> Response:
    ctx.require_principal()
    return _render_regions(request, session)


@router.post("/regions/{code}/population")
def set_population(
    code: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    population: Annotated[str, Form(max_length=20)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Record an official population figure for the city or a county, with its source."""
    ctx.require_principal()
    try:
        figure = _parse_population(population)
        with transaction(session):
            services.set_population(
                session,
                code=code,
                population=figure,
                source=source,
                updated_at=platform.clock.now(),
            )
            append_audit(
                session,
                ctx.event(
                    "region.population_set",
                    AuditResult.SUCCESS,
                    object_type="region",
                    object_id=code,
                    details={"population": figure},
                ),
                at=platform.clock.now(),
            )
    except RuleViolation as error:
        errors = FormErrors.of(
            error, aliases={"population": f"{code}.population", "source": f"{code}.source"}
        )
        return _render_regions(request, session, errors=errors, status_code=422)
    return see_other("/regions?notice=population_set")


def _parse_population(text: str) -> int:
    digits = text.replace(",", "").replace("，", "").replace(" ", "").strip()
    if not digits.isascii() or not digits.isdigit():
        raise InvalidField("population", "whole_number", "人口数应为不小于 0 的整数。")
    return int(digits)
