"""A sheet is checked against the recorded history and its own earlier rows with the rules of a
single change; a refused sheet writes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from socialcard.bootstrap import Platform
from socialcard.catalog.models import OpeningStatus
from socialcard.catalog.opening_sheet import OpeningChange, OpeningSheetRejected
from socialcard.catalog.queries import latest_statuses_on, list_opening_history
from socialcard.catalog.services import apply_opening_sheet, change_opening
from socialcard.db import transaction

OPENED, SUSPENDED = OpeningStatus.OPENED, OpeningStatus.SUSPENDED


def test_sheet_rows_meet_the_history_and_each_other(platform: Platform) -> None:
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        change_opening(
            session,
            item_no=22,
            region_code="431124",
            status=OPENED,
            effective_on=date(2016, 1, 1),
            reason=None,
            recorded_by=None,
            at=at,
        )
    sheet = [
        OpeningChange(2, 22, "431124", SUSPENDED, date(2015, 6, 1), None),  # before the history
        OpeningChange(3, 999, "431124", OPENED, date(2016, 6, 1), None),  # no such item
        OpeningChange(4, 23, "431124", OPENED, date(2016, 6, 1), "x" * 201),  # reason too long
        OpeningChange(5, 27, "431125", OPENED, date(2016, 6, 1), None),
        OpeningChange(6, 27, "431125", OPENED, date(2016, 7, 1), None),  # opened by row 5
    ]
    with pytest.raises(OpeningSheetRejected) as refused, platform.session() as session:
        apply_opening_sheet(session, sheet, recorded_by=None, at=at)
    problems = {p.row_number: p.message for p in refused.value.problems}
    assert sorted(problems) == [2, 3, 4, 6]
    assert "2016-01-01" in problems[2]
    assert "第 999 项" in problems[3]
    assert "200" in problems[4]
    assert "不能改为" in problems[6]
    with platform.session() as session:
        assert len(list_opening_history(session)) == 1
    good = [
        OpeningChange(1, 22, "431124", SUSPENDED, date(2016, 3, 1), "升级"),
        OpeningChange(2, 22, "431124", OPENED, date(2016, 4, 1), None),
        OpeningChange(3, 27, "431125", OPENED, date(2016, 2, 1), None),
    ]
    with platform.session() as session, transaction(session):
        applied = apply_opening_sheet(session, good, recorded_by=None, at=at)
    assert [(o.item_no, o.status, o.effective_on) for o in applied] == [
        (27, OPENED, date(2016, 2, 1)),
        (22, SUSPENDED, date(2016, 3, 1)),
        (22, OPENED, date(2016, 4, 1)),
    ]
    assert all(o.id is not None for o in applied)


def test_the_latest_status_of_each_region_on_a_day(platform: Platform) -> None:
    at = platform.clock.now()
    sheet = [
        OpeningChange(1, 22, "431124", OPENED, date(2016, 1, 1), None),
        OpeningChange(2, 22, "431124", SUSPENDED, date(2016, 6, 1), "升级"),
        OpeningChange(3, 22, "431100", OPENED, date(2016, 3, 1), None),
        OpeningChange(4, 23, "431124", OPENED, date(2015, 1, 1), None),  # another item
    ]
    with platform.session() as session, transaction(session):
        apply_opening_sheet(session, sheet, recorded_by=None, at=at)
    regions = ["431124", "431100", "431125"]
    with platform.session() as session:
        assert latest_statuses_on(
            session, item_no=22, region_codes=regions, on=date(2016, 2, 1)
        ) == {"431124": OPENED}
        assert latest_statuses_on(
            session, item_no=22, region_codes=regions, on=date(2016, 6, 1)
        ) == {"431124": SUSPENDED, "431100": OPENED}
