"""Registry reads. Every person query takes the caller's county scope (None = the whole city)
so a county clerk's search can never return another county's residents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.resident_id import ResidentId
from socialcard.registry.errors import ImportNotFound, PersonNotFound
from socialcard.registry.models import (
    Employer,
    HouseholdImport,
    ImportRejection,
    Institution,
    InstitutionKind,
    Person,
    PersonStatus,
    PersonVersion,
)
from socialcard.registry.services import resident_id_index

SEARCH_LIMIT_MAX = 200


def _scoped(stmt: Select[tuple[Person]], county_scope: str | None) -> Select[tuple[Person]]:
    if county_scope is None:
        return stmt
    return stmt.where(Person.residence_county_code == county_scope)


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(person_id)
    return person


def find_person_by_resident_id(
    session: Session, keys: KeyRing, resident_id: ResidentId
) -> Person | None:
    """Exact lookup through the blind index (no scope: callers check it and audit denials)."""
    index = resident_id_index(keys, resident_id)
    return session.scalars(select(Person).where(Person.resident_id_index == index)).first()


def search_persons(
    session: Session,
    *,
    county_scope: str | None,
    name: str | None = None,
    birth_on: date | None = None,
    county_code: str | None = None,
    status: PersonStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Person], int]:
    """Persons matching name (+ birth date) and/or county, inside the caller's scope.

    Returns the page and the total count.
    """
    stmt = _scoped(select(Person), county_scope)
    if name:
        stmt = stmt.where(Person.name == name.strip())
    if birth_on is not None:
        stmt = stmt.where(Person.birth_on == birth_on)
    if county_code:
        stmt = stmt.where(Person.residence_county_code == county_code)
    if status is not None:
        stmt = stmt.where(Person.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = session.scalars(
        stmt.order_by(Person.id).limit(min(limit, SEARCH_LIMIT_MAX)).offset(offset)
    )
    return list(page), total


def list_person_versions(session: Session, person_id: int) -> list[PersonVersion]:
    stmt = (
        select(PersonVersion)
        .where(PersonVersion.person_id == person_id)
        .order_by(PersonVersion.version.desc())
    )
    return list(session.scalars(stmt))


def count_persons_by_county(session: Session) -> dict[str | None, int]:
    stmt = (
        select(Person.residence_county_code, func.count())
        .where(Person.status == PersonStatus.LIVING)
        .group_by(Person.residence_county_code)
    )
    return dict(session.execute(stmt).tuples().all())


def get_import(session: Session, import_id: int) -> HouseholdImport:
    job = session.get(HouseholdImport, import_id)
    if job is None:
        raise ImportNotFound(import_id)
    return job


def list_imports(session: Session, *, limit: int = 50) -> list[HouseholdImport]:
    stmt = select(HouseholdImport).order_by(HouseholdImport.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def list_rejections(
    session: Session, import_id: int, *, limit: int | None = None
) -> Sequence[ImportRejection]:
    """Rejected rows of an import in file order (all of them, or the first `limit`)."""
    stmt = (
        select(ImportRejection)
        .where(ImportRejection.import_id == import_id)
        .order_by(ImportRejection.row_number, ImportRejection.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def list_institutions(
    session: Session, *, kind: InstitutionKind | None = None, county_code: str | None = None
) -> list[Institution]:
    """Partner institutions (hospitals, pharmacies, banks …), by kind and county."""
    stmt = select(Institution).order_by(Institution.county_code, Institution.kind, Institution.code)
    if kind is not None:
        stmt = stmt.where(Institution.kind == kind)
    if county_code is not None:
        stmt = stmt.where(Institution.county_code == county_code)
    return list(session.scalars(stmt))


def list_employers(session: Session, *, county_code: str | None = None) -> list[Employer]:
    stmt = select(Employer).order_by(Employer.id)
    if county_code is not None:
        stmt = stmt.where(Employer.county_code == county_code)
    return list(session.scalars(stmt))


def find_persons_by_ids(session: Session, person_ids: set[int]) -> list[Person]:
    """The persons with these ids (missing ids are simply absent)."""
    if not person_ids:
        return []
    return list(session.scalars(select(Person).where(Person.id.in_(sorted(person_ids)))))


def lock_person(session: Session, person_id: int) -> Person:
    """The person, locked for the rest of the transaction (SELECT … FOR UPDATE on PostgreSQL;
    SQLite's write transaction is already exclusive): operations on one person's cards queue
    here, so concurrent conflicting requests leave exactly one outcome."""
    stmt = (
        select(Person)
        .where(Person.id == person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    person = session.scalars(stmt).first()
    if person is None:
        raise PersonNotFound(person_id)
    return person


def phones_of(session: Session, keys: KeyRing, person_ids: list[int]) -> dict[int, str]:
    """Phone numbers of persons who gave one, for messages to them."""
    rows = session.execute(
        select(Person.id, Person.phone_cipher).where(
            Person.id.in_(person_ids), Person.phone_cipher.is_not(None)
        )
    ).tuples()
    return {person_id: keys.decrypt(cipher) for person_id, cipher in rows if cipher is not None}
