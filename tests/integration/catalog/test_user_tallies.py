"""Distinct users from the incremental tallies equal a direct count of the card uses, whatever
the order in which uses arrive (decision 0008)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import BigInteger, cast, null, select, text
from sqlalchemy.exc import OperationalError

from socialcard.bootstrap import Platform
from socialcard.catalog import queries, services, tallies
from socialcard.catalog.models import Channel, ItemUserTally, ItemYearUser, UseOutcome
from socialcard.db import transaction
from socialcard.registry.models import Person
from tests.support import add_person, migrate_down_and_up, resident_id_for


def _people(platform: Platform, count: int) -> list[int]:
    return [
        add_person(platform, resident_id_for("431124", "19900517", n), phone=None)
        for n in range(1, count + 1)
    ]


def _use(session: object, item_no: int, person_id: int, at: datetime, ok: bool = True) -> None:
    services.record_card_use(
        session,  # type: ignore[arg-type]
        item_no=item_no,
        person_id=person_id,
        channel=Channel.COUNTER,
        county_code="431124",
        used_at=at,
        outcome=UseOutcome.SUCCESS if ok else UseOutcome.REFUSED,
        refusal_code=None if ok else "card_reported_lost",
    )


def _tables(platform: Platform) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with platform.session() as session:
        members = session.execute(
            select(
                ItemYearUser.item_no,
                ItemYearUser.year,
                ItemYearUser.person_id,
                ItemYearUser.first_used_on,
            ).order_by(ItemYearUser.item_no, ItemYearUser.year, ItemYearUser.person_id)
        ).all()
        rows = session.execute(
            select(
                ItemUserTally.item_no,
                ItemUserTally.first_used_on,
                ItemUserTally.shard,
                ItemUserTally.users,
            )
            .where(ItemUserTally.users != 0)
            .order_by(ItemUserTally.item_no, ItemUserTally.first_used_on, ItemUserTally.shard)
        ).all()
    return [tuple(m) for m in members], [tuple(r) for r in rows]


def test_random_uses_in_random_order_give_the_counted_users(platform: Platform) -> None:
    people = _people(platform, 12)
    rng = random.Random(8)
    start = datetime(2025, 12, 20, tzinfo=UTC)
    uses = [
        (
            rng.choice((22, 27, 29, 56)),
            rng.choice(people),
            start + timedelta(hours=rng.randrange(24 * 90)),
            rng.random() > 0.15,
        )
        for _ in range(300)
    ]
    rng.shuffle(uses)  # late files: uses do not arrive in time order
    for batch in range(0, len(uses), 50):
        with platform.session() as session, transaction(session):
            for item_no, person_id, at, ok in uses[batch : batch + 50]:
                _use(session, item_no, person_id, at, ok)

    with platform.session() as session:
        for on in [date(2025, 12, 31)] + [date(2026, 1, 1) + timedelta(days=d) for d in range(70)]:
            expected = tallies.count_users_by_item_scan(
                session, period_from=date(on.year, 1, 1), period_to=on
            )
            assert tallies.count_users_year_to_date(session, on=on) == expected, on
            assert (
                queries.count_users_by_item(session, period_from=date(on.year, 1, 1), period_to=on)
                == expected
            )
        assert tallies.compare_user_tallies(session, years=[2025, 2026]) == []
        assert tallies.years_with_uses(session) == [2025, 2026]
        by_hand = session.execute(
            text(
                "SELECT count(DISTINCT person_id) FROM card_uses WHERE item_no = 27 "
                "AND outcome = 'success' AND used_at >= '2025-12-31 16:00:00' "
                "AND used_at < '2026-02-28 16:00:00'"
            )
        ).scalar_one()
        assert (
            queries.count_users_by_item(
                session, period_from=date(2026, 1, 1), period_to=date(2026, 2, 28)
            ).get(27, 0)
            == by_hand
        )

    incremental = _tables(platform)
    with platform.session() as session, transaction(session):
        rebuilt = tallies.rebuild_user_tallies(session)
    assert _tables(platform) == incremental
    assert rebuilt.memberships == len(incremental[0]) > 0


def test_an_earlier_use_arriving_late_moves_the_holder_to_its_day(platform: Platform) -> None:
    (holder,) = _people(platform, 1)
    with platform.session() as session, transaction(session):
        _use(session, 27, holder, datetime(2026, 3, 5, 2, tzinfo=UTC))
    with platform.session() as session:
        assert tallies.count_users_year_to_date(session, on=date(2026, 3, 2)) == {}
    with platform.session() as session, transaction(session):
        _use(session, 27, holder, datetime(2026, 3, 1, 2, tzinfo=UTC))
        _use(session, 27, holder, datetime(2026, 3, 9, 2, tzinfo=UTC))
    with platform.session() as session:
        assert tallies.count_users_year_to_date(session, on=date(2026, 3, 2)) == {27: 1}
        assert tallies.count_users_year_to_date(session, on=date(2026, 12, 31)) == {27: 1}
    assert _tables(platform)[0] == [(27, 2026, holder, date(2026, 3, 1))]


def test_a_days_uses_in_bulk_count_new_holders_and_move_later_ones(platform: Platform) -> None:
    """The bulk path (a bank's return: many holders' uses of one item at one moment): holders
    new this year are counted on the day, holders whose first use was earlier stay where they
    are, holders whose recorded first use is later move to the day; the tables then equal a
    rebuild from the card uses."""
    people = _people(platform, 9)
    earlier, later, fresh = people[:3], people[3:6], people[6:]
    with platform.session() as session, transaction(session):
        for holder in earlier:
            _use(session, 107, holder, datetime(2026, 2, 1, 2, tzinfo=UTC))
        for holder in later:
            _use(session, 107, holder, datetime(2026, 6, 1, 2, tzinfo=UTC))
        _use(session, 22, fresh[0], datetime(2026, 1, 5, 2, tzinfo=UTC))  # another item
    on = datetime(2026, 4, 1, 2, tzinfo=UTC)
    with platform.session() as session, transaction(session):
        written = services.record_card_uses_of_day(
            session,
            item_no=107,
            channel=Channel.BANK,
            used_at=on,
            rows=select(Person.id, cast(null(), BigInteger), Person.residence_county_code)
            .where(Person.id.in_(people))
            .order_by(Person.id),
            holders=select(Person.id).where(Person.id.in_(people)).order_by(Person.id),
        )
    assert written == 9
    members, _rows = _tables(platform)
    firsts = {m[2]: m[3] for m in members if m[0] == 107}
    assert firsts == {
        **{holder: date(2026, 2, 1) for holder in earlier},
        **{holder: date(2026, 4, 1) for holder in later + fresh},
    }
    with platform.session() as session:
        assert tallies.count_users_year_to_date(session, on=date(2026, 3, 31)) == {107: 3, 22: 1}
        assert tallies.count_users_year_to_date(session, on=date(2026, 4, 1)) == {107: 9, 22: 1}
        assert tallies.count_users_year_to_date(session, on=date(2026, 12, 31)) == {107: 9, 22: 1}
        assert tallies.compare_user_tallies(session, years=[2026]) == []
    incremental = _tables(platform)
    with platform.session() as session, transaction(session):
        tallies.rebuild_user_tallies(session)
    assert _tables(platform) == incremental


def test_days_and_years_are_counted_in_beijing_time(platform: Platform) -> None:
    (holder,) = _people(platform, 1)
    with platform.session() as session, transaction(session):
        # 17:00 UTC on New Year's Eve is 01:00 on 1 January in Yongzhou.
        _use(session, 29, holder, datetime(2025, 12, 31, 17, tzinfo=UTC))
    with platform.session() as session:
        assert tallies.count_users_year_to_date(session, on=date(2025, 12, 31)) == {}
        assert tallies.count_users_year_to_date(session, on=date(2026, 1, 1)) == {29: 1}
    incremental = _tables(platform)
    with platform.session() as session, transaction(session):
        tallies.rebuild_user_tallies(session)
    assert (
        _tables(platform)
        == incremental
        == (
            [(29, 2026, holder, date(2026, 1, 1))],
            [(29, date(2026, 1, 1), holder % 8, 1)],
        )
    )


def test_refused_uses_are_not_users(platform: Platform) -> None:
    (holder,) = _people(platform, 1)
    with platform.session() as session, transaction(session):
        _use(session, 56, holder, datetime(2026, 2, 1, tzinfo=UTC), ok=False)
    with platform.session() as session:
        assert tallies.count_users_year_to_date(session, on=date(2026, 12, 31)) == {}
    assert _tables(platform) == ([], [])


def test_the_migration_tallies_card_uses_recorded_before_it(platform: Platform) -> None:
    people = _people(platform, 3)
    with platform.session() as session, transaction(session):
        for n, holder in enumerate(people):
            _use(session, 27, holder, datetime(2026, 1, 1 + n, 20, tzinfo=UTC))
            _use(session, 22, holder, datetime(2026, 5, 1, tzinfo=UTC), ok=n != 0)
    expected = _tables(platform)
    migrate_down_and_up(platform, "0003")
    assert _tables(platform) == expected
    first_days = sorted(m[3] for m in expected[0] if m[0] == 27)  # type: ignore[type-var]
    # 20:00 UTC on 1 January is 2 January in Yongzhou; the refused use of item 22 is not a user.
    assert first_days == [date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 4)]
    assert len([m for m in expected[0] if m[0] == 22]) == 2


def test_concurrent_uses_of_the_same_holders_count_each_holder_once(platform: Platform) -> None:
    """Eight writers record uses of the same holders at once — first uses, repeats and uses
    arriving out of order, each in its own transaction — and the tallies still equal a direct
    count (on PostgreSQL the common cases take the one-statement path, racing each other)."""
    people = _people(platform, 6)
    start = datetime(2026, 4, 1, 2, tzinfo=UTC)
    rng = random.Random(29)
    plans = [
        [(rng.choice(people), start + timedelta(days=rng.randrange(20))) for _ in range(25)]
        for _ in range(8)
    ]
    barrier = threading.Barrier(len(plans))
    failures: list[BaseException] = []

    def writer(plan: list[tuple[int, datetime]]) -> None:
        try:
            barrier.wait(timeout=30)
            for person_id, at in plan:
                for attempt in range(20):
                    try:
                        with platform.session() as session, transaction(session):
                            _use(session, 29, person_id, at)
                        break
                    except OperationalError:  # SQLite: the database is locked; try again
                        if attempt == 19:
                            raise
                        time.sleep(0.05)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    firsts: dict[int, datetime] = {}
    for plan in plans:
        for person_id, at in plan:
            firsts[person_id] = min(firsts.get(person_id, at), at)
    members, rows = _tables(platform)
    assert members == [(29, 2026, p, firsts[p].date()) for p in sorted(firsts)]
    assert sum(int(row[3]) for row in rows) == len(firsts)  # type: ignore[call-overload]
    with platform.session() as session:
        assert tallies.compare_user_tallies(session, years=[2026]) == []
        assert tallies.count_users_year_to_date(session, on=date(2026, 12, 31)) == {29: len(firsts)}
