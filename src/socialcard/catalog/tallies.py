"""Distinct users of each item, kept incrementally (decision 0008).

"Actual use" counts distinct holders with a successful use of an item in a period. Counting them
from card uses reads every use of the period (tens of millions at city scale), so each successful
use also keeps two small facts, in the same transaction:

- item_year_users: (item, year, person) → the day of the person's first use of the item that year;
- item_user_tallies: (item, day, shard) → how many holders made that first use on that day.

Users of an item from 1 January to D are then the sum of at most 366 × shards tally rows per
item, exact, whatever the order in which uses arrive. Any other period is counted from the card
uses themselves (count_users_by_item_scan). rebuild_user_tallies recomputes both tables from the
card uses set-based (after a bulk load); compare_user_tallies is the auditor's check.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    CursorResult,
    Date,
    Integer,
    Select,
    Table,
    bindparam,
    cast,
    delete,
    distinct,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from socialcard.catalog.models import (
    USER_TALLY_SHARDS,
    CardUse,
    ItemUserTally,
    ItemYearUser,
    UseOutcome,
)
from socialcard.db import dialect_insert, scratch_table, temporary_table
from socialcard.kernel.clock import SHANGHAI


def _add_to_tally(session: Session, *, item_no: int, day: date, person_id: int, delta: int) -> None:
    tallies = ItemUserTally.__table__
    statement = (
        dialect_insert(session, ItemUserTally)
        .values(
            item_no=item_no,
            first_used_on=day,
            shard=person_id % USER_TALLY_SHARDS,
            users=delta,
        )
        .on_conflict_do_update(
            index_elements=["item_no", "first_used_on", "shard"],
            set_={"users": tallies.c.users + delta},
        )
    )
    session.execute(statement)


def _first_use(session: Session, item_no: int, year: int, person_id: int) -> date | None:
    stmt = (
        select(ItemYearUser.first_used_on)
        .where(
            ItemYearUser.item_no == item_no,
            ItemYearUser.year == year,
            ItemYearUser.person_id == person_id,
        )
        .with_for_update()
    )
    return session.execute(stmt).scalar_one_or_none()


# PostgreSQL: the two common cases in one statement. A holder's first use of the item this year
# is recorded and counted; a use on or after the recorded first use changes nothing. The answer
# is false only when the recorded first use is later than this one (a use arriving out of order)
# or was committed by a concurrent transaction while this statement waited: the general path
# below then decides, with the membership row locked.
_FIRST_USE_NOTED: Final = text(
    """
    WITH inserted AS (
        INSERT INTO item_year_users (item_no, year, person_id, first_used_on)
        VALUES (:item_no, :year, :person_id, :day)
        ON CONFLICT DO NOTHING
        RETURNING person_id
    ), counted AS (
        INSERT INTO item_user_tallies (item_no, first_used_on, shard, users)
        SELECT :item_no, :day, :shard, 1 FROM inserted
        ON CONFLICT (item_no, first_used_on, shard)
        DO UPDATE SET users = item_user_tallies.users + 1
    )
    SELECT EXISTS (SELECT 1 FROM inserted) OR EXISTS (
        SELECT 1 FROM item_year_users
        WHERE item_no = :item_no AND year = :year AND person_id = :person_id
          AND first_used_on <= :day
    )
    """
).bindparams(
    bindparam("item_no", type_=Integer),
    bindparam("year", type_=Integer),
    bindparam("person_id", type_=BigInteger),
    bindparam("day", type_=Date),
    bindparam("shard", type_=Integer),
)


def note_successful_use(
    session: Session, *, item_no: int, person_id: int, used_at: datetime
) -> None:
    """Keep the tallies true for one successful use, in the caller's transaction. Uses may arrive
    out of order (a bank's file of yesterday after today's counter use): an earlier first use
    moves the holder's count to the earlier day."""
    day = used_at.astimezone(SHANGHAI).date()
    if session.get_bind().dialect.name == "postgresql":
        noted = session.execute(
            _FIRST_USE_NOTED,
            {
                "item_no": item_no,
                "year": day.year,
                "person_id": person_id,
                "day": day,
                "shard": person_id % USER_TALLY_SHARDS,
            },
        ).scalar_one()
        if noted:
            return
    first = _first_use(session, item_no, day.year, person_id)
    if first is None:
        result = session.execute(
            dialect_insert(session, ItemYearUser)
            .values(item_no=item_no, year=day.year, person_id=person_id, first_used_on=day)
            .on_conflict_do_nothing()
            # SQLAlchemy keeps an INSERT's row count only when asked (PostgreSQL read -1).
            .execution_options(preserve_rowcount=True)
        )
        inserted = typing.cast(CursorResult[Any], result).rowcount
        if inserted:
            _add_to_tally(session, item_no=item_no, day=day, person_id=person_id, delta=1)
            return
        # A concurrent transaction made the same holder's first use of the year; it has committed.
        first = _first_use(session, item_no, day.year, person_id)
        assert first is not None
    if day < first:
        session.execute(
            update(ItemYearUser)
            .where(
                ItemYearUser.item_no == item_no,
                ItemYearUser.year == day.year,
                ItemYearUser.person_id == person_id,
            )
            .values(first_used_on=day)
        )
        _add_to_tally(session, item_no=item_no, day=first, person_id=person_id, delta=-1)
        _add_to_tally(session, item_no=item_no, day=day, person_id=person_id, delta=1)


def count_users_year_to_date(session: Session, *, on: date) -> dict[int, int]:
    """Distinct holders with a successful use of each item from 1 January of `on`'s year to `on`
    (Asia/Shanghai days), from the tallies."""
    stmt = (
        select(ItemUserTally.item_no, func.sum(ItemUserTally.users))
        .where(
            ItemUserTally.first_used_on >= date(on.year, 1, 1),
            ItemUserTally.first_used_on <= on,
        )
        .group_by(ItemUserTally.item_no)
    )
    return {item: int(users) for item, users in session.execute(stmt).tuples() if users}


def count_users_by_item_scan(
    session: Session, *, period_from: date, period_to: date
) -> dict[int, int]:
    """Distinct holders with a successful use of each item in any period (days in Asia/Shanghai,
    both ends inclusive), counted from the card uses themselves."""
    start = datetime.combine(period_from, time.min, tzinfo=SHANGHAI)
    end = datetime.combine(period_to + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    stmt = (
        select(CardUse.item_no, func.count(distinct(CardUse.person_id)))
        .where(
            CardUse.outcome == UseOutcome.SUCCESS,
            CardUse.used_at >= start,
            CardUse.used_at < end,
        )
        .group_by(CardUse.item_no)
    )
    return dict(session.execute(stmt).tuples().all())


def _local_day(session: Session) -> ColumnElement[Any]:
    """The Asia/Shanghai day of a card use, in SQL (China keeps no daylight saving time)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Shanghai", CardUse.used_at), Date)
    return func.date(CardUse.used_at, "+8 hours")


def _year_of(session: Session, day: ColumnElement[Any]) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("year", day), Integer)
    return cast(func.strftime("%Y", day), Integer)


@dataclass(frozen=True, slots=True)
class TallyRebuild:
    memberships: int
    tally_rows: int


def rebuild_user_tallies(session: Session) -> TallyRebuild:
    """Recompute both tables from every successful card use, set-based, in the caller's
    transaction (after a bulk load of card uses, or to repair)."""
    if session.get_bind().dialect.name == "postgresql":
        # One big GROUP BY: let it sort in memory rather than in many small temporary files.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(delete(ItemUserTally))
    session.execute(delete(ItemYearUser))
    day = _local_day(session).label("day")
    days = (
        select(CardUse.item_no, CardUse.person_id, day)
        .where(CardUse.outcome == UseOutcome.SUCCESS)
        .subquery()
    )
    year = _year_of(session, days.c.day)
    session.execute(
        insert(ItemYearUser).from_select(
            ["item_no", "year", "person_id", "first_used_on"],
            select(days.c.item_no, year, days.c.person_id, func.min(days.c.day)).group_by(
                days.c.item_no, year, days.c.person_id
            ),
        )
    )
    shard = (ItemYearUser.person_id % USER_TALLY_SHARDS).label("shard")
    session.execute(
        insert(ItemUserTally).from_select(
            ["item_no", "first_used_on", "shard", "users"],
            select(ItemYearUser.item_no, ItemYearUser.first_used_on, shard, func.count()).group_by(
                ItemYearUser.item_no, ItemYearUser.first_used_on, shard
            ),
        )
    )
    memberships = session.scalar(select(func.count()).select_from(ItemYearUser)) or 0
    tally_rows = session.scalar(select(func.count()).select_from(ItemUserTally)) or 0
    return TallyRebuild(memberships=memberships, tally_rows=tally_rows)


@dataclass(frozen=True, slots=True)
class TallyMismatch:
    item_no: int
    year: int
    from_uses: int
    from_tallies: int


def compare_user_tallies(session: Session, *, years: list[int]) -> list[TallyMismatch]:
    """Every item whose tallied users in a whole year differ from a direct count of its card
    uses (empty when the tallies are true)."""
    mismatches: list[TallyMismatch] = []
    for year in years:
        counted = count_users_by_item_scan(
            session, period_from=date(year, 1, 1), period_to=date(year, 12, 31)
        )
        tallied = count_users_year_to_date(session, on=date(year, 12, 31))
        for item_no in sorted(set(counted) | set(tallied)):
            if counted.get(item_no, 0) != tallied.get(item_no, 0):
                mismatches.append(
                    TallyMismatch(item_no, year, counted.get(item_no, 0), tallied.get(item_no, 0))
                )
    return mismatches


def years_with_uses(session: Session) -> list[int]:
    """The calendar years (Asia/Shanghai) in which any card use was made."""
    first, last = session.execute(
        select(func.min(CardUse.used_at), func.max(CardUse.used_at))
    ).one()
    if first is None or last is None:
        return []
    return list(range(first.astimezone(SHANGHAI).year, last.astimezone(SHANGHAI).year + 1))


def note_successful_uses_of_day(
    session: Session, *, item_no: int, day: date, person_ids: Select[Any]
) -> int:
    """Keep the tallies true for many successful uses of one item on one day (a bank's return
    file), set-based: holders without a first use this year get one on `day`; holders whose first
    use was later move to `day`. `person_ids` selects distinct person ids. Returns how many
    holders made their first use of the year. SQLite serialises writers, so counting before the
    insert is exact there; PostgreSQL counts what its INSERT … RETURNING actually inserted."""
    # One literal, so PostgreSQL sees the same expression in SELECT and GROUP BY.
    shards_literal: ColumnElement[int] = literal_column(str(USER_TALLY_SHARDS))
    # The holders once, in a keyed temporary table: every statement below joins it instead of
    # evaluating the caller's query again (a million holders in a return file).
    holders = temporary_table(
        "use_holders",
        Column("person_id", BigInteger, primary_key=True),
    )
    connection = session.connection()
    with scratch_table(session, holders):
        holder_count = session.execute(
            insert(holders)
            .from_select(["person_id"], person_ids)
            # SQLAlchemy keeps an INSERT's row count only when asked (PostgreSQL read -1).
            .execution_options(preserve_rowcount=True)
        ).rowcount  # type: ignore[attr-defined]
        if connection.dialect.name == "postgresql":
            session.execute(text("ANALYZE use_holders"))
        return _note_holders(
            session,
            holders,
            holder_count=int(holder_count),
            item_no=item_no,
            day=day,
            shards_literal=shards_literal,
        )


def _note_holders(
    session: Session,
    holders: Table,
    *,
    holder_count: int,
    item_no: int,
    day: date,
    shards_literal: ColumnElement[int],
) -> int:
    year_users = ItemYearUser.__table__
    person = holders.c.person_id
    postgres = session.get_bind().dialect.name == "postgresql"
    # The holders new to the item this year: recorded on the day, counted by shard.
    new_rows = select(literal(item_no), literal(day.year), person, literal(day))
    columns = ["item_no", "year", "person_id", "first_used_on"]
    shards: dict[int, int] = {}
    if postgres:
        # No anti-join first: ON CONFLICT DO NOTHING already probes the key of each holder,
        # while an anti-join was planned as a hash of every user of the item and year (the
        # statistics still count the users before this transaction's inserts): a million rows
        # by the last bank of W3, a whole year of an item's users in a city.
        inserted = (
            postgresql.insert(ItemYearUser)
            .from_select(columns, new_rows)
            .on_conflict_do_nothing()
            .returning(year_users.c.person_id)
            .cte("inserted")
        )
        stmt = select(inserted.c.person_id % shards_literal, func.count()).group_by(
            inserted.c.person_id % shards_literal
        )
        shards = {int(s): int(n) for s, n in session.execute(stmt).tuples()}
    else:
        known = select(ItemYearUser.person_id).where(
            ItemYearUser.item_no == item_no,
            ItemYearUser.year == day.year,
            ItemYearUser.person_id == person,
        )
        counted = select(person % shards_literal, func.count()).where(~known.exists())
        shards = {
            int(s): int(n)
            for s, n in session.execute(counted.group_by(person % shards_literal)).tuples()
        }
        session.execute(
            sqlite.insert(ItemYearUser).from_select(columns, new_rows.where(~known.exists()))
        )
    deltas = {(day, shard): count for shard, count in shards.items()}
    new = sum(shards.values())
    if new < holder_count:
        # Some holders had a first use this year already: those whose first use was later
        # than this day (a use arriving late) move to it. The rows just inserted carry the day
        # itself, so they are not among them. A return of first payments skips this.
        moved = _moved_earlier(session, holders, item_no, day, shards_literal)
        for first_day, shard, count in moved:
            deltas[first_day, shard] = deltas.get((first_day, shard), 0) - count
            deltas[day, shard] = deltas.get((day, shard), 0) + count
        if moved:
            session.execute(
                update(ItemYearUser)
                .where(
                    ItemYearUser.item_no == item_no,
                    ItemYearUser.year == day.year,
                    ItemYearUser.first_used_on > day,
                    ItemYearUser.person_id.in_(select(person)),
                )
                .values(first_used_on=day)
            )
    # In key order: two bulk transactions at once (a batch's returns applied side by side) then
    # take the tally rows they share in the same order and never deadlock.
    for (first_day, shard), delta in sorted(deltas.items()):
        _add_shard(session, item_no=item_no, day=first_day, shard=shard, delta=delta)
    return new


def _moved_earlier(
    session: Session,
    holders: Table,
    item_no: int,
    day: date,
    shards_literal: ColumnElement[int],
) -> list[tuple[date, int, int]]:
    """(recorded first day, shard, holders) of the holders whose recorded first use of the item
    this year is later than `day`, each holder looked up by its key. PostgreSQL: the lookup is
    a lateral subquery kept apart by OFFSET 0, so it stays one index probe per holder whatever
    the planner believes of the item's users (a plain join scanned all of them)."""
    person = holders.c.person_id
    first_use = (
        select(ItemYearUser.first_used_on)
        .where(
            ItemYearUser.item_no == item_no,
            ItemYearUser.year == day.year,
            ItemYearUser.person_id == person,
        )
        .correlate(holders)
    )
    recorded_day: ColumnElement[date]
    if session.get_bind().dialect.name == "postgresql":
        recorded = first_use.offset(0).lateral("recorded")
        recorded_day = recorded.c.first_used_on
        pairs = select(recorded_day, person % shards_literal).select_from(
            holders.join(recorded, true())
        )
    else:
        recorded_day = first_use.scalar_subquery()
        pairs = select(recorded_day.label("first_used_on"), person % shards_literal)
    found = pairs.where(recorded_day > day).subquery()
    first_on, shard_of = found.c[0], found.c[1]
    moved = select(first_on, shard_of, func.count()).group_by(first_on, shard_of)
    return [(d, int(s), int(n)) for d, s, n in session.execute(moved).tuples()]


def _add_shard(session: Session, *, item_no: int, day: date, shard: int, delta: int) -> None:
    tallies = ItemUserTally.__table__
    session.execute(
        dialect_insert(session, ItemUserTally)
        .values(item_no=item_no, first_used_on=day, shard=shard, users=delta)
        .on_conflict_do_update(
            index_elements=["item_no", "first_used_on", "shard"],
            set_={"users": tallies.c.users + delta},
        )
    )
