"""Person search, the person page (masked per role, with its version history) and the audited
reveal. The ID number travels only in POST bodies and is never echoed back into a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access.policy import Masking
from socialcard.access.services import Principal
from socialcard.bootstrap import Platform
from socialcard.cards.models import IN_HAND, IN_PIPELINE, PARTNER_BANKS
from socialcard.db import transaction
from socialcard.errors import InvalidField, RuleViolation
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.persons import (
    STATUS_LABELS,
    PersonView,
    find_persons,
    mask_address,
    open_person,
    present_person,
)
from socialcard.kernel.clock import local_today
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.masking import mask_name
from socialcard.kernel.resident_id import ResidentId
from socialcard.regions import queries as regions
from socialcard.regions.models import Region
from socialcard.registry import queries
from socialcard.registry.models import Person, PersonStatus, PersonVersion
from socialcard.web.forms import FormErrors
from socialcard.web.labels import PERSON_FIELDS
from socialcard.web.rendering import render_page
from socialcard.web.routes.cards import holder_cards

router = APIRouter()

PAGE_SIZE = 50
REGION_FIELDS = frozenset({"household_region_code", "residence_county_code"})
ADDRESS_FIELDS = frozenset({"household_address", "residence_address"})


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    """What the form asked for, minus the ID number (which is never written back)."""

    name: str = ""
    birth_on: str = ""
    county_code: str = ""
    by_resident_id: bool = False


@dataclass(frozen=True, slots=True)
class FoundPerson:
    view: PersonView
    county_name: str


@dataclass(frozen=True, slots=True)
class Change:
    label: str
    previous: str


@dataclass(frozen=True, slots=True)
class VersionRow:
    version: int
    changed_at: datetime
    source: str
    import_id: int | None
    changes: tuple[Change, ...]


def searchable_counties(session: Session, principal: Principal) -> list[Region]:
    """The counties a user may search: all for city-wide staff, else their own."""
    return [
        county
        for county in regions.list_counties(session)
        if principal.is_city_wide or county.code == principal.scope_region_code
    ]


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The search form as the page shows it."""

    counties: list[Region]
    criteria: SearchCriteria = field(default_factory=SearchCriteria)
    errors: FormErrors = field(default_factory=FormErrors)


@router.get("/persons")
def search_page(request: Request, ctx: Context, session: DbSession) -> Response:
    principal = ctx.require_principal()
    form = SearchForm(searchable_counties(session, principal))
    return render_page(request, "persons/search.html", search_form=form)


@router.post("/persons/search")
def search_persons(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    resident_id: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=50)] = "",
    birth_on: Annotated[str, Form(max_length=10)] = "",
    county_code: Annotated[str, Form(max_length=6)] = "",
    offset: Annotated[int, Form(ge=0)] = 0,
) -> Response:
    """Find persons by ID number, by name (+ birth date) or by county, inside the user's scope."""
    principal = ctx.require_principal()
    criteria = SearchCriteria(
        name=name.strip(),
        birth_on=birth_on.strip(),
        county_code=county_code.strip(),
        by_resident_id=bool(resident_id.strip()),
    )
    counties = searchable_counties(session, principal)
    try:
        parsed_id = (
            ResidentId.parse(resident_id, today=local_today(platform.clock))
            if resident_id.strip()
            else None
        )
        parsed_birth = _parse_birth_date(criteria.birth_on)
        if criteria.county_code and criteria.county_code not in {c.code for c in counties}:
            raise InvalidField("county_code", "in_scope", "请选择您辖区内的县区。")
        if parsed_id is None and not criteria.name and not criteria.county_code:
            raise RuleViolation("请输入公民身份号码，或姓名（可加出生日期），或选择县区。")
    except RuleViolation as error:
        form = SearchForm(counties, criteria, FormErrors.of(error))
        return render_page(request, "persons/search.html", status_code=422, search_form=form)

    with transaction(session):
        people, total = find_persons(
            session,
            platform.keys,
            ctx,
            resident_id=parsed_id,
            name=criteria.name or None,
            birth_on=parsed_birth,
            county_code=criteria.county_code or None,
            limit=PAGE_SIZE,
            offset=offset,
            at=platform.clock.now(),
        )
    names = _region_names(session)
    results = [
        FoundPerson(
            present_person(person, principal.masking),
            names.get(person.residence_county_code or "", ""),
        )
        for person in people
    ]
    return render_page(
        request,
        "persons/search.html",
        results=results,
        total=total,
        offset=0 if parsed_id is not None else offset,
        page_size=PAGE_SIZE,
        search_form=SearchForm(counties, criteria),
    )


def _parse_birth_date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidField("birth_on", "date", "出生日期格式应为 YYYY-MM-DD。") from None


@router.get("/persons/{person_id}")
def person_page(
    person_id: int, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """One person, masked for the user's role, with the history of changes."""
    with transaction(session):
        person = open_person(
            session, ctx, person_id=person_id, reveal=False, at=platform.clock.now()
        )
    return _render_person(request, session, platform, ctx.require_principal(), person, keys=None)


@router.post("/persons/{person_id}/reveal")
def reveal_person(
    person_id: int, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The person with ID number, phone and addresses in full; the reveal is audited."""
    with transaction(session):
        person = open_person(
            session, ctx, person_id=person_id, reveal=True, at=platform.clock.now()
        )
    return _render_person(
        request, session, platform, ctx.require_principal(), person, keys=platform.keys
    )


def _render_person(
    request: Request,
    session: Session,
    platform: Platform,
    principal: Principal,
    person: Person,
    *,
    keys: KeyRing | None,
) -> Response:
    names = _region_names(session)
    view = present_person(person, principal.masking, keys=keys)
    versions = [
        _version_row(version, names, masking=principal.masking, is_revealed=keys is not None)
        for version in queries.list_person_versions(session, person.id)
    ]
    cards = holder_cards(session, platform, person.id)
    open_statuses = {status.value for status in IN_HAND | IN_PIPELINE}
    return render_page(
        request,
        "persons/detail.html",
        person=view,
        region_names=names,
        versions=versions,
        cards=cards,
        banks=PARTNER_BANKS,
        may_apply=person.status is PersonStatus.LIVING
        and not any(card["status"] in open_statuses for card in cards),
    )


def _region_names(session: Session) -> dict[str, str]:
    return {region.code: region.name for region in regions.list_regions(session)}


def _version_row(
    version: PersonVersion, names: dict[str, str], *, masking: Masking, is_revealed: bool
) -> VersionRow:
    """A history row. Earlier values are shown under the same masking as the current ones:
    names masked for full masking, addresses only after a reveal, phones always masked."""
    changes: list[Change] = []
    for name in version.changed_fields:
        key = "phone_masked" if name == "phone_index" else name
        value: Any = version.previous.get(key)
        changes.append(
            Change(
                PERSON_FIELDS.get(name, name),
                _previous_text(name, value, names, masking=masking, is_revealed=is_revealed),
            )
        )
    return VersionRow(
        version=version.version,
        changed_at=version.changed_at,
        source=version.source,
        import_id=version.import_id,
        changes=tuple(changes),
    )


def _previous_text(
    name: str, value: Any, names: dict[str, str], *, masking: Masking, is_revealed: bool
) -> str:
    if value is None or value == "":
        return "（空）"
    text = str(value)
    if name in ADDRESS_FIELDS and not is_revealed:
        return mask_address(text) or ""
    if name == "name" and masking is Masking.FULL and not is_revealed:
        return mask_name(text)
    if name in REGION_FIELDS:
        return f"{names[text]}（{text}）" if text in names else text
    if name == "status":
        return STATUS_LABELS.get(text, text)
    return text
