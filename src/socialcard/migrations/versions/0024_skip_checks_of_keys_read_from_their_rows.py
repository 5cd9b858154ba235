"""skip the per-row key checks of a statement that read its keys from the referenced rows

Migration 0020 checks every row of a bulk statement against the persons and cards it names: in
a list's validation an index lookup per row (4.8 µs a line for the holder and the card), in a
return's transaction a hash of all persons per statement (0.64–0.68 s at 1,000,000 persons).
The statements that write a million rows at once take those keys from the very rows they name:
a list's lines read each payee's person and card in the same statement, and a return's card uses
and messages copy the holder of a line whose key was checked when the line was written. The
referenced tables refuse DELETE and a change of key (0020), so such a key cannot be missing. At
1,000,000 payees the checks cost about 14 s of the database's CPU, 5 s of it inside the list's
validation, where the database is the step's critical path (decision 0021, docs/benchmarks.md,
twelfth session).

A statement vouches for its keys with the transaction-local setting
`socialcard.keys_from_their_rows = 'on'` (`db.keys_from_their_rows`, which turns it off again
after the statement). The triggers then skip the per-row lookups; the few-valued keys (a line's
batch, a use's county) are still checked once per value, and a change of a key by UPDATE is
still checked row by row. Without the setting nothing changes.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 01:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, referenced table, referenced column, checked once per value), in the
# order 0020 checks them
KEYS: dict[str, tuple[tuple[str, str, str, bool], ...]] = {
    "disbursement_lines": (
        ("batch_id", "disbursement_batches", "id", True),
        ("person_id", "persons", "id", False),
        ("card_id", "cards", "id", False),
        ("reissued_line_id", "disbursement_lines", "id", False),
    ),
    "card_uses": (
        ("person_id", "persons", "id", False),
        ("county_code", "regions", "code", True),
    ),
    "holder_messages": (("person_id", "persons", "id", False),),
}
SET_BASED_ABOVE = 1000  # as in 0020
VOUCHED = "socialcard.keys_from_their_rows"


def _raise(table: str, column: str, referenced: str) -> str:
    name = f"fk_{table}_{column}_{referenced}"
    return (
        f"RAISE EXCEPTION 'insert or update on table \"{table}\" violates foreign key "
        f"constraint \"{name}\"' USING ERRCODE = 'foreign_key_violation', "
        f"DETAIL = format('Key ({column})=(%s) is not present in table \"{referenced}\".', "
        f"missing), TABLE = '{table}', COLUMN = '{column}', CONSTRAINT = '{name}';"
    )


def _statement_function(table: str, *, vouching: bool, per_value: bool) -> str:
    """The statement trigger's function as 0020 wrote it (`per_value`: 0022's few-valued keys
    looked up once per value) and, with `vouching`, this migration's skip."""
    checks = []
    for column, referenced, key, few in KEYS[table]:
        once_per_value = few and per_value
        source = (
            f"(SELECT DISTINCT {column} FROM new_rows WHERE {column} IS NOT NULL) n"
            if once_per_value
            else f"new_rows n WHERE n.{column} IS NOT NULL AND"
        )
        condition = "WHERE" if once_per_value else ""
        anti_join = (
            f"SELECT n.{column}::text FROM {source} {condition} NOT EXISTS "
            f"(SELECT FROM {referenced} r WHERE r.{key} = n.{column}{{offset}}) LIMIT 1"
        )
        set_based = anti_join.format(offset="").replace("'", "''")
        check = (
            f"IF big THEN EXECUTE '{set_based}' INTO missing; "
            f"ELSE {anti_join.format(offset=' OFFSET 0')} INTO missing; END IF; "
            f"IF missing IS NOT NULL THEN {_raise(table, column, referenced)} END IF;"
        )
        if vouching and not once_per_value:
            check = f"IF NOT vouched THEN {check} END IF;"
        checks.append(check)
    vouched = (
        f"vouched := coalesce(current_setting('{VOUCHED}', true), '') = 'on'; "
        if vouching
        else ""
    )
    return (
        f"CREATE OR REPLACE FUNCTION check_{table}_keys() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ DECLARE missing text; big boolean; vouched boolean; BEGIN "
        f"big := EXISTS (SELECT FROM new_rows OFFSET {SET_BASED_ABOVE}); "
        + vouched
        + " ".join(checks)
        + " RETURN NULL; END $$;"
    )


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return  # SQLite keeps the foreign keys, checked row by row as it writes
    for table in KEYS:
        op.execute(_statement_function(table, vouching=True, per_value=True))


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in KEYS:
        # 0022 gave the lines and the card uses their once-per-value checks; the messages kept
        # 0020's function.
        op.execute(
            _statement_function(table, vouching=False, per_value=table != "holder_messages")
        )
