"""Resident contributions, the pension account's year-end interest, relation transfers, migrated
history and the printed documents' figures, on SQLite and PostgreSQL — each checked against the
ledger, which `ledger verify` proves after every step."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.insurance import declarations as decl
from socialcard.insurance import queries
from socialcard.insurance.accounts import TREASURY_SUBSIDY, personal_account, pooled_fund
from socialcard.insurance.declarations import Insured, month_row, rules_of
from socialcard.insurance.documents import (
    find_document,
    format_code,
    issue_document,
    rights_statement_figures,
)
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.errors import (
    DocumentNotFound,
    ResidentContributionExists,
    TierInvalid,
    TransferFileNotKept,
    TransferNotFound,
    TransferRefused,
)
from socialcard.insurance.history import (
    MigratedEnrolment,
    migrate_enrolments,
    migrate_months,
    settle_migrated_accounts,
)
from socialcard.insurance.models import (
    DocumentKind,
    EnrolmentKind,
    EnrolmentStatus,
    InsuranceTransfer,
    MonthSource,
    MonthStatus,
    PensionAccountYear,
)
from socialcard.insurance.pension_years import settle_pension_year
from socialcard.insurance.resident import order_resident_contribution, settle_resident_contribution
from socialcard.insurance.rules import periods_between, year_interest
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SchemeCode
from socialcard.insurance.transfers import transfer_data_file, transfer_in, transfer_out
from socialcard.kernel.crypto import sm3_hex
from socialcard.ledger import accounts as codes
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import NormalSide
from socialcard.registry.queries import get_person
from tests.insurance_support import employer, enrol_employee, person

COUNTER_INCOME = codes.department_income("hrss", "I030")


def _income(platform: Platform) -> None:
    with platform.session() as session, transaction(session):
        ledger.open_account(
            session,
            COUNTER_INCOME,
            name="个人缴费",
            normal_side=NormalSide.CREDIT,
            at=platform.clock.now(),
        )


def _resident(platform: Platform, pid: int) -> None:
    with platform.session() as session, transaction(session):
        enrol(
            session,
            EnrolRequest(pid, EnrolmentKind.RESIDENT, date(2026, 1, 1), "kiosk", wage_minor=50_000),
            at=platform.clock.now(),
        )


def test_resident_contributions_carry_the_subsidy_to_the_right_account(platform: Platform) -> None:
    _income(platform)
    pid, parent = person(platform, 1), person(platform, 2, birth="19580101", name="李父")
    _resident(platform, pid)
    _resident(platform, parent)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        with pytest.raises(TierInvalid) as refused:
            order_resident_contribution(
                session, person_id=pid, payer_person_id=pid, scheme=SchemeCode.PENSION_RESIDENT,
                year=2026, amount_minor=55_000, at=at,
            )  # fmt: skip
        assert "500" in refused.value.message
        pension = order_resident_contribution(
            session, person_id=pid, payer_person_id=pid, scheme=SchemeCode.PENSION_RESIDENT,
            year=2026, amount_minor=None, at=at,
        )  # fmt: skip
        assert (pension.amount_minor, pension.subsidy_minor) == (50_000, 6_000)
        # A child pays the parent's resident medical contribution for next year (open from Sept).
        medical = order_resident_contribution(
            session, person_id=parent, payer_person_id=pid, scheme=SchemeCode.MEDICAL_RESIDENT,
            year=2027, amount_minor=None, at=at,
        )  # fmt: skip
        assert medical.amount_minor == 40_000
        ids = (pension.id, medical.id)
    for _ in range(2):
        with platform.session() as session, transaction(session):
            for cid, paid in zip(ids, (50_000, 40_000), strict=True):
                settle_resident_contribution(
                    session, cid, source_account=COUNTER_INCOME, paid_minor=paid, at=at
                )
    with platform.session() as session:
        account = personal_account(pid, SchemeCode.PENSION_RESIDENT)
        assert account is not None
        assert ledger_queries.get_balance(session, account).posted == 56_000
        pooled = ledger_queries.get_balance(session, pooled_fund(SchemeCode.MEDICAL_RESIDENT))
        assert pooled.posted == 40_000 + 70_000
        assert ledger_queries.get_balance(session, TREASURY_SUBSIDY).posted == 6_000 + 70_000
        assert ledger_queries.verify_ledger(session).ok
    with (
        platform.session() as session,
        transaction(session),
        pytest.raises(ResidentContributionExists),
    ):
        order_resident_contribution(
            session, person_id=pid, payer_person_id=pid, scheme=SchemeCode.PENSION_RESIDENT,
            year=2026, amount_minor=None, at=at,
        )  # fmt: skip
    with platform.session() as session, transaction(session), pytest.raises(InvalidField):
        order_resident_contribution(
            session, person_id=pid, payer_person_id=pid, scheme=SchemeCode.PENSION_RESIDENT,
            year=2024, amount_minor=None, at=at,
        )  # fmt: skip


def _migrate(platform: Platform, pid: int, firm: int, first: int, last: int, wage: int) -> None:
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        migrate_enrolments(
            session,
            [
                MigratedEnrolment(
                    pid, s, EnrolmentKind.EMPLOYEE, firm, date(first // 100, first % 100, 1), wage
                )
                for s in EMPLOYEE_SCHEMES
            ],
            channel="migration",
            at=at,
        )
        insured = Insured(pid, firm, EnrolmentKind.EMPLOYEE, wage, frozenset(EMPLOYEE_SCHEMES))
        rows = []
        for period in periods_between(first, last):
            row = month_row(insured, period, rules_of(session, period), source=MonthSource.MIGRATED)
            row["paid_on"] = date(period // 100, period % 100, 15)
            rows.append(row)
        migrate_months(session, rows)
        settle_migrated_accounts(session, at=at)


def test_migrated_history_settles_each_year_and_carries_the_balance(platform: Platform) -> None:
    firm = employer(platform)
    pid = person(platform, 5)
    _migrate(platform, pid, firm, 202301, 202608, 500_000)
    with platform.session() as session:
        years = {
            y.year: y
            for y in session.scalars(
                select(PensionAccountYear).where(PensionAccountYear.person_id == pid)
            )
        }
        assert sorted(years) == [2023, 2024, 2025]
        y2023 = years[2023]
        # 2023: 12 months × 8 % of a 5,000.00 base = 4,800.00 credited at 3.97 %.
        assert y2023.credited_minor == 480_000
        assert y2023.interest_minor == year_interest(0, 480_000, 397)
        assert years[2024].opening_minor == y2023.closing_minor
        account = personal_account(pid, SchemeCode.PENSION_EMPLOYEE)
        assert account is not None
        this_year = 8 * 40_000
        assert (
            ledger_queries.get_balance(session, account).posted
            == years[2025].closing_minor + this_year
        )
        figures = rights_statement_figures(
            session, get_person(session, pid), year=2025, at=platform.clock.now()
        )
        pension = figures["pension_accounts"][0]
        assert pension["settled"]
        assert pension["closing"] == years[2025].closing_minor
        assert figures["schemes"]["pension_employee"]["months_total"] == 36
        assert ledger_queries.verify_ledger(session).ok


def test_year_end_interest_is_credited_once_from_the_ledger(platform: Platform) -> None:
    firm = employer(platform)
    pid = person(platform, 6)
    enrol_employee(platform, pid, firm, wage=500_000, started_on=date(2026, 11, 1))
    with platform.session() as session, transaction(session):
        number = decl.declare_employer_month(
            session, employer_id=firm, period=202611, channel="web", declared_by=None,
            at=platform.clock.now(),
        ).declaration_no  # fmt: skip
        total = queries.get_declaration(session, number).total_minor
        decl.record_employer_payment(
            session, number, paid_minor=total, bank_reference="B", at=platform.clock.now()
        )
    account = personal_account(pid, SchemeCode.PENSION_EMPLOYEE)
    assert account is not None
    with platform.session() as session, transaction(session), pytest.raises(InvalidField):
        settle_pension_year(session, year=2026, at=platform.clock.now())
    platform.clock.advance(timedelta(days=40))  # type: ignore[attr-defined]
    for _ in range(2):
        with platform.session() as session, transaction(session):
            settle_pension_year(session, year=2026, at=platform.clock.now())
    with platform.session() as session:
        row = session.get_one(PensionAccountYear, (pid, SchemeCode.PENSION_EMPLOYEE, 2026))
        assert row.credited_minor == 40_000
        assert row.opening_minor == 0
        assert row.interest_minor == year_interest(0, 40_000, 250)
        assert ledger_queries.get_balance(session, account).posted == row.closing_minor
        assert ledger_queries.verify_ledger(session).ok


def test_a_relation_moves_out_with_its_history_and_comes_back_in(platform: Platform) -> None:
    firm = employer(platform)
    pid = person(platform, 7)
    _migrate(platform, pid, firm, 202401, 202610, 500_000)
    at = platform.clock.now()
    with platform.session() as session:
        account = personal_account(pid, SchemeCode.PENSION_EMPLOYEE)
        assert account is not None
        before = ledger_queries.get_balance(session, account).posted
    with platform.session() as session, transaction(session), pytest.raises(InvalidField):
        transfer_out(session, platform.keys, person_id=pid, region_code="431102",
                     region_name="零陵区", card_id=None, channel="counter",
                     created_by=None, at=at)  # fmt: skip
    with platform.session() as session, transaction(session):
        moved = transfer_out(session, platform.keys, person_id=pid, region_code="440300",
                             region_name="广东省深圳市", card_id=None, channel="counter",
                             created_by=None, at=at)  # fmt: skip
        assert moved.transfer.months == 34
        assert moved.transfer.pension_account_minor == before
        data = moved.data_file
    with platform.session() as session:
        assert ledger_queries.get_balance(session, account).posted == 0
        assert {m.status for m in queries.contribution_months(session, pid)} == {
            MonthStatus.TRANSFERRED_OUT
        }
        assert all(
            e.status is EnrolmentStatus.TERMINATED
            for e, _n in queries.list_enrolments(session, pid)
        )
        assert ledger_queries.verify_ledger(session).ok
    # The same person comes back years later from Shenzhen with Shenzhen months.
    body = json.loads(data)["body"]
    body["from_region"], body["to_region"] = "440300", "431100"
    shenzhen = periods_between(202611, 202612)
    body["months"] = [
        dict(m, period=p, region_code="440300")
        for m, p in zip(body["months"], shenzhen, strict=False)
    ]
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    tampered = json.dumps({"digest": sm3_hex(b"x"), "body": body}, ensure_ascii=False).encode()
    good = json.dumps({"digest": sm3_hex(text.encode()), "body": body}, ensure_ascii=False).encode()
    with platform.session() as session, transaction(session), pytest.raises(InvalidField):
        transfer_in(session, platform.keys, person_id=pid, data=tampered, card_id=None,
                    channel="counter", created_by=None, at=at)  # fmt: skip
    other = person(platform, 8)
    with platform.session() as session, transaction(session), pytest.raises(TransferRefused):
        transfer_in(session, platform.keys, person_id=other, data=good, card_id=None,
                    channel="counter", created_by=None, at=at)  # fmt: skip
    with platform.session() as session, transaction(session):
        arrived = transfer_in(session, platform.keys, person_id=pid, data=good, card_id=None,
                              channel="counter", created_by=None, at=at)  # fmt: skip
        assert arrived.months == 2
    with platform.session() as session:
        months = queries.contribution_months(session, pid)
        elsewhere = [m for m in months if m.source is MonthSource.TRANSFERRED_IN]
        assert [m.region_code for m in elsewhere] == ["440300", "440300"]
        assert ledger_queries.get_balance(session, account).posted == before
        assert ledger_queries.verify_ledger(session).ok
    with platform.session() as session, transaction(session), pytest.raises(TransferRefused):
        transfer_in(session, platform.keys, person_id=pid, data=good, card_id=None,
                    channel="counter", created_by=None, at=at)  # fmt: skip
    # Both files are kept, encrypted, and come back as they were sent and as they arrived.
    with platform.session() as session:
        sent, again = transfer_data_file(session, platform.keys, moved.transfer.transfer_no)
        assert again == data
        assert sent.data_cipher is not None
        assert "广东省深圳市".encode() not in sent.data_cipher  # encrypted at rest
        assert transfer_data_file(session, platform.keys, arrived.transfer_no)[1] == good
        transfer_data_file(session, platform.keys, arrived.transfer_no, person_id=pid)
        with pytest.raises(TransferNotFound):
            transfer_data_file(session, platform.keys, arrived.transfer_no, person_id=other)
        with pytest.raises(TransferNotFound):
            transfer_data_file(session, platform.keys, "ZY209912000001")
    with platform.session() as session, transaction(session):
        sent = session.get_one(InsuranceTransfer, sent.id)
        sent.data_cipher = None  # a transfer made before the files were kept
    with platform.session() as session, pytest.raises(TransferFileNotKept):
        transfer_data_file(session, platform.keys, moved.transfer.transfer_no)


def test_a_document_is_found_by_its_code_with_what_it_said(platform: Platform) -> None:
    pid = person(platform, 9)
    with platform.session() as session, transaction(session):
        figures = rights_statement_figures(
            session, get_person(session, pid), year=2026, at=platform.clock.now()
        )
        document = issue_document(
            session, kind=DocumentKind.RIGHTS_STATEMENT, person_id=pid, figures=figures,
            channel="kiosk", at=platform.clock.now(),
        )  # fmt: skip
        code = format_code(document.verification_code)
    with platform.session() as session:
        found = find_document(session, code.lower().replace("-", " "))
        assert found.figures == figures
        assert found.figures["person"]["name"] == "李*"  # type: ignore[index]
        with pytest.raises(DocumentNotFound):
            find_document(session, "ABCD-EFGH-JKLM")
        with pytest.raises(InvalidField):
            find_document(session, "123")
