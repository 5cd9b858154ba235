"""Person search, detail (masked per role) and the audited reveal."""

from __future__ import annotations

from socialcard.api.routes import api_router
from socialcard.api.schemas import PersonPage, PersonSearch
from socialcard.db import transaction
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.persons import PersonView, find_persons, open_person, present_person
from socialcard.kernel.clock import local_today
from socialcard.kernel.resident_id import ResidentId

router = api_router("/persons", "persons")


@router.post("/search", response_model=PersonPage)
def search_persons(
    body: PersonSearch, ctx: Context, session: DbSession, platform: PlatformDep
) -> PersonPage:
    """Find persons by ID number, by name (+ birth date) or by county, inside the caller's scope.

    The ID number travels in the body, never in the URL, so it stays out of access logs.
    """
    principal = ctx.require_principal()
    with transaction(session):
        resident_id = (
            ResidentId.parse(body.resident_id, today=local_today(platform.clock))
            if body.resident_id
            else None
        )
        people, total = find_persons(
            session,
            platform.keys,
            ctx,
            resident_id=resident_id,
            name=body.name,
            birth_on=body.birth_on,
            county_code=body.county_code,
            limit=body.limit,
            offset=body.offset,
            at=platform.clock.now(),
        )
    return PersonPage(total=total, items=[present_person(p, principal.masking) for p in people])


@router.get("/{person_id}", response_model=PersonView)
def get_person(
    person_id: int, ctx: Context, session: DbSession, platform: PlatformDep
) -> PersonView:
    """One person, masked for the caller's role."""
    with transaction(session):
        person = open_person(
            session, ctx, person_id=person_id, reveal=False, at=platform.clock.now()
        )
    return present_person(person, ctx.require_principal().masking)


@router.post("/{person_id}/reveal", response_model=PersonView)
def reveal_person(
    person_id: int, ctx: Context, session: DbSession, platform: PlatformDep
) -> PersonView:
    """The person with ID number and phone in full; the reveal is audited."""
    with transaction(session):
        person = open_person(
            session, ctx, person_id=person_id, reveal=True, at=platform.clock.now()
        )
    masking = ctx.require_principal().masking
    return present_person(person, masking, keys=platform.keys)
