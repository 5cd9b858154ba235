"""How a person is shown to a caller: scope check and role-based masking, shared by the API and
the web pages so both always mask the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.errors import OutOfScope
from socialcard.access.models import AuditResult
from socialcard.access.policy import Masking
from socialcard.access.services import Principal
from socialcard.http.context import RequestContext
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.masking import mask_name
from socialcard.kernel.resident_id import ResidentId
from socialcard.registry import queries
from socialcard.registry.models import Person

STATUS_LABELS = {"living": "正常", "deceased": "死亡", "moved_away": "迁出"}
SEX_LABELS = {"male": "男", "female": "女"}


def check_person_scope(principal: Principal, person: Person) -> None:
    """Refuse a person outside the caller's county (city-wide staff see everyone)."""
    if principal.is_city_wide:
        return
    if person.residence_county_code != principal.scope_region_code:
        raise OutOfScope("person", person.id)


def scope_of(principal: Principal) -> str | None:
    return None if principal.is_city_wide else principal.scope_region_code


@dataclass(frozen=True, slots=True)
class PersonView:
    id: int
    resident_id: str
    is_revealed: bool
    name: str
    sex: str
    birth_on: date | None
    ethnicity: str | None
    origin_code: str
    is_from_yongzhou: bool
    household_region_code: str | None
    household_address: str | None
    residence_county_code: str | None
    residence_township: str | None
    residence_address: str | None
    phone: str | None
    status: str
    status_label: str
    status_changed_on: date | None
    source: str
    version: int
    updated_at: datetime

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def mask_address(text: str | None) -> str | None:
    """Keep the first words a clerk needs (county, township); hide the rest."""
    if text is None:
        return None
    return text[:6] + "****" if len(text) > 6 else "****"


def present_person(person: Person, masking: Masking, *, keys: KeyRing | None = None) -> PersonView:
    """Mask per role; with `keys` (an audited reveal) show identifiers in full."""
    revealed = keys is not None
    full = masking is Masking.FULL and not revealed
    resident_id = (
        keys.decrypt(person.resident_id_cipher) if keys is not None else person.resident_id_masked
    )
    phone: str | None = person.phone_masked
    if keys is not None and person.phone_cipher is not None:
        phone = keys.decrypt(person.phone_cipher)
    return PersonView(
        id=person.id,
        resident_id=resident_id,
        is_revealed=revealed,
        name=mask_name(person.name) if full else person.name,
        sex=SEX_LABELS[person.sex.value],
        birth_on=None if full else person.birth_on,
        ethnicity=person.ethnicity,
        origin_code=person.origin_code,
        is_from_yongzhou=person.is_from_yongzhou,
        household_region_code=person.household_region_code,
        household_address=person.household_address
        if revealed
        else mask_address(person.household_address),
        residence_county_code=person.residence_county_code,
        residence_township=person.residence_township,
        residence_address=person.residence_address
        if revealed
        else mask_address(person.residence_address),
        phone=phone,
        status=person.status.value,
        status_label=STATUS_LABELS[person.status.value],
        status_changed_on=person.status_changed_on,
        source=person.source,
        version=person.version,
        updated_at=person.updated_at,
    )


def find_persons(
    session: Session,
    keys: KeyRing,
    ctx: RequestContext,
    *,
    resident_id: ResidentId | None,
    name: str | None,
    birth_on: date | None,
    county_code: str | None,
    limit: int,
    offset: int,
    at: datetime,
) -> tuple[list[Person], int]:
    """Search by ID number (exact) or by attributes inside the caller's scope, and audit the
    search. A number that belongs to another county is refused (and audited as a denial)."""
    principal = ctx.require_principal()
    if resident_id is not None:
        person = queries.find_person_by_resident_id(session, keys, resident_id)
        people = [] if person is None else [person]
        for found in people:
            check_person_scope(principal, found)
        total = len(people)
    else:
        people, total = queries.search_persons(
            session,
            county_scope=scope_of(principal),
            name=name,
            birth_on=birth_on,
            county_code=county_code,
            limit=limit,
            offset=offset,
        )
    single = people[0].id if len(people) == 1 else None
    append_audit(
        session,
        ctx.event(
            "person.search",
            AuditResult.SUCCESS,
            object_type="person" if single is not None else None,
            object_id=single,
            details={"by": "resident_id" if resident_id else "attributes", "found": total},
        ),
        at=at,
    )
    return people, total


def open_person(
    session: Session, ctx: RequestContext, *, person_id: int, reveal: bool, at: datetime
) -> Person:
    """Load one person for the caller: scope check, then the audited view (or reveal)."""
    person = queries.get_person(session, person_id)
    check_person_scope(ctx.require_principal(), person)
    action = "person.reveal" if reveal else "person.view"
    append_audit(
        session,
        ctx.event(action, AuditResult.SUCCESS, object_type="person", object_id=person.id),
        at=at,
    )
    return person
