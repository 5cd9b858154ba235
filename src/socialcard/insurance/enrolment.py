"""Enrolment (参保登记, item 22): an employer enrols its employees, a flexible worker or a resident
enrols themselves; suspension (暂停缴费), resumption, termination and re-enrolment.

One person has at most one open enrolment per scheme family (a partial unique index backs the
check). Moving from a resident scheme to the employee scheme of the same family ends the resident
enrolment; another employer's open employee enrolment must be ended by that employer first (减员
before 增员), but a suspended one continues with the new employer (续保).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialcard.errors import InvalidField
from socialcard.insurance.accounts import open_personal_account
from socialcard.insurance.errors import (
    AlreadyEnrolled,
    EnrolmentNotFound,
    NotEligible,
    NotEnrolled,
    TierInvalid,
)
from socialcard.insurance.models import Enrolment, EnrolmentKind, EnrolmentStatus
from socialcard.insurance.parameters import get_rule, tiers_of
from socialcard.insurance.rules import period_of
from socialcard.insurance.schemes import (
    EMPLOYEE_SCHEMES,
    FLEXIBLE_SCHEMES,
    RESIDENT_PENSION_MIN_AGE,
    RESIDENT_SCHEMES,
    SCHEMES,
    WORKING_AGE_MIN,
    SchemeCode,
)
from socialcard.registry.models import Employer, Person, PersonStatus
from socialcard.registry.queries import lock_person

OPEN = (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED)
WAGE_MAX_MINOR = 100_000_000  # a declared monthly wage above 1,000,000 yuan is a typing error


@dataclass(frozen=True, slots=True)
class EnrolRequest:
    person_id: int
    kind: EnrolmentKind
    started_on: date
    channel: str
    employer_id: int | None = None
    wage_minor: int | None = None  # monthly wage (employee, flexible) or yearly grade (resident)
    schemes: tuple[SchemeCode, ...] = ()  # default: every scheme of the kind


def _age_on(person: Person, day: date) -> int:
    born = person.birth_on
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _default_schemes(kind: EnrolmentKind) -> tuple[SchemeCode, ...]:
    return {
        EnrolmentKind.EMPLOYEE: EMPLOYEE_SCHEMES,
        EnrolmentKind.FLEXIBLE: FLEXIBLE_SCHEMES,
        EnrolmentKind.RESIDENT: RESIDENT_SCHEMES,
    }[kind]


def _check_request(session: Session, request: EnrolRequest, person: Person) -> None:
    if person.status is not PersonStatus.LIVING:
        raise NotEligible("参保人不在世或户籍已注销", status=person.status.value)
    allowed = _default_schemes(request.kind)
    for scheme in request.schemes:
        if scheme not in allowed:
            raise InvalidField(
                "schemes", "kind_schemes", f"“{SCHEMES[scheme].name}”不能按此身份参保。"
            )
    if request.kind is EnrolmentKind.EMPLOYEE:
        if request.employer_id is None or session.get(Employer, request.employer_id) is None:
            raise InvalidField("employer_id", "known_employer", "须指定已登记的参保单位。")
    elif request.employer_id is not None:
        raise InvalidField("employer_id", "no_employer", "个人参保不填参保单位。")
    if request.kind is not EnrolmentKind.RESIDENT and _age_on(person, request.started_on) < (
        WORKING_AGE_MIN
    ):
        raise NotEligible(f"未满 {WORKING_AGE_MIN} 周岁不能以职工或灵活就业身份参保")
    if request.kind is not EnrolmentKind.RESIDENT:
        wage = request.wage_minor
        if wage is None or not 0 < wage <= WAGE_MAX_MINOR:
            raise InvalidField(
                "wage_minor", "monthly_wage", "月缴费工资应为正数（分），且不超过 100 万元。"
            )


def _check_resident_grade(
    session: Session, scheme: SchemeCode, person: Person, request: EnrolRequest
) -> int | None:
    if scheme is not SchemeCode.PENSION_RESIDENT:
        return None
    if _age_on(person, request.started_on) < RESIDENT_PENSION_MIN_AGE:
        raise NotEligible(f"城乡居民养老保险须年满 {RESIDENT_PENSION_MIN_AGE} 周岁")
    rule = get_rule(session, scheme, period_of(request.started_on))
    grades = [t.amount_minor for t in tiers_of(rule)]
    grade = request.wage_minor if request.wage_minor is not None else grades[0]
    if grade not in grades:
        raise TierInvalid(SCHEMES[scheme].name, grade, grades)
    return grade


def _open_of_family(session: Session, person_id: int, scheme: SchemeCode) -> Enrolment | None:
    stmt = (
        select(Enrolment)
        .where(
            Enrolment.person_id == person_id,
            Enrolment.family == SCHEMES[scheme].family,
            Enrolment.status.in_(OPEN),
        )
        .with_for_update()
    )
    return session.scalars(stmt).first()


def _holder_text(session: Session, enrolment: Enrolment) -> str:
    if enrolment.employer_id is not None:
        employer = session.get(Employer, enrolment.employer_id)
        return f"参保单位：{employer.name if employer else enrolment.employer_id}"
    return "个人参保"


def _end(enrolment: Enrolment, *, on: date, reason: str, at: datetime) -> None:
    enrolment.move_to(EnrolmentStatus.TERMINATED)
    enrolment.ended_on = on
    enrolment.end_reason = reason[:100]
    enrolment.updated_at = at


def enrol(session: Session, request: EnrolRequest, *, at: datetime) -> list[Enrolment]:
    """Enrol the person in each scheme asked for; an identical open enrolment is returned as it
    is (a retried request changes nothing)."""
    person = lock_person(session, request.person_id)
    _check_request(session, request, person)
    done: list[Enrolment] = []
    for scheme in request.schemes or _default_schemes(request.kind):
        grade = _check_resident_grade(session, scheme, person, request)
        current = _open_of_family(session, person.id, scheme)
        if current is not None:
            same = (
                current.scheme is scheme
                and current.kind is request.kind
                and current.employer_id == request.employer_id
            )
            if same and current.status is EnrolmentStatus.ACTIVE:
                done.append(current)
                continue
            if (
                current.kind is EnrolmentKind.RESIDENT
                and request.kind is not EnrolmentKind.RESIDENT
            ):
                _end(current, on=request.started_on, reason="转为职工参保", at=at)
                session.flush()
            elif (
                current.status is EnrolmentStatus.SUSPENDED
                and current.scheme is scheme
                and request.kind is not EnrolmentKind.RESIDENT
            ):
                # 续保: the relation continues with the new employer (or as flexible work).
                current.move_to(EnrolmentStatus.ACTIVE)
                current.kind = request.kind
                current.employer_id = request.employer_id
                current.wage_minor = request.wage_minor
                current.ended_on = None
                current.end_reason = None
                current.updated_at = at
                done.append(current)
                continue
            else:
                raise AlreadyEnrolled(SCHEMES[current.scheme].name, _holder_text(session, current))
        enrolment = Enrolment(
            person_id=person.id,
            scheme=scheme,
            family=SCHEMES[scheme].family,
            kind=request.kind,
            employer_id=request.employer_id,
            status=EnrolmentStatus.ACTIVE,
            started_on=request.started_on,
            wage_minor=grade if request.kind is EnrolmentKind.RESIDENT else request.wage_minor,
            account_id=open_personal_account(session, person.id, scheme, at=at),
            channel=request.channel,
            created_at=at,
            updated_at=at,
        )
        try:
            with session.begin_nested():
                session.add(enrolment)
                session.flush()
        except IntegrityError:
            # Enrolled by a concurrent request meanwhile (the partial unique index said no).
            raise AlreadyEnrolled(SCHEMES[scheme].name, "另一笔同时办理的参保") from None
        done.append(enrolment)
    return done


def get_enrolment_for_update(session: Session, enrolment_id: int) -> Enrolment:
    enrolment = session.get(Enrolment, enrolment_id, with_for_update=True)
    if enrolment is None:
        raise EnrolmentNotFound(enrolment_id)
    return enrolment


def suspend_enrolment(
    session: Session, enrolment_id: int, *, on: date, reason: str, at: datetime
) -> Enrolment:
    """暂停缴费: the person left the employer or stopped paying; the relation and months stay."""
    enrolment = get_enrolment_for_update(session, enrolment_id)
    enrolment.move_to(EnrolmentStatus.SUSPENDED)
    enrolment.ended_on = on
    enrolment.end_reason = reason[:100]
    enrolment.updated_at = at
    return enrolment


def resume_enrolment(session: Session, enrolment_id: int, *, at: datetime) -> Enrolment:
    enrolment = get_enrolment_for_update(session, enrolment_id)
    enrolment.move_to(EnrolmentStatus.ACTIVE)
    enrolment.ended_on = None
    enrolment.end_reason = None
    enrolment.updated_at = at
    return enrolment


def terminate_enrolment(
    session: Session, enrolment_id: int, *, on: date, reason: str, at: datetime
) -> Enrolment:
    """终止参保: the relation ends (death, transfer out, emigration). Re-enrolment starts anew."""
    enrolment = get_enrolment_for_update(session, enrolment_id)
    _end(enrolment, on=on, reason=reason, at=at)
    return enrolment


def leave_employer(
    session: Session, *, person_id: int, employer_id: int, on: date, at: datetime
) -> list[Enrolment]:
    """减员: suspend every active enrolment of the person through this employer."""
    stmt = (
        select(Enrolment)
        .where(
            Enrolment.person_id == person_id,
            Enrolment.employer_id == employer_id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
        .with_for_update()
    )
    left = list(session.scalars(stmt))
    if not left:
        employer = session.get(Employer, employer_id)
        raise NotEnrolled(f"{employer.name if employer else employer_id} 的职工参保")
    for enrolment in left:
        enrolment.move_to(EnrolmentStatus.SUSPENDED)
        enrolment.ended_on = on
        enrolment.end_reason = "离开单位（减员）"
        enrolment.updated_at = at
    return left
