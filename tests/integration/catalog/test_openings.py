"""Catalogue openings: effective-dated history, what was open on a date, refused changes, and
card uses recorded per item."""

from __future__ import annotations

from datetime import date

import pytest

from socialcard.bootstrap import Platform
from socialcard.catalog import queries, services
from socialcard.catalog.errors import CatalogItemNotFound, OpeningNotAllowed, OpeningOutOfOrder
from socialcard.catalog.models import Channel, OpeningStatus
from socialcard.db import transaction
from tests.support import add_person, change_opening, resident_id_for


def test_the_shipped_catalogue_is_loaded_once(platform: Platform) -> None:
    with platform.session() as session:
        items = queries.list_items(session)
        assert [i.item_no for i in items] == list(range(1, 112))
        assert (
            services.load_catalog(session, services.shipped_catalog(), at=platform.clock.now()) == 0
        )


def test_status_on_a_date_follows_the_history(platform: Platform) -> None:
    change_opening(platform, 22, "431124", OpeningStatus.OPENED, date(2015, 6, 1))
    change_opening(platform, 22, "431124", OpeningStatus.SUSPENDED, date(2016, 3, 1))
    change_opening(platform, 22, "431124", OpeningStatus.OPENED, date(2016, 4, 1))
    change_opening(platform, 22, "431102", OpeningStatus.OPENED, date(2015, 9, 1))
    with platform.session() as session:
        assert queries.statuses_on(session, date(2015, 5, 31)) == {}
        assert queries.statuses_on(session, date(2015, 7, 1)) == {
            (22, "431124"): OpeningStatus.OPENED
        }
        assert queries.statuses_on(session, date(2016, 3, 15)) == {
            (22, "431124"): OpeningStatus.SUSPENDED,
            (22, "431102"): OpeningStatus.OPENED,
        }
        assert (
            queries.statuses_on(session, date(2016, 4, 1))[(22, "431124")] is OpeningStatus.OPENED
        )
        assert len(queries.list_opening_history(session, item_no=22)) == 4


def test_refused_changes_leave_history_untouched(platform: Platform) -> None:
    with pytest.raises(OpeningNotAllowed):
        change_opening(platform, 22, "431124", OpeningStatus.SUSPENDED, date(2015, 6, 1))
    with pytest.raises(CatalogItemNotFound):
        change_opening(platform, 112, "431124", OpeningStatus.OPENED, date(2015, 6, 1))
    change_opening(platform, 22, "431124", OpeningStatus.OPENED, date(2016, 1, 1))
    with pytest.raises(OpeningNotAllowed):
        change_opening(platform, 22, "431124", OpeningStatus.OPENED, date(2016, 2, 1))
    with pytest.raises(OpeningOutOfOrder):
        change_opening(platform, 22, "431124", OpeningStatus.CLOSED, date(2015, 12, 1))
    with platform.session() as session:
        assert len(queries.list_opening_history(session)) == 1


def test_card_uses_are_counted_per_item(platform: Platform) -> None:
    person_id = add_person(platform, resident_id_for("431124", "19900517", 123))
    with platform.session() as session, transaction(session):
        for channel in (Channel.COUNTER, Channel.KIOSK):
            services.record_card_use(
                session,
                item_no=27,
                person_id=person_id,
                channel=channel,
                county_code="431124",
                used_at=platform.clock.now(),
            )
    with platform.session() as session:
        assert queries.count_uses_by_item(session) == {27: 2}
