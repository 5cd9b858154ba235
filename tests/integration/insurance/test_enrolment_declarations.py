"""Enrolment and contribution declarations on SQLite and PostgreSQL: the rules in force, one open
enrolment per scheme family, the parts of a month on a clamped base, arrears until paid, payment
all or nothing and once, personal accounts credited in the ledger, back-payments, cancellation."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.insurance import declarations as decl
from socialcard.insurance import queries
from socialcard.insurance.accounts import EMPLOYER_TRANSFERS, personal_account, pooled_fund
from socialcard.insurance.enrolment import EnrolRequest, enrol, leave_employer
from socialcard.insurance.errors import (
    AlreadyEnrolled,
    DeclarationRefused,
    NotEligible,
    ParametersInvalid,
    PaymentMismatch,
    RuleNotInForce,
)
from socialcard.insurance.models import (
    ContributionMonth,
    ContributionRule,
    DeclarationStatus,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    MonthStatus,
)
from socialcard.insurance.parameters import (
    example_parameters,
    get_rule,
    load_parameters,
    parse_parameters,
)
from socialcard.insurance.schemes import SchemeCode
from socialcard.ledger import queries as ledger_queries
from socialcard.registry.models import Person, PersonStatus
from tests.insurance_support import employer, enrol_employee, person


def test_the_example_parameters_are_loaded_once_and_never_rewritten(platform: Platform) -> None:
    with platform.session() as session, transaction(session):
        rows = session.scalars(select(ContributionRule)).all()
        assert rows
        assert all(r.is_example for r in rows)
        again = load_parameters(session, example_parameters(), at=platform.clock.now())
        assert again.added == 0
        assert again.unchanged == len(rows)
        rule = get_rule(session, SchemeCode.PENSION_EMPLOYEE, 201904)
        assert (rule.employer_rate_bp, rule.individual_rate_bp) == (1900, 800)
        assert get_rule(session, SchemeCode.PENSION_EMPLOYEE, 201905).employer_rate_bp == 1600
        with pytest.raises(RuleNotInForce):
            get_rule(session, SchemeCode.PENSION_EMPLOYEE, 201512)
    changed = """[meta]
source = "2026 正式参数"
[[rule]]
scheme = "pension_employee"
effective_from = 2026-01-01
base_floor = "4200.00"
base_ceiling = "21000.00"
employer_rate = "16"
individual_rate = "8"
account_rate = "8"
"""
    with platform.session() as session, transaction(session):
        with pytest.raises(ParametersInvalid) as refused:
            load_parameters(session, parse_parameters(changed), at=platform.clock.now())
        assert "新的生效日期" in refused.value.message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[meta]\nsource="x"\n[[rule]]\nscheme="pension"\neffective_from=2026-01-01', "第 1 条"),
        ('[meta]\nsource="x"\n[[rule]]\nscheme="unemployment"\neffective_from=2026-01-15\n'
         'base_floor="1"\nbase_ceiling="2"', "第 1 条"),
        ('[meta]\nsource="x"\n[[rule]]\nscheme="unemployment"\neffective_from=2026-01-01\n'
         'base_floor="1"\nbase_ceiling="2"\nemployer_rate="31"', "employer_rate"),
        ('[meta]\nsource="x"\n[[rule]]\nscheme="medical_resident"\neffective_from=2026-01-01',
         "第 1 条"),
        ('[[rule]]\nscheme="unemployment"', "meta.source"),
    ],
)  # fmt: skip
def test_a_bad_parameters_file_names_the_entry_and_the_rule(text: str, where: str) -> None:
    with pytest.raises(ParametersInvalid) as refused:
        parse_parameters(text)
    assert where in str(refused.value.details["where"])


def test_an_employer_enrols_an_employee_in_five_schemes_with_personal_accounts(
    platform: Platform,
) -> None:
    firm = employer(platform)
    pid = person(platform, 1)
    enrol_employee(platform, pid, firm)
    enrol_employee(platform, pid, firm)  # a retried request changes nothing
    with platform.session() as session:
        enrolments = queries.open_enrolments(session, pid)
        assert sorted(e.scheme.value for e in enrolments) == sorted(
            ["pension_employee", "medical_employee", "unemployment", "work_injury", "maternity"]
        )
        with_accounts = {e.scheme for e in enrolments if e.account_id is not None}
        assert with_accounts == {SchemeCode.PENSION_EMPLOYEE, SchemeCode.MEDICAL_EMPLOYEE}
        code = personal_account(pid, SchemeCode.MEDICAL_EMPLOYEE)
        assert code is not None
        assert ledger_queries.get_account(session, code).has_floor


def test_one_open_enrolment_per_scheme_family(platform: Platform) -> None:
    first, second = employer(platform), employer(platform, "永州凤凰园商贸有限公司")
    pid = person(platform, 2)
    with platform.session() as session, transaction(session):
        enrol(
            session,
            EnrolRequest(pid, EnrolmentKind.RESIDENT, date(2020, 1, 1), "kiosk"),
            at=platform.clock.now(),
        )
    # Taking a job ends the resident enrolments of the same families.
    enrol_employee(platform, pid, first)
    with platform.session() as session:
        statuses = {e.scheme: e.status for e, _n in queries.list_enrolments(session, pid)}
        assert statuses[SchemeCode.PENSION_RESIDENT] is EnrolmentStatus.TERMINATED
        assert statuses[SchemeCode.PENSION_EMPLOYEE] is EnrolmentStatus.ACTIVE
    with pytest.raises(AlreadyEnrolled) as refused:
        enrol_employee(platform, pid, second)
    assert "永州潇湘电子科技有限公司" in refused.value.message
    # Once the first employer reports the departure (减员), the second continues the relation.
    with platform.session() as session, transaction(session):
        leave_employer(
            session, person_id=pid, employer_id=first, on=date(2026, 6, 30), at=platform.clock.now()
        )
    enrol_employee(platform, pid, second, started_on=date(2026, 7, 1))
    with platform.session() as session:
        open_ = queries.open_enrolments(session, pid)
        assert {e.employer_id for e in open_} == {second}
        assert all(e.status is EnrolmentStatus.ACTIVE for e in open_)


def test_who_cannot_enrol_is_told_why(platform: Platform) -> None:
    firm = employer(platform)
    child = person(platform, 3, birth="20150101")
    with pytest.raises(NotEligible):
        enrol_employee(platform, child, firm)
    dead = person(platform, 4)
    with platform.session() as session, transaction(session):
        session.get_one(Person, dead).status = PersonStatus.DECEASED
    with pytest.raises(NotEligible):
        enrol_employee(platform, dead, firm)
    adult = person(platform, 5)
    with pytest.raises(InvalidField) as refused:
        enrol_employee(platform, adult, firm, wage=0)
    assert refused.value.field == "wage_minor"


def _declare(
    platform: Platform, firm: int, period: int, wages: dict[int, int] | None = None
) -> str:
    with platform.session() as session, transaction(session):
        return decl.declare_employer_month(
            session,
            employer_id=firm,
            period=period,
            wages=wages,
            channel="web",
            declared_by=None,
            at=platform.clock.now(),
        ).declaration_no


def test_a_month_is_declared_on_the_clamped_base_and_stays_arrears_until_paid(
    platform: Platform,
) -> None:
    firm = employer(platform)
    low, high, normal = person(platform, 10), person(platform, 11), person(platform, 12)
    for pid, wage in ((low, 100_000), (high, 9_000_000), (normal, 600_000)):
        enrol_employee(platform, pid, firm, wage=wage)
    number = _declare(platform, firm, 202611)
    with platform.session() as session:
        declaration = queries.get_declaration(session, number)
        assert declaration.persons == 3
        assert declaration.status is DeclarationStatus.DECLARED
        months = {m.person_id: m for m in queries.declaration_months(session, declaration.id)}
        # 2026 example: floor 4,200.00 (60 % of 7,000), ceiling 21,000.00 (300 %).
        assert months[low].base_minor == 420_000
        assert months[high].base_minor == 2_100_000
        m = months[normal]
        assert m.base_minor == 600_000
        assert (m.pension_employer_minor, m.pension_individual_minor) == (96_000, 48_000)
        assert (m.medical_employer_minor, m.medical_individual_minor) == (52_200, 12_000)
        assert (m.unemployment_employer_minor, m.unemployment_individual_minor) == (4_200, 1_800)
        assert (m.work_injury_employer_minor, m.maternity_employer_minor) == (3_000, 0)
        assert (m.pension_account_minor, m.medical_account_minor) == (48_000, 12_000)
        assert m.status is MonthStatus.DUE
        expected = sum(
            x.pension_employer_minor + x.pension_individual_minor + x.medical_employer_minor
            + x.medical_individual_minor + x.unemployment_employer_minor
            + x.unemployment_individual_minor + x.work_injury_employer_minor
            + x.maternity_employer_minor
            for x in months.values()
        )  # fmt: skip
        assert declaration.total_minor == expected
    with pytest.raises(DeclarationRefused):
        _declare(platform, firm, 202611)
    with pytest.raises(InvalidField):
        _declare(platform, firm, 202612)  # the future
    with pytest.raises(DeclarationRefused) as late:
        _declare(platform, firm, 202607)
    assert "补缴" in late.value.message


def test_payment_credits_the_funds_and_each_personal_account_exactly_once(
    platform: Platform,
) -> None:
    firm = employer(platform)
    people = [person(platform, 20 + n) for n in range(4)]
    for pid in people:
        enrol_employee(platform, pid, firm, wage=600_000)
    number = _declare(platform, firm, 202611)
    with platform.session() as session:
        total = queries.get_declaration(session, number).total_minor
    with platform.session() as session, transaction(session), pytest.raises(PaymentMismatch):
        decl.record_employer_payment(
            session, number, paid_minor=total - 1, bank_reference="B1", at=platform.clock.now()
        )
    for _ in range(2):
        with platform.session() as session, transaction(session):
            decl.record_employer_payment(
                session, number, paid_minor=total, bank_reference="B1", at=platform.clock.now()
            )
    with platform.session() as session:
        for pid in people:
            pension = personal_account(pid, SchemeCode.PENSION_EMPLOYEE)
            medical = personal_account(pid, SchemeCode.MEDICAL_EMPLOYEE)
            assert pension
            assert medical
            assert ledger_queries.get_balance(session, pension).posted == 48_000
            assert ledger_queries.get_balance(session, medical).posted == 12_000
            assert ledger_queries.stored_balance(session, medical).posted == 12_000  # type: ignore[union-attr]
        received = ledger_queries.get_balance(session, EMPLOYER_TRANSFERS).posted
        assert received == total
        pooled = sum(
            ledger_queries.get_balance(session, pooled_fund(s)).posted
            for s in (SchemeCode.PENSION_EMPLOYEE, SchemeCode.MEDICAL_EMPLOYEE,
                      SchemeCode.UNEMPLOYMENT, SchemeCode.WORK_INJURY)
        )  # fmt: skip
        assert pooled + 4 * (48_000 + 12_000) == total
        months = session.scalars(select(ContributionMonth)).all()
        assert {m.status for m in months} == {MonthStatus.PAID}
        assert ledger_queries.verify_ledger(session).ok


def test_back_payment_and_cancellation(platform: Platform) -> None:
    firm = employer(platform)
    pid = person(platform, 30)
    enrol_employee(platform, pid, firm, wage=500_000, started_on=date(2025, 1, 1))
    with platform.session() as session, transaction(session):
        back = decl.declare_back_payment(
            session,
            employer_id=firm,
            person_id=pid,
            first_period=202501,
            last_period=202503,
            wage_minor=450_000,
            channel="counter",
            declared_by=None,
            at=platform.clock.now(),
        )
        assert back.months == 3
        # 2025 example rates: pension 16 % + 8 % on a 4,500.00 base.
        months = queries.declaration_months(session, back.id)
        assert [m.pension_individual_minor for m in months] == [36_000] * 3
    with platform.session() as session, transaction(session), pytest.raises(DeclarationRefused):
        decl.declare_back_payment(
            session, employer_id=firm, person_id=pid, first_period=202412, last_period=202412,
            wage_minor=450_000, channel="counter", declared_by=None, at=platform.clock.now(),
        )  # fmt: skip
    number = _declare(platform, firm, 202611)
    with platform.session() as session, transaction(session):
        decl.cancel_declaration(session, number, at=platform.clock.now())
    again = _declare(platform, firm, 202611)
    assert again != number
    with platform.session() as session:
        months = queries.contribution_months(session, pid)
        assert [m.period for m in months] == [202501, 202502, 202503, 202611]
        assert all(m.status is MonthStatus.DUE for m in months)


def test_a_flexible_worker_declares_own_months(platform: Platform) -> None:
    pid = person(platform, 40)
    with platform.session() as session, transaction(session):
        enrol(
            session,
            EnrolRequest(pid, EnrolmentKind.FLEXIBLE, date(2026, 9, 1), "web", wage_minor=420_000),
            at=platform.clock.now(),
        )
        declaration = decl.declare_flexible(
            session,
            person_id=pid,
            first_period=202610,
            last_period=202612,
            channel="web",
            at=platform.clock.now(),
        )
        months = queries.declaration_months(session, declaration.id)
        assert len(months) == 3
        m = months[0]
        # A flexible worker pays 20 % pension (8 % to the account) and 8 % medical alone.
        assert (m.pension_employer_minor, m.pension_individual_minor) == (0, 84_000)
        assert (m.medical_employer_minor, m.medical_individual_minor) == (0, 33_600)
        assert m.unemployment_individual_minor == 0
        assert m.work_injury_employer_minor == 0
        assert declaration.total_minor == 3 * (84_000 + 33_600)
        with pytest.raises(DeclarationRefused):
            decl.declare_flexible(
                session, person_id=pid, first_period=202612, last_period=202701,
                channel="web", at=platform.clock.now(),
            )  # fmt: skip
    with platform.session() as session:
        assert session.scalar(select(Enrolment.kind).where(Enrolment.person_id == pid)) is (
            EnrolmentKind.FLEXIBLE
        )
