"""The planner settings of big set-based work (decisions 0018, 0019): db.plan_key_lookups holds
for the rest of the transaction; db.empty_scratch_table empties a scratch table for its next
use. SQLite has no planner settings: the helper changes nothing there and the statements still
run."""

from __future__ import annotations

from sqlalchemy import Column, Integer, func, insert, select, text
from sqlalchemy.orm import Session

from socialcard.bootstrap import Platform
from socialcard.db import (
    empty_scratch_table,
    plan_key_lookups,
    scratch_table,
    temporary_table,
    transaction,
)


def _joins(session: Session) -> tuple[str, str]:
    hash_join = session.scalar(text("SELECT current_setting('enable_hashjoin')"))
    merge_join = session.scalar(text("SELECT current_setting('enable_mergejoin')"))
    return str(hash_join), str(merge_join)


def test_key_lookups_hold_for_the_rest_of_the_transaction_only(platform: Platform) -> None:
    with platform.session() as session, transaction(session):
        plan_key_lookups(session)
        if platform.engine.dialect.name != "postgresql":
            assert session.scalar(select(func.count()).select_from(text("regions"))) is not None
            return
        assert _joins(session) == ("off", "off")
    with platform.session() as session:
        assert _joins(session) == ("on", "on")  # SET LOCAL ended with the transaction


def test_an_emptied_scratch_table_takes_new_rows(platform: Platform) -> None:
    table = temporary_table("scratch_numbers", Column("n", Integer))
    with (
        platform.session() as session,
        transaction(session),
        scratch_table(session, table) as scratch,
    ):
        session.execute(insert(scratch), [{"n": n} for n in range(5)])
        empty_scratch_table(session, scratch)
        assert session.scalar(select(func.count()).select_from(scratch)) == 0
        session.execute(insert(scratch), [{"n": 7}])
        assert session.scalars(select(scratch.c.n)).all() == [7]
