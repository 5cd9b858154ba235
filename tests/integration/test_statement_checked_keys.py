"""The bulk tables' foreign keys (decision 0016, migration 0020): a batch's lines, the card uses
and the holders' messages. PostgreSQL checks them once per statement with a trigger, SQLite keeps
them as foreign keys; on both, a row naming a missing batch, person, card or region is refused,
alone or inside a statement of thousands (nothing of the statement is written), and a referenced
row can be neither deleted nor given another key."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, func, select, text
from sqlalchemy.exc import IntegrityError

from socialcard.access.models import HolderMessage
from socialcard.bootstrap import Platform, load_all_models
from socialcard.catalog.models import CardUse
from socialcard.db import is_checked_per_statement, keys_from_their_rows, transaction
from socialcard.disbursement.models import PaymentLine
from tests.integration.disbursement.conftest import FARMING
from tests.money_support import Holder, cardholders, fund_grain_subsidy, upload_payee_list
from tests.support import migrate_down, migrate_down_and_up

MISSING = 987_654_321
# Above the trigger's threshold (1,000 rows): the set-based path on PostgreSQL.
BIG = 1_500
NUMBERS = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BIG}) "


def _refused(platform: Platform, statement: str, **values: object) -> IntegrityError:
    with (
        pytest.raises(IntegrityError) as refused,
        platform.session() as session,
        transaction(session),
    ):
        session.execute(text(statement), values)
    return refused.value


def _names_the_key(error: IntegrityError, platform: Platform, constraint: str) -> None:
    if platform.engine.dialect.name == "postgresql":
        # The trigger raises what the foreign key raised: SQLSTATE 23503, the same name.
        assert getattr(error.orig, "sqlstate", None) == "23503"
        assert constraint in str(error.orig)
    else:
        assert "FOREIGN KEY constraint failed" in str(error.orig)


def _count(platform: Platform, model: type) -> int:
    with platform.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _use(person: str, county: str = "'431124'") -> str:
    return (
        "INSERT INTO card_uses (item_no, person_id, card_id, channel, county_code, used_at, "
        f"outcome, details) SELECT 107, {person}, NULL, 'bank', {county}, :at, 'success', '{{}}'"
    )


def test_card_uses_refuse_a_missing_holder_or_county_alone_and_in_bulk(platform: Platform) -> None:
    holder = cardholders(platform, 1)[0]
    at = platform.clock.now()
    alone = _refused(platform, _use(str(MISSING)), at=at)
    _names_the_key(alone, platform, "fk_card_uses_person_id_persons")
    county = _refused(platform, _use(str(holder.person_id), "'999999'"), at=at)
    _names_the_key(county, platform, "fk_card_uses_county_code_regions")
    # Thousands of good rows and one bad one: the whole statement is refused.
    bad_one = f"CASE WHEN i = {BIG - 7} THEN {MISSING} ELSE {holder.person_id} END"
    bulk = _refused(platform, NUMBERS + _use(bad_one) + " FROM n", at=at)
    _names_the_key(bulk, platform, "fk_card_uses_person_id_persons")
    # The county is checked once per value (migration 0022): one unknown among thousands.
    bad_county = f"CASE WHEN i = {BIG - 3} THEN '999999' ELSE '431124' END"
    counties = _refused(
        platform, NUMBERS + _use(str(holder.person_id), bad_county) + " FROM n", at=at
    )
    _names_the_key(counties, platform, "fk_card_uses_county_code_regions")
    if platform.engine.dialect.name == "postgresql":
        assert "(county_code)=(999999)" in str(counties.orig)
    assert _count(platform, CardUse) == 0
    with platform.session() as session, transaction(session):
        session.execute(text(NUMBERS + _use(str(holder.person_id)) + " FROM n"), {"at": at})
    assert _count(platform, CardUse) == BIG


def test_messages_refuse_a_missing_holder(platform: Platform) -> None:
    holder = cardholders(platform, 1)[0]
    insert = (
        "INSERT INTO holder_messages (person_id, kind, text, reference, created_at) "
        "VALUES (:person, 'payment', '到账', 'payment:1', :at)"
    )
    at = platform.clock.now()
    error = _refused(platform, insert, person=MISSING, at=at)
    _names_the_key(error, platform, "fk_holder_messages_person_id_persons")
    with platform.session() as session, transaction(session):
        session.execute(text(insert), {"person": holder.person_id, "at": at})
    assert _count(platform, HolderMessage) == 1


def _batch_of(platform: Platform, holder: Holder) -> int:
    row = (holder.resident_id, holder.name, 10_000, "")
    return upload_payee_list(platform, [row], officer=FARMING)[1]


def _lines(batch: str, person: str, card: str, seq: str) -> str:
    return (
        "INSERT INTO disbursement_lines (batch_id, seq, person_id, resident_id_masked, name, "
        "amount_minor, memo, status, card_id, bank_code, end_to_end_id) "
        f"SELECT {batch}, {seq}, {person}, '431124********0012', '张三', 100, '补贴', 'queued', "
        f"{card}, 'ICBC', 'T' || CAST({seq} AS VARCHAR(10))"
    )


def test_lines_refuse_a_missing_batch_holder_or_card_and_a_change_to_one(
    platform: Platform,
) -> None:
    fund_grain_subsidy(platform)
    holder = cardholders(platform, 1)[0]
    batch = _batch_of(platform, holder)
    with platform.session() as session:
        card = session.scalar(select(PaymentLine.card_id).where(PaymentLine.batch_id == batch))
    assert card is not None
    before = _count(platform, PaymentLine)
    person = str(holder.person_id)
    one_bad_card = f"CASE WHEN i = 3 THEN {MISSING} ELSE {card} END"
    for statement, constraint in (
        (_lines(str(MISSING), person, str(card), "100"), "batch_id_disbursement_batches"),
        (_lines(str(batch), str(MISSING), str(card), "100"), "person_id_persons"),
        (_lines(str(batch), person, str(MISSING), "100"), "card_id_cards"),
        (
            NUMBERS + _lines(str(batch), person, one_bad_card, "i + 100") + " FROM n",
            "card_id_cards",
        ),
        (
            NUMBERS
            + _lines(
                f"CASE WHEN i = 5 THEN {MISSING} ELSE {batch} END", person, str(card), "i + 100"
            )
            + " FROM n",
            "batch_id_disbursement_batches",
        ),
    ):
        error = _refused(platform, statement)
        _names_the_key(error, platform, f"fk_disbursement_lines_{constraint}")
    assert _count(platform, PaymentLine) == before
    with platform.session() as session, transaction(session):
        good = NUMBERS + _lines(str(batch), person, str(card), "i + 100") + " FROM n"
        session.execute(text(good))
    assert _count(platform, PaymentLine) == before + BIG
    # A change of a key column is checked row by row.
    change = "UPDATE disbursement_lines SET card_id = :card WHERE batch_id = :batch AND seq = 101"
    error = _refused(platform, change, card=MISSING, batch=batch)
    _names_the_key(error, platform, "fk_disbursement_lines_card_id_cards")
    with platform.session() as session, transaction(session):
        session.execute(text(change), {"card": card, "batch": batch})


def test_a_statement_that_vouches_for_its_keys_skips_their_lookups_and_no_other(
    platform: Platform,
) -> None:
    """Decision 0021: inside keys_from_their_rows, PostgreSQL's triggers skip the per-row
    lookups (a statement there writes keys it read from their rows); the few-valued keys are
    still checked, and the statements after the block, or after a failed one in it, are checked
    again. SQLite checks its foreign keys whatever the block says."""
    holder = cardholders(platform, 1)[0]
    at = platform.clock.now()
    message = (
        "INSERT INTO holder_messages (person_id, kind, text, reference, created_at) "
        "VALUES (:person, 'payment', '到账', 'payment:1', :at)"
    )
    postgres = platform.engine.dialect.name == "postgresql"
    with platform.session() as session:
        with keys_from_their_rows(session):
            if postgres:
                # The set-based path and the per-row one: neither looks the holder up.
                with session.begin_nested() as skipped:
                    session.execute(text(NUMBERS + _use(str(MISSING)) + " FROM n"), {"at": at})
                    session.execute(text(message), {"person": MISSING, "at": at})
                    written = session.scalar(select(func.count()).select_from(CardUse))
                    assert written == BIG
                    skipped.rollback()  # the rows were only there to show the skip
            else:
                with pytest.raises(IntegrityError) as refused, session.begin_nested():
                    session.execute(text(message), {"person": MISSING, "at": at})
                _names_the_key(refused.value, platform, "")
            # The few-valued county is still checked, once per value.
            with pytest.raises(IntegrityError) as county, session.begin_nested():
                session.execute(text(_use(str(holder.person_id), "'999999'")), {"at": at})
            _names_the_key(county.value, platform, "fk_card_uses_county_code_regions")
        if not postgres:
            return
        # The rollback of the failed statement's savepoint ended the setting: checked again.
        with pytest.raises(IntegrityError) as after, session.begin_nested():
            session.execute(text(message), {"person": MISSING, "at": at})
        _names_the_key(after.value, platform, "fk_holder_messages_person_id_persons")
        with keys_from_their_rows(session):
            session.execute(text(message), {"person": holder.person_id, "at": at})
        # A block that ended well ends the setting too.
        with pytest.raises(IntegrityError) as later, session.begin_nested():
            session.execute(text(message), {"person": MISSING, "at": at})
        _names_the_key(later.value, platform, "fk_holder_messages_person_id_persons")
        session.rollback()
    assert _count(platform, HolderMessage) == 0
    assert _count(platform, CardUse) == 0


def _vouched_message_refused(platform: Platform) -> bool:
    """Whether a message naming no holder is refused inside keys_from_their_rows."""
    with platform.session() as session, keys_from_their_rows(session):
        try:
            with session.begin_nested():
                session.execute(
                    text(
                        "INSERT INTO holder_messages (person_id, kind, text, reference, "
                        "created_at) VALUES (:person, 'payment', '到账', 'payment:1', :at)"
                    ),
                    {"person": MISSING, "at": platform.clock.now()},
                )
        except IntegrityError:
            return True
        finally:
            session.rollback()
    return False


def _hash_indexes(platform: Platform) -> set[str]:
    with platform.session() as session:
        return set(
            session.scalars(
                text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING hash%'")
            )
        )


def test_the_skip_and_the_hash_index_go_and_come_back_with_their_migrations(
    platform: Platform,
) -> None:
    """Migrations 0024 and 0025 taken down and up again: before them a vouched statement is
    checked as every other, and persons have no hash index; after them both are back."""
    if platform.engine.dialect.name != "postgresql":
        migrate_down_and_up(platform, "0023")  # both are PostgreSQL's only: nothing to undo
        assert _vouched_message_refused(platform)
        return
    assert not _vouched_message_refused(platform)
    assert _hash_indexes(platform) == {"hx_persons_resident_id_index"}
    migrate_down(platform, "0023")
    assert _vouched_message_refused(platform)
    assert _hash_indexes(platform) == set()
    migrate_down_and_up(platform, "0023")
    assert not _vouched_message_refused(platform)
    assert _hash_indexes(platform) == {"hx_persons_resident_id_index"}


def test_a_referenced_row_is_never_deleted_nor_rekeyed(platform: Platform) -> None:
    fund_grain_subsidy(platform)
    holder, bystander = cardholders(platform, 2)
    batch = _batch_of(platform, holder)
    for statement in (
        "DELETE FROM persons WHERE id = :id",
        "UPDATE persons SET id = id + 1000000 WHERE id = :id",
        "DELETE FROM cards WHERE person_id = :id",
    ):
        _refused(platform, statement, id=holder.person_id)
    _refused(platform, "DELETE FROM disbursement_batches WHERE id = :id", id=batch)
    _refused(platform, "DELETE FROM regions WHERE code = '431124'")
    if platform.engine.dialect.name == "postgresql":
        # Without the row locks of a foreign key, nothing may be deleted at all: a person with no
        # line, use or message yet is refused too, so a bulk statement can never race a delete.
        error = _refused(platform, "DELETE FROM persons WHERE id = :id", id=bystander.person_id)
        assert getattr(error.orig, "sqlstate", None) == "23001"


def _checked_keys() -> list[ForeignKey]:
    return [
        key
        for table in load_all_models().sorted_tables
        for column in table.columns
        for key in column.foreign_keys
        if is_checked_per_statement(key)
    ]


def test_every_key_checked_per_statement_has_its_trigger(platform: Platform) -> None:
    keys = _checked_keys()
    assert {(k.parent.table.name, k.parent.name) for k in keys} == {
        ("disbursement_lines", "batch_id"),
        ("disbursement_lines", "person_id"),
        ("disbursement_lines", "card_id"),
        ("disbursement_lines", "reissued_line_id"),
        ("card_uses", "person_id"),
        ("card_uses", "county_code"),
        ("holder_messages", "person_id"),
    }
    if platform.engine.dialect.name != "postgresql":
        return  # SQLite keeps them as foreign keys (alembic check compares them)
    with platform.session() as session:
        for key in keys:
            table = key.parent.table.name
            name = key.constraint.name if key.constraint is not None else None
            assert name is not None
            constraints = session.scalar(
                text("SELECT count(*) FROM pg_constraint WHERE conname = :name"), {"name": name}
            )
            assert constraints == 0, name
            for function in (f"check_{table}_keys", f"check_{table}_key_changes"):
                source = session.scalar(
                    text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": function}
                )
                assert source is not None, function
                assert name in source, (function, name)
