"""Registry writes: registering and changing persons, employers and institutions.

Identifiers are encrypted with the platform's KeyRing on the way in; a blind index makes them
findable. Services take a Session and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from socialcard.errors import InvalidField
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.masking import mask_phone, mask_resident_id
from socialcard.kernel.resident_id import ResidentId
from socialcard.registry.errors import PersonAlreadyRegistered
from socialcard.registry.household.rules import PersonRecord
from socialcard.registry.models import (
    Employer,
    Institution,
    InstitutionKind,
    Person,
    PersonVersion,
)

RESIDENT_ID_PURPOSE: Final = "resident_id"
PHONE_PURPOSE: Final = "phone"

# Fields compared when a new record of a known person arrives, in display order.
TRACKED_FIELDS: Final = (
    "name",
    "ethnicity",
    "household_region_code",
    "household_address",
    "residence_county_code",
    "residence_township",
    "residence_address",
    "phone_index",
    "status",
    "status_changed_on",
)


def resident_id_index(keys: KeyRing, resident_id: ResidentId) -> str:
    """The blind index used to find a person by ID number without storing it in clear."""
    return keys.blind_index(RESIDENT_ID_PURPOSE, resident_id.value)


def phone_index(keys: KeyRing, phone: str) -> str:
    return keys.blind_index(PHONE_PURPOSE, phone)


def person_values(
    keys: KeyRing, record: PersonRecord, *, source: str, at: datetime, index: str | None = None
) -> dict[str, Any]:
    """Column values for a new person row built from a validated record (pass the blind index
    when the caller already computed it)."""
    rid = record.resident_id
    return {
        "resident_id_cipher": keys.encrypt(rid.value),
        "resident_id_index": index or resident_id_index(keys, rid),
        "resident_id_masked": mask_resident_id(rid.value),
        "name": record.name,
        "sex": rid.sex,
        "birth_on": rid.birth_on,
        "origin_code": rid.origin_code,
        "is_from_yongzhou": rid.is_from_yongzhou,
        "source": source,
        "content_hash": record.content_hash,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        **changeable_values(keys, record),
    }


def changeable_values(keys: KeyRing, record: PersonRecord) -> dict[str, Any]:
    """The columns a later record of the same person may change."""
    return {
        "name": record.name,
        "ethnicity": record.ethnicity,
        "household_region_code": record.household_region_code,
        "household_address": record.household_address,
        "residence_county_code": record.residence_county_code,
        "residence_township": record.residence_township,
        "residence_address": record.residence_address,
        "phone_cipher": keys.encrypt(record.phone) if record.phone else None,
        "phone_index": phone_index(keys, record.phone) if record.phone else None,
        "phone_masked": mask_phone(record.phone) if record.phone else None,
        "status": record.status,
        "status_changed_on": record.status_changed_on,
        "content_hash": record.content_hash,
    }


def history_value(field: str, existing: Any) -> Any:
    """How a previous value is kept in the history: dates as ISO text, phones masked."""
    if field == "phone_index":
        return None
    if hasattr(existing, "isoformat"):
        return existing.isoformat()
    if hasattr(existing, "value"):
        return existing.value
    return existing


def register_person(
    session: Session, keys: KeyRing, record: PersonRecord, *, source: str, at: datetime
) -> Person:
    """Add one person (from a counter or a department feed).

    Raises:
        PersonAlreadyRegistered: the ID number is already in the registry.
    """
    index = resident_id_index(keys, record.resident_id)
    existing = session.scalars(select(Person.id).where(Person.resident_id_index == index)).first()
    if existing is not None:
        raise PersonAlreadyRegistered(existing)
    person = Person(**person_values(keys, record, source=source, at=at))
    session.add(person)
    session.flush()
    return person


def update_person(
    session: Session,
    keys: KeyRing,
    person: Person,
    record: PersonRecord,
    *,
    source: str,
    at: datetime,
    import_id: int | None = None,
) -> list[str]:
    """Apply a newer record of a person, keeping the previous values as a version row.

    Returns the changed field names (empty when nothing changed).
    """
    new_values = changeable_values(keys, record)
    changed = [f for f in TRACKED_FIELDS if getattr(person, f) != new_values[f]]
    if not changed:
        return []
    if "status" in changed:
        person.move_to_status(record.status, on=record.status_changed_on)
    previous = {f: history_value(f, getattr(person, f)) for f in changed}
    if "phone_index" in changed:
        previous["phone_masked"] = person.phone_masked
    session.add(
        PersonVersion(
            person_id=person.id,
            version=person.version,
            changed_at=at,
            source=source,
            import_id=import_id,
            changed_fields=changed,
            previous=previous,
        )
    )
    for field, value in new_values.items():
        setattr(person, field, value)
    person.version += 1
    person.source = source
    person.updated_at = at
    return changed


def register_employer(
    session: Session,
    *,
    credit_code: str,
    name: str,
    county_code: str | None,
    industry: str | None,
    at: datetime,
) -> Employer:
    """Add an employer after validating its unified social credit code (GB 32100)."""
    try:
        code = uscc.validate(credit_code)
    except ValidationError:
        raise InvalidField(
            "credit_code", "gb32100", "统一社会信用代码不合规（GB 32100 校验失败）"
        ) from None
    employer = Employer(
        credit_code=code, name=name, county_code=county_code, industry=industry, created_at=at
    )
    session.add(employer)
    session.flush()
    return employer


def register_institution(
    session: Session,
    *,
    code: str,
    name: str,
    kind: InstitutionKind,
    level: int | None,
    county_code: str | None,
    at: datetime,
) -> Institution:
    """Add a partner institution (hospital with level 1-3, pharmacy, bank, training, appraisal)."""
    if kind is InstitutionKind.HOSPITAL and level not in (1, 2, 3):
        raise InvalidField("level", "hospital_level", "定点医疗机构等级须为 1、2 或 3 级")
    institution = Institution(
        code=code, name=name, kind=kind, level=level, county_code=county_code, created_at=at
    )
    session.add(institution)
    session.flush()
    return institution
