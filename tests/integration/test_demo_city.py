"""The demo city end to end on both databases: residents, staff, rollout, figures."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select, text

from socialcard.bootstrap import Platform
from socialcard.cards import queries
from socialcard.cards.door import PhysicalCard
from socialcard.cards.models import CardStatus
from socialcard.catalog.metrics import compute_figures
from socialcard.catalog.models import CardUse, Channel
from socialcard.catalog.queries import gather_metric_inputs
from socialcard.demo.city import generate_demo_city
from socialcard.disbursement.queries import list_batches
from socialcard.disbursement.reconciliation import reconcile
from socialcard.http.cards import use_card
from socialcard.kernel.clock import local_today
from socialcard.ledger.queries import verify_ledger
from socialcard.registry.models import Person


def test_a_small_demo_city_has_residents_a_rollout_and_figures(platform: Platform) -> None:
    city = generate_demo_city(platform, residents=400, seed=7, messy=False)
    assert city.outcome.rejected == 0
    assert city.rollout is not None
    assert city.rollout.openings > 0
    with platform.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == city.outcome.accepted
        # The rollout's uses, plus one use of item 107 for every grain subsidy paid.
        assert city.money is not None
        paid = city.money.grain_paid + (city.money.reissue_paid or 0)
        assert session.scalar(select(func.count()).select_from(CardUse)) == (
            city.rollout.card_uses + paid
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
    _, number, pin = city.cards.walkthrough[0]
    assert walker.issuing_region_code == "431124"  # the demo's 道县 clerk and kiosk serve them
    use_card(
        platform, None, credential=PhysicalCard(number, pin), item_no=27, channel=Channel.KIOSK
    )
    assert json.loads(city.cards.terminals_file.read_text(encoding="utf-8")).keys() >= {
        "KIOSK-431124-01",
        "ICBC-431102-01",
    }
    again = generate_demo_city(platform, residents=400, seed=7, messy=False)
    assert again.rollout is None
    assert again.cards is None
    assert again.money is None
    assert again.outcome.accepted == 0
