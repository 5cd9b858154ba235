"""Migration 0023: a disbursement line keeps its payee's county of residence. Lines written
before it get their holder's county when it runs; lines without a holder stay without one."""

from __future__ import annotations

from sqlalchemy import select

from socialcard.bootstrap import Platform
from socialcard.disbursement import queries
from socialcard.disbursement.models import PaymentLine
from socialcard.registry.models import Person
from tests.integration.disbursement.conftest import FARMING
from tests.money_support import cardholders, upload_payee_list
from tests.support import migrate_down_and_up, resident_id_for


def _counties(platform: Platform, batch_no: str) -> dict[int, tuple[str | None, str | None]]:
    with platform.session() as session:
        batch = queries.get_batch(session, batch_no)
        rows = session.execute(
            select(PaymentLine.seq, PaymentLine.county_code, Person.residence_county_code)
            .outerjoin(Person, Person.id == PaymentLine.person_id)
            .where(PaymentLine.batch_id == batch.id)
        ).all()
    return {seq: (line, holder) for seq, line, holder in rows}


def test_lines_written_before_the_migration_get_their_holders_county(money: Platform) -> None:
    holders = cardholders(money, 3)
    rows = [(h.resident_id, h.name, 10_000, "") for h in holders]
    stranger = resident_id_for("431124", "19700101", 999)  # not in the registry: no holder
    rows.append((stranger, "路人", 100, ""))
    batch_no = upload_payee_list(money, rows, officer=FARMING, period="2026", programme="I107")[0]
    before = _counties(money, batch_no)
    for seq in (1, 2, 3):
        line, holder = before[seq]
        assert line is not None
        assert line == holder
    assert before[4] == (None, None)

    migrate_down_and_up(money, "0022")
    assert _counties(money, batch_no) == before
