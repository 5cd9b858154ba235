"""The demo city end to end on both databases: residents, staff, rollout, figures."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from socialcard.bootstrap import Platform
from socialcard.catalog.metrics import compute_figures
from socialcard.catalog.models import CardUse
from socialcard.catalog.queries import gather_metric_inputs
from socialcard.demo.city import generate_demo_city
from socialcard.kernel.clock import local_today
from socialcard.registry.models import Person


def test_a_small_demo_city_has_residents_a_rollout_and_figures(platform: Platform) -> None:
    city = generate_demo_city(platform, residents=400, seed=7, messy=False)
    assert city.outcome.rejected == 0
    assert city.rollout is not None
    assert city.rollout.openings > 0
    with platform.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == city.outcome.accepted
        assert session.scalar(select(func.count()).select_from(CardUse)) == city.rollout.card_uses
        today = local_today(platform.clock)
        figures = compute_figures(
            gather_metric_inputs(
                session, as_of=today, period_from=date(today.year - 1, 1, 1), period_to=today
            )
        )
    assert 0 < figures.opening_rate_city.numerator <= figures.opening_rate_city.denominator
    assert sum(f.users for f in figures.items) > 0
    again = generate_demo_city(platform, residents=400, seed=7, messy=False)
    assert again.rollout is None
    assert again.outcome.accepted == 0
