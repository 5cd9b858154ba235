"""The self-service query (item 29, PERFORMANCE W4) on SQLite and PostgreSQL: exactly ten years of
months (a cancelled month replaced, older months left out), the balances from the balance rows
and the latest movements of the medical account — credits and debits on both sides — the same as
the ledger's own statement gives them, and the same JSON as the ORM path."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.http.insurance import month_json, overview_json
from socialcard.insurance import queries
from socialcard.insurance.accounts import ensure_fund_accounts, personal_account, pooled_fund
from socialcard.insurance.declarations import Insured, month_row, rules_of
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.history import migrate_months
from socialcard.insurance.models import ContributionMonth, EnrolmentKind, MonthSource, MonthStatus
from socialcard.insurance.rules import periods_between
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SchemeCode
from socialcard.kernel.money import Money
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import TransferKind
from socialcard.ledger.services import TransferRequest
from tests.insurance_support import employer, enrol_employee, person

MEDICAL = SchemeCode.MEDICAL_EMPLOYEE


def _months(platform: Platform, pid: int, firm: int, periods: list[int], wage: int) -> None:
    insured = Insured(pid, firm, EnrolmentKind.EMPLOYEE, wage, frozenset(EMPLOYEE_SCHEMES))
    with platform.session() as session, transaction(session):
        rows = [
            month_row(insured, p, rules_of(session, p), source=MonthSource.MIGRATED)
            for p in periods
        ]
        migrate_months(session, rows)


def test_the_overview_reads_ten_years_and_the_accounts_as_the_ledger_has_them(
    platform: Platform,
) -> None:
    firm, pid = employer(platform), person(platform, 61)
    enrol_employee(platform, pid, firm)
    at = platform.clock.now()
    _months(platform, pid, firm, periods_between(201601, 202611), 600_000)
    # 2020-01 was declared wrongly: cancelled and declared again on another wage.
    with platform.session() as session, transaction(session):
        session.execute(
            update(ContributionMonth)
            .where(ContributionMonth.person_id == pid, ContributionMonth.period == 202001)
            .values(status=MonthStatus.CANCELLED)
        )
    _months(platform, pid, firm, [202001], 700_000)
    medical = personal_account(pid, MEDICAL)
    assert medical is not None
    with platform.session() as session, transaction(session):
        ensure_fund_accounts(session, at=at)
        for n in range(26):
            spend = n % 7 == 6  # now and then the holder pays at a pharmacy from the account
            ledger.post_transfer(
                session,
                TransferRequest(
                    transfer_key=f"t:{n}",
                    debit_account=medical if spend else pooled_fund(MEDICAL),
                    credit_account=pooled_fund(MEDICAL) if spend else medical,
                    amount=Money(1_000 + n),
                    kind=TransferKind.CLAIM_APPROVED if spend else TransferKind.ACCOUNT_CREDITED,
                    reference=f"month:{n}",
                ),
                at=at - timedelta(days=30 - n),
            )

    with platform.session() as session:
        overview = queries.insured_overview(session, pid, at=at)
        assert [m.period for m in overview.months] == periods_between(201612, 202611)
        redeclared = next(m for m in overview.months if m.period == 202001)
        assert redeclared.base_minor == 700_000
        assert overview.medical is not None
        assert overview.medical.latest == ledger_queries.list_transfers(session, medical, limit=20)
        assert sum(line.amount_minor < 0 for line in overview.medical.latest) == 3
        assert overview.medical.balance_minor == ledger_queries.get_balance(session, medical).posted
        assert overview.pension is not None
        assert overview.pension.scheme is SchemeCode.PENSION_EMPLOYEE
        assert overview.pension.latest == []
        assert len(overview.enrolments) == len(EMPLOYEE_SCHEMES)
        shown = overview_json(overview)
        orm_months = queries.contribution_months(session, pid, since_period=201612)
        assert shown["months"] == [month_json(m) for m in orm_months]
        assert shown["medical_account"]["latest"][0]["reference"] == "month:25"
        assert ledger_queries.verify_ledger(session).ok


def test_a_resident_sees_the_resident_pension_account_and_no_medical_account(
    platform: Platform,
) -> None:
    pid = person(platform, 62)
    with platform.session() as session, transaction(session):
        enrol(
            session,
            EnrolRequest(pid, EnrolmentKind.RESIDENT, date(2026, 1, 1), "kiosk", wage_minor=50_000),
            at=platform.clock.now(),
        )
    with platform.session() as session:
        overview = queries.insured_overview(session, pid, at=platform.clock.now())
    assert overview.months == []
    assert overview.medical is None
    assert overview.pension is not None
    assert overview.pension.scheme is SchemeCode.PENSION_RESIDENT
    assert overview.pension.balance_minor == 0
