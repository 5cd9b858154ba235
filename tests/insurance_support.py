"""Employers and insured persons for insurance tests, through the platform's own services."""

from __future__ import annotations

from datetime import date

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.demo.reference import COMPANY, demo_credit_code
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.models import EnrolmentKind
from socialcard.registry.services import register_employer
from tests.support import add_person, resident_id_for


def employer(platform: Platform, name: str = "永州潇湘电子科技有限公司") -> int:
    with platform.session() as session, transaction(session):
        return register_employer(
            session,
            credit_code=demo_credit_code(COMPANY, "431103", name),
            name=name,
            county_code="431103",
            industry="制造业",
            at=platform.clock.now(),
        ).id


def person(platform: Platform, n: int, *, birth: str = "19850312", name: str = "李明") -> int:
    return add_person(platform, resident_id_for("431103", birth, n), name=name, county="431103")


def enrol_employee(
    platform: Platform,
    person_id: int,
    employer_id: int,
    *,
    wage: int = 500_000,
    started_on: date = date(2026, 1, 1),
) -> None:
    with platform.session() as session, transaction(session):
        enrol(
            session,
            EnrolRequest(
                person_id=person_id,
                kind=EnrolmentKind.EMPLOYEE,
                started_on=started_on,
                channel="counter",
                employer_id=employer_id,
                wage_minor=wage,
            ),
            at=platform.clock.now(),
        )
