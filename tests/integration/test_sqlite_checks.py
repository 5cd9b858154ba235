"""The enum checks refuse what they refused before on both databases, and on SQLite they are
stored as OR chains (socialcard.migrations.sqlite_checks): a migration that adds an enum column
and forgets the rewrite fails here."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.migrations.sqlite_checks import as_in_lists, as_or_chains, in_lists_left

STATUS_CHECK = "CHECK (status IN ('due', 'paid', 'transferred_out', 'cancelled'))"


def test_the_rewrite_is_exact_both_ways() -> None:
    chained = as_or_chains(f"CONSTRAINT ck_x {STATUS_CHECK}")
    assert chained == (
        "CONSTRAINT ck_x CHECK ((status = 'due' OR status = 'paid' OR "
        "status = 'transferred_out' OR status = 'cancelled'))"
    )
    assert as_in_lists(chained) == f"CONSTRAINT ck_x {STATUS_CHECK}"
    # Two values, NOT IN and quoted names are left as they are.
    for kept in (
        "CHECK (sex IN ('male', 'female'))",
        "CHECK (kind NOT IN ('a', 'b', 'c'))",
        "CHECK (\"order\" IN ('a', 'b', 'c'))",
    ):
        assert as_or_chains(kept) == kept


def test_enum_checks_still_refuse_unknown_values(platform: Platform) -> None:
    refused = (IntegrityError, psycopg.errors.CheckViolation)
    with platform.session() as session:
        if session.connection().dialect.name == "sqlite":
            assert in_lists_left(session.connection()) == []
    insert = text(
        "INSERT INTO regions (code, name, kind, sort_order) VALUES (:code, '测试', :kind, 0)"
    )
    with platform.session() as session, transaction(session):
        session.execute(insert, {"code": "999901", "kind": "zone"})  # a known value passes
    for n, kind in enumerate(("district", "ZONE", "")):
        with pytest.raises(refused), platform.session() as session, transaction(session):
            session.execute(insert, {"code": f"99991{n}", "kind": kind})
