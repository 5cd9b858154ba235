"""The planner settings of big set-based work (decisions 0018, 0019, 0021): db.plan_key_lookups
holds for the rest of the transaction, db.key_lookups for its block only and puts back what was
there before it; db.empty_scratch_table empties a scratch table for its next use. SQLite has no
planner settings: the helpers change nothing there and the statements still run."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from socialcard.bootstrap import Platform
from socialcard.db import (
    empty_scratch_table,
    key_lookups,
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


def test_key_lookups_hold_for_their_block_and_put_back_what_was_there(platform: Platform) -> None:
    with platform.session() as session, transaction(session):
        with key_lookups(session):
            if platform.engine.dialect.name == "postgresql":
                assert _joins(session) == ("off", "off")
            assert session.scalar(select(func.count()).select_from(text("regions"))) is not None
        if platform.engine.dialect.name != "postgresql":
            return
        assert _joins(session) == ("on", "on")
        plan_key_lookups(session)
        with key_lookups(session):
            assert _joins(session) == ("off", "off")
        # The transaction asked for key lookups throughout: the block leaves them on.
        assert _joins(session) == ("off", "off")
    with platform.session() as session:
        assert _joins(session) == ("on", "on")


def test_a_statement_failing_in_a_key_lookup_block_raises_its_own_error(
    platform: Platform,
) -> None:
    """The block's error comes out as it was (not a complaint that the aborted transaction
    refuses the settings being put back), and a savepoint rolled back takes the settings with
    it; a block whose transaction ended inside it leaves nothing to put back."""
    with platform.session() as session, transaction(session):
        with (
            pytest.raises(DBAPIError, match="no_such_table") as raised,
            session.begin_nested(),
            key_lookups(session),
        ):
            session.execute(text("SELECT * FROM no_such_table"))
        assert "aborted" not in str(raised.value.orig)
        if platform.engine.dialect.name == "postgresql":
            assert _joins(session) == ("on", "on")
    with platform.session() as session:
        with key_lookups(session):
            session.rollback()
        if platform.engine.dialect.name == "postgresql":
            assert _joins(session) == ("on", "on")


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
