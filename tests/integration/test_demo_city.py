"""The demo city end to end on both databases: residents, staff, rollout, figures, ten years of
social insurance."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from socialcard.bootstrap import Platform
from socialcard.cards import queries
from socialcard.cards.door import PhysicalCard
from socialcard.cards.models import CardStatus
from socialcard.catalog.metrics import compute_figures
from socialcard.catalog.models import CardUse, Channel
from socialcard.catalog.queries import gather_metric_inputs
from socialcard.demo.city import generate_demo_city
from socialcard.demo.insurance import LIVE_MONTHS, DemoInsurance
from socialcard.disbursement.queries import list_batches, list_payments_received
from socialcard.disbursement.reconciliation import reconcile
from socialcard.http.cards import use_card
from socialcard.insurance import queries as insurance
from socialcard.insurance.declarations import current_period
from socialcard.insurance.models import (
    ContributionMonth,
    DeclarationStatus,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    MonthSource,
    MonthStatus,
    PensionAccountYear,
    ResidentContribution,
)
from socialcard.insurance.rules import periods_between
from socialcard.insurance.schemes import SchemeCode
from socialcard.kernel.clock import local_today
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger.queries import verify_ledger
from socialcard.payments import queries as payment_queries
from socialcard.registry.models import Employer, Person, PersonStatus


def test_a_small_demo_city_has_residents_a_rollout_and_figures(platform: Platform) -> None:
    city = generate_demo_city(platform, residents=400, seed=7, messy=False)
    assert city.outcome.rejected == 0
    assert city.rollout is not None
    assert city.rollout.openings > 0
    with platform.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == city.outcome.accepted
        # The rollout's uses, plus one use of item 107 for every grain subsidy paid and one for
        # every fee paid with the card.
        assert city.money is not None
        paid = city.money.grain_paid + (city.money.reissue_paid or 0)
        assert session.scalar(select(func.count()).select_from(CardUse)) == (
            city.rollout.card_uses + paid + len(city.money.fees_paid)
        )
        ledger = verify_ledger(session)
        assert ledger.ok, ledger.problems
        # Every figure of every money screen comes from reconciled batches.
        for batch in list_batches(session):
            report = reconcile(session, batch)
            assert report["balanced"], (batch.batch_no, report["problems"])
        today = local_today(platform.clock)
        figures = compute_figures(
            gather_metric_inputs(
                session, as_of=today, period_from=date(today.year - 1, 1, 1), period_to=today
            )
        )
    assert 0 < figures.opening_rate_city.numerator <= figures.opening_rate_city.denominator
    assert sum(f.users for f in figures.items) > 0
    assert city.cards is not None
    assert len(city.cards.walkthrough) == 3
    with platform.session() as session:
        statuses = queries.count_cards_by_status(session)
        walker = queries.get_card(session, city.cards.walkthrough[0][1])
        # The printed holders head farmer households of 道县: the portal shows them the grain
        # subsidy the demo paid.
        received = [
            list_payments_received(session, queries.get_card(session, number).person_id)
            for _id, number, _pin in city.cards.walkthrough
        ]
        in_hand_twice = session.execute(
            text(
                "SELECT person_id FROM cards WHERE status IN "
                "('issued','active','reported_temporary','reported_formal') "
                "GROUP BY person_id HAVING count(*) > 1"
            )
        ).all()
    assert sum(statuses.values()) == city.cards.cards
    assert statuses[CardStatus.ACTIVE] == city.cards.active
    assert in_hand_twice == []
    assert walker.status is CardStatus.ACTIVE
    assert walker.bank_account_activated_at is not None  # issued at the ICBC counter
    assert [[(p.programme, p.status.value) for p in r] for r in received] == [
        [("种粮补贴", "paid")]
    ] * 3
    # Two of them paid a fee from the card's account, at the counter and at the kiosk; the
    # third's order waits to be paid.
    assert len(city.money.fees_paid) == 2
    with platform.session() as session:
        fees = [payment_queries.get_order(session, n) for n in city.money.fees_paid]
        assert city.money.fee_waiting is not None
        waiting = payment_queries.get_order(session, city.money.fee_waiting)
        payers = [
            queries.get_card(session, number).person_id
            for _id, number, _pin in city.cards.walkthrough
        ]
    assert [(o.person_id, o.status.value) for o in fees] == [
        (payers[0], "paid"),
        (payers[1], "paid"),
    ]
    assert (waiting.person_id, waiting.status.value) == (payers[2], "created")
    _, number, pin = city.cards.walkthrough[0]
    assert walker.issuing_region_code == "431124"  # the demo's 道县 clerk and kiosk serve them
    use_card(
        platform, None, credential=PhysicalCard(number, pin), item_no=27, channel=Channel.KIOSK
    )
    assert json.loads(city.cards.terminals_file.read_text(encoding="utf-8")).keys() >= {
        "KIOSK-431124-01",
        "ICBC-431102-01",
    }
    assert city.insurance is not None
    _check_insurance(platform, city.insurance)
    again = generate_demo_city(platform, residents=400, seed=7, messy=False)
    assert again.rollout is None
    assert again.cards is None
    assert again.money is None
    assert again.insurance is None
    assert again.outcome.accepted == 0


def _persons_in(session: Session, *, kind: EnrolmentKind, scheme: SchemeCode) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(Enrolment.person_id))).where(
                Enrolment.kind == kind,
                Enrolment.scheme == scheme,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
        )
        or 0
    )


def _check_insurance(platform: Platform, made: DemoInsurance) -> None:
    """Plausible shares of employees, flexible workers and residents; a long-serving employee's
    ten years and pension account; arrears; this year's resident contributions."""
    at = platform.clock.now()
    today = local_today(platform.clock)
    now = current_period(at)
    pension, medical = SchemeCode.PENSION_EMPLOYEE, SchemeCode.MEDICAL_EMPLOYEE
    with platform.session() as session:
        births = list(
            session.scalars(select(Person.birth_on).where(Person.status == PersonStatus.LIVING))
        )
        working = sum(1 for b in births if 18 <= today.year - b.year <= 59)
        adults = sum(1 for b in births if today.year - b.year >= 16)
        employees = _persons_in(session, kind=EnrolmentKind.EMPLOYEE, scheme=pension)
        flexible = _persons_in(session, kind=EnrolmentKind.FLEXIBLE, scheme=pension)
        in_resident_pension = _persons_in(
            session, kind=EnrolmentKind.RESIDENT, scheme=SchemeCode.PENSION_RESIDENT
        )
        in_resident_medical = _persons_in(
            session, kind=EnrolmentKind.RESIDENT, scheme=SchemeCode.MEDICAL_RESIDENT
        )
        assert 0.07 <= employees / working <= 0.2, (employees, working)
        assert 0.005 <= flexible / working <= 0.05, (flexible, working)
        assert made.employees_left > 0
        assert 0.5 <= in_resident_pension / adults <= 0.9, (in_resident_pension, adults)
        assert in_resident_medical / (len(births) - made.employees - made.flexible) >= 0.85
        # A long-serving employee: ten years of months, the last three declared here and paid.
        paid = func.sum(case((ContributionMonth.status == MonthStatus.PAID, 1), else_=0))
        veteran = session.scalars(
            select(ContributionMonth.person_id)
            .group_by(ContributionMonth.person_id)
            .having(func.count() == 120, paid == 120)
            .order_by(ContributionMonth.person_id)
            .limit(1)
        ).one()
        months = insurance.contribution_months(session, veteran)
        ten_years = periods_between(now - 1000 + 1, now)
        assert [m.period for m in months] == ten_years
        live = LIVE_MONTHS
        assert {m.source for m in months[:-live]} == {MonthSource.MIGRATED}
        assert {m.source for m in months[-live:]} == {MonthSource.DECLARED}
        assert insurance.months_counted(months, pension) == 120
        # Its pension account: last year's settled closing plus this year's credits.
        settled = session.get_one(PensionAccountYear, (veteran, pension, today.year - 1))
        this_year = sum(m.pension_account_minor for m in months if m.period // 100 == today.year)
        account = insurance.account_view(session, veteran, pension, latest=5)
        assert account is not None
        assert account.balance_minor == settled.closing_minor + this_year
        assert ledger_queries.get_balance(session, account.code).posted == account.balance_minor
        # The statement's latest lines are the live months' credits, after the migration.
        assert [line.reference for line in account.latest[:live]] == [
            f"contribution_month:{m.id}" for m in reversed(months[-live:])
        ]
        assert settled.closing_minor > settled.opening_minor > 0
        assert insurance.account_view(session, veteran, medical, latest=0) is not None
        # Arrears: the designated employer's latest months are declared and not paid.
        employer_id = session.scalars(
            select(Employer.id).where(Employer.name == made.arrears_employer)
        ).one()
        unpaid = insurance.list_declarations(
            session, employer_id=employer_id, status=DeclarationStatus.DECLARED
        )
        assert [d.first_period for d in unpaid] == [now, periods_between(now - 1, now)[0]]
        assert insurance.arrears_by_payer(session, before_period=now).get("employer", 0) >= 1
        assert made.declarations_due > len(unpaid)  # flexible workers' unpaid months too
        # This year's resident contributions, paid before the cutover.
        resident = session.scalars(
            select(ResidentContribution.person_id)
            .where(
                ResidentContribution.year == today.year,
                ResidentContribution.scheme == SchemeCode.PENSION_RESIDENT,
                ResidentContribution.status == MonthStatus.PAID,
            )
            .order_by(ResidentContribution.person_id)
            .limit(1)
        ).one()
        years = insurance.list_resident_contributions(session, resident)
        assert today.year in {c.year for c in years if c.scheme is SchemeCode.PENSION_RESIDENT}
        this_year_medical = session.scalar(
            select(func.count()).where(
                ResidentContribution.year == today.year,
                ResidentContribution.scheme == SchemeCode.MEDICAL_RESIDENT,
            )
        )
        assert (this_year_medical or 0) >= in_resident_medical * 0.9
        # The relations that moved: in from 深圳 with its months, out with everything.
        assert made.transfer_in is not None
        assert made.transfer_out is not None
        assert made.transfer_file is not None
        assert made.transfer_file.exists()
        elsewhere = session.scalar(
            select(func.count()).where(ContributionMonth.region_code == "440300")
        )
        assert (elsewhere or 0) >= 12
        ledger = verify_ledger(session)
        assert ledger.ok, ledger.problems
