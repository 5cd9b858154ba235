"""db.bulk_insert writes what an ORM insert would, on both databases: enums
by value, dates, aware datetimes in UTC, JSON, scalar defaults of left-out columns, explicit
NULLs, keys a later row leaves out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from socialcard.bootstrap import Platform
from socialcard.db import bulk_insert, transaction
from socialcard.insurance.models import ContributionRule
from socialcard.insurance.schemes import SchemeCode
from socialcard.ledger.models import LedgerAccount, NormalSide

AT = datetime(2026, 11, 30, 13, 5, 7, 123456, tzinfo=timezone(timedelta(hours=8)))


def test_bulk_insert_writes_what_the_orm_reads_back(platform: Platform) -> None:
    rows = [
        {
            "scheme": SchemeCode.MATERNITY,
            "effective_from": date(2031, 1, 1),
            "employer_rate_bp": 50,
            "tiers": [[38_000, 60_000], [58_000, 60_000]],
            "source": "测试：批量写入",
            "loaded_at": AT,
        },
        {
            "scheme": SchemeCode.WORK_INJURY,
            "effective_from": date(2031, 7, 1),
            "employer_rate_bp": 20,
            "tiers": [],
            "source": "second",
            # loaded_at left out by a later row: NULL, which the table refuses
        },
    ]
    refused = (IntegrityError, psycopg.errors.NotNullViolation)
    with pytest.raises(refused), platform.session() as session, transaction(session):
        bulk_insert(session, ContributionRule.__table__, rows)
    rows[1]["loaded_at"] = AT
    with platform.session() as session, transaction(session):
        bulk_insert(session, ContributionRule.__table__, rows)
    with platform.session() as session:
        stored = session.scalars(
            select(ContributionRule)
            .where(ContributionRule.effective_from >= date(2031, 1, 1))
            .order_by(ContributionRule.effective_from)
        ).all()
    assert [r.scheme for r in stored] == [SchemeCode.MATERNITY, SchemeCode.WORK_INJURY]
    first = stored[0]
    assert first.effective_from == date(2031, 1, 1)
    assert first.tiers == [[38_000, 60_000], [58_000, 60_000]]
    assert first.source == "测试：批量写入"
    assert first.loaded_at == AT.astimezone(UTC)
    # Left-out columns with scalar defaults take them.
    assert (first.base_floor_minor, first.individual_rate_bp, first.is_example) == (0, 0, True)


def test_bulk_insert_refuses_a_naive_datetime(platform: Platform) -> None:
    row = {"code": "external:naive", "name": "naive", "normal_side": NormalSide.DEBIT}
    naive = {**row, "created_at": datetime(2026, 1, 1)}  # noqa: DTZ001 - the mistake under test
    refused = pytest.raises(ValueError, match="naive datetime")
    with refused, platform.session() as session, transaction(session):
        bulk_insert(session, LedgerAccount.__table__, [naive])
    with platform.session() as session:
        found = session.scalar(select(LedgerAccount).where(LedgerAccount.code == row["code"]))
    assert found is None
