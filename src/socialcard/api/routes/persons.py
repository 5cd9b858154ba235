"""Person search, detail (masked per role) and the audited reveal."""

from __future__ import annotations

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.api.routes import api_router
from socialcard.api.schemas import PersonOut, PersonPage, PersonSearch
from socialcard.db import transaction
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.persons import check_person_scope, present_person, scope_of
from socialcard.kernel.clock import local_today
from socialcard.kernel.resident_id import ResidentId
from socialcard.registry import queries

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
        if body.resident_id:
            resident_id = ResidentId.parse(body.resident_id, today=local_today(platform.clock))
            person = queries.find_person_by_resident_id(session, platform.keys, resident_id)
            people = [] if person is None else [person]
            for found in people:
                check_person_scope(principal, found)
            total = len(people)
        else:
            people, total = queries.search_persons(
                session,
                county_scope=scope_of(principal),
                name=body.name,
                birth_on=body.birth_on,
                county_code=body.county_code,
                limit=body.limit,
                offset=body.offset,
            )
        append_audit(
            session,
            ctx.event(
                "person.search",
                AuditResult.SUCCESS,
                object_type="person" if len(people) == 1 else None,
                object_id=people[0].id if len(people) == 1 else None,
                details={"by": "resident_id" if body.resident_id else "attributes", "found": total},
            ),
            at=platform.clock.now(),
        )
    items = [PersonOut(**present_person(p, principal.masking).as_dict()) for p in people]
    return PersonPage(total=total, items=items)


@router.get("/{person_id}", response_model=PersonOut)
def get_person(
    person_id: int, ctx: Context, session: DbSession, platform: PlatformDep
) -> PersonOut:
    """One person, masked for the caller's role."""
    principal = ctx.require_principal()
    with transaction(session):
        person = queries.get_person(session, person_id)
        check_person_scope(principal, person)
        append_audit(
            session,
            ctx.event(
                "person.view", AuditResult.SUCCESS, object_type="person", object_id=person.id
            ),
            at=platform.clock.now(),
        )
    return PersonOut(**present_person(person, principal.masking).as_dict())


@router.post("/{person_id}/reveal", response_model=PersonOut)
def reveal_person(
    person_id: int, ctx: Context, session: DbSession, platform: PlatformDep
) -> PersonOut:
    """The person with ID number and phone in full; the reveal is audited."""
    principal = ctx.require_principal()
    with transaction(session):
        person = queries.get_person(session, person_id)
        check_person_scope(principal, person)
        append_audit(
            session,
            ctx.event(
                "person.reveal", AuditResult.SUCCESS, object_type="person", object_id=person.id
            ),
            at=platform.clock.now(),
        )
    return PersonOut(**present_person(person, principal.masking, keys=platform.keys).as_dict())
