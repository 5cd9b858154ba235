"""The SM3 audit chain: every kind of tampering is found and the first bad record named."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from socialcard.access.audit import (
    Actor,
    AuditEvent,
    append_audit,
    verify_chain,
    write_checkpoint,
)
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform
from socialcard.db import transaction

ACTOR = Actor(staff_id=7, username="daoxian_clerk", roles=("clerk",), department_code="hrss")


def fill(platform: Platform, count: int) -> None:
    with platform.session() as session, transaction(session):
        for number in range(count):
            append_audit(
                session,
                AuditEvent(
                    ACTOR,
                    "person.view",
                    AuditResult.SUCCESS,
                    "person",
                    str(number),
                    origin="127.0.0.1",
                    request_id=f"r{number}",
                    details={"n": number},
                ),
                at=platform.clock.now() + timedelta(seconds=number),
            )


def tamper(engine: Engine, statements: list[str]) -> None:
    """Change audit rows behind the application's back (the guard trigger switched off)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_records_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_records_no_delete"))
        for statement in statements:
            connection.execute(text(statement))
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_records ENABLE TRIGGER audit_records_append_only")
            )


def test_an_untouched_chain_verifies(platform: Platform) -> None:
    fill(platform, 50)
    with platform.session() as session:
        result = verify_chain(session)
    assert result.is_intact
    assert result.records_checked == 50


def test_the_database_refuses_updates_and_deletes_of_audit_records(platform: Platform) -> None:
    fill(platform, 3)
    for statement in (
        "UPDATE audit_records SET action = 'x' WHERE seq = 2",
        "DELETE FROM audit_records WHERE seq = 2",
    ):
        with pytest.raises(Exception, match="append-only"), platform.engine.begin() as connection:
            connection.execute(text(statement))


@pytest.mark.parametrize(
    ("statements", "first_bad"),
    [
        (["UPDATE audit_records SET object_id = '999' WHERE seq = 17"], 17),
        (["UPDATE audit_records SET result = 'denied' WHERE seq = 3"], 3),
        (["DELETE FROM audit_records WHERE seq = 12"], 13),
        (
            [
                "UPDATE audit_records SET seq = -1 WHERE seq = 8",
                "UPDATE audit_records SET seq = 8 WHERE seq = 9",
                "UPDATE audit_records SET seq = 9 WHERE seq = -1",
            ],
            9,
        ),
        (
            [
                "INSERT INTO audit_records (seq, occurred_at, action, result, details, "
                "prev_hash, record_hash) "
                "VALUES (31, '2026-11-29 03:00:00+00:00', 'person.view', 'success', '{}', 'x', 'y')"
            ],
            31,
        ),
    ],
    ids=["modify-field", "modify-result", "delete", "swap", "append-forged"],
)
def test_tampering_is_detected_at_the_first_bad_record(
    platform: Platform, statements: list[str], first_bad: int
) -> None:
    fill(platform, 30)
    tamper(platform.engine, statements)
    with platform.session() as session:
        result = verify_chain(session)
    assert not result.is_intact
    assert result.first_bad_seq == first_bad


def test_a_truncated_tail_is_caught_by_the_external_checkpoint(
    platform: Platform, tmp_path: Path
) -> None:
    fill(platform, 20)
    checkpoints = tmp_path / "checkpoints.log"
    with platform.session() as session:
        assert write_checkpoint(session, checkpoints, at=platform.clock.now()) is not None
    # The attacker removes the last records and rewinds the head row too.
    tamper(platform.engine, ["DELETE FROM audit_records WHERE seq > 15"])
    with platform.engine.begin() as connection:
        last_hash = connection.execute(
            text("SELECT record_hash FROM audit_records WHERE seq = 15")
        ).scalar()
        connection.execute(
            text("UPDATE audit_chain_head SET last_seq = 15, last_hash = :h"), {"h": last_hash}
        )
    with platform.session() as session:
        assert verify_chain(session).is_intact  # the database alone looks consistent
        result = verify_chain(session, checkpoint_file=checkpoints)
    assert not result.is_intact
    assert result.first_bad_seq == 16


def test_random_tampering_is_always_detected(platform: Platform) -> None:
    """RELIABILITY F2 at PR size (reduced): random single edits, each found at the right place."""
    seed = 20261129
    rng = random.Random(seed)
    fill(platform, 40)
    for _trial in range(6):
        seq = rng.randint(1, 40)
        tamper(
            platform.engine,
            [f"UPDATE audit_records SET details = '{{\"n\": -1}}' WHERE seq = {seq}"],
        )
        with platform.session() as session:
            result = verify_chain(session)
        assert (result.is_intact, result.first_bad_seq) == (False, seq), f"seed={seed}"
        # Put it back so the next trial starts from an intact chain.
        tamper(
            platform.engine,
            [f"UPDATE audit_records SET details = '{{\"n\": {seq - 1}}}' WHERE seq = {seq}"],
        )
        with platform.session() as session:
            assert verify_chain(session).is_intact
