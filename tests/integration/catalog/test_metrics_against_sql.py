"""The figures agree with direct SQL counts over the same tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text

from socialcard.bootstrap import Platform
from socialcard.catalog import queries, services
from socialcard.catalog.metrics import compute_figures
from socialcard.catalog.models import Channel, OpeningStatus
from socialcard.db import transaction
from tests.support import add_person, change_opening, resident_id_for

AS_OF = date(2016, 6, 30)


def person(platform: Platform, sequence: int) -> int:
    return add_person(platform, resident_id_for("431124", "19900517", sequence), phone=None)


def test_opening_rates_and_users_match_sql(platform: Platform) -> None:
    changes = [
        (22, "431124", OpeningStatus.OPENED, date(2015, 6, 1)),
        (23, "431124", OpeningStatus.OPENED, date(2015, 6, 1)),
        (23, "431124", OpeningStatus.SUSPENDED, date(2016, 1, 1)),
        (27, "431100", OpeningStatus.OPENED, date(2015, 9, 1)),
        (29, "431102", OpeningStatus.OPENED, date(2016, 7, 1)),
        (70, "431124", OpeningStatus.OPENED, date(2015, 6, 1)),
    ]
    for item_no, region, status, on in changes:
        change_opening(platform, item_no, region, status, on)
    holders = [person(platform, n) for n in (1, 3, 5)]
    with platform.session() as session, transaction(session):
        for holder in holders + holders[:1]:
            services.record_card_use(
                session,
                item_no=27,
                person_id=holder,
                channel=Channel.KIOSK,
                county_code="431124",
                used_at=datetime(2016, 3, 1, 2, 0, tzinfo=UTC),
            )
        services.record_card_use(
            session,
            item_no=27,
            person_id=holders[0],
            channel=Channel.KIOSK,
            county_code="431124",
            used_at=datetime(2017, 3, 1, tzinfo=UTC),
        )

    with platform.session() as session:
        figures = compute_figures(
            queries.gather_metric_inputs(
                session, as_of=AS_OF, period_from=date(2016, 1, 1), period_to=AS_OF
            )
        )
        latest = text(
            "SELECT item_no, region_code, status FROM item_openings o WHERE effective_on <= :d "
            "AND id = (SELECT id FROM item_openings i WHERE i.item_no = o.item_no "
            "AND i.region_code = o.region_code AND i.effective_on <= :d "
            "ORDER BY effective_on DESC, id DESC LIMIT 1)"
        )
        rows = session.execute(latest, {"d": AS_OF}).all()
        opened = {(r.item_no, r.region_code) for r in rows if r.status == "opened"}
        applicable_total = session.execute(
            text("SELECT count(*) FROM catalog_items WHERE item_no NOT IN (70, 71, 72, 73, 88)")
        ).scalar_one()
        opened_items = {i for i, _ in opened if i not in (70, 71, 72, 73, 88)}
        daoxian_items = {
            i for i, r in opened if r in ("431124", "431100") and i not in (70, 71, 72, 73, 88)
        }
        users_27 = session.execute(
            text(
                "SELECT count(DISTINCT person_id) FROM card_uses WHERE item_no = 27 "
                "AND used_at >= '2016-01-01' AND used_at < '2016-07-01'"
            )
        ).scalar_one()

    assert figures.opening_rate_city.numerator == len(opened_items) == 2
    assert figures.opening_rate_city.denominator == applicable_total == 106
    assert figures.opening_rate_by_county["431124"].numerator == len(daoxian_items) == 2
    assert figures.opening_rate_by_county["431102"].numerator == 1
    by_item = {f.item_no: f for f in figures.items}
    assert by_item[27].users == users_27 == 3
    assert by_item[27].county_coverage.numerator == 11
    assert by_item[23].county_coverage.numerator == 0
    assert by_item[70].opened_counties == ("431124",)
