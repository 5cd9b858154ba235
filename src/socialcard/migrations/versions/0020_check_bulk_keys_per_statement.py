"""check the bulk tables' foreign keys once per statement on PostgreSQL

A city-wide disbursement writes a million lines in one statement, and its return a million card
uses and a million messages. A PostgreSQL foreign key is checked row by row: a query per row that
also locks (and so writes) the referenced person's, card's, batch's or region's row. At
1,000,000 payees those checks were 37 s of the 129 s (W3, docs/benchmarks.md). Decision 0016:
on PostgreSQL these seven keys become one trigger per table that checks every row of a statement
at once (a set-based anti-join for a big statement, an index lookup per row for a small one) and
raises what the foreign key raised (SQLSTATE 23503, the constraint's name); a change of one of
the columns is checked row by row. The referenced rows (batches, lines, persons, cards,
regions) are never deleted and their keys never change (nothing in the platform does either):
their tables now refuse both, which is what the row locks were for. SQLite keeps the foreign
keys.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, referenced table, referenced column) in the order they are checked
KEYS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "disbursement_lines": (
        ("batch_id", "disbursement_batches", "id"),
        ("person_id", "persons", "id"),
        ("card_id", "cards", "id"),
        ("reissued_line_id", "disbursement_lines", "id"),
    ),
    "card_uses": (("person_id", "persons", "id"), ("county_code", "regions", "code")),
    "holder_messages": (("person_id", "persons", "id"),),
}
REFERENCED = {
    "disbursement_batches": "id",
    "disbursement_lines": "id",
    "persons": "id",
    "cards": "id",
    "regions": "code",
}
# Above this many rows a statement's keys are checked by one anti-join planned for its size;
# below it, by one index lookup per row (a plan that suits one row and a thousand alike).
SET_BASED_ABOVE = 1000


def _constraint(table: str, column: str, referenced: str) -> str:
    return f"fk_{table}_{column}_{referenced}"


def _raise(table: str, column: str, referenced: str, value: str) -> str:
    # The words and fields of PostgreSQL's own foreign key error, so callers see no difference.
    name = _constraint(table, column, referenced)
    return (
        f"RAISE EXCEPTION 'insert or update on table \"{table}\" violates foreign key "
        f"constraint \"{name}\"' USING ERRCODE = 'foreign_key_violation', "
        f"DETAIL = format('Key ({column})=(%s) is not present in table \"{referenced}\".', "
        f"{value}), TABLE = '{table}', COLUMN = '{column}', CONSTRAINT = '{name}';"
    )


def _statement_function(table: str) -> str:
    checks = []
    for column, referenced, key in KEYS[table]:
        anti_join = (
            f"SELECT n.{column}::text FROM new_rows n WHERE n.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT FROM {referenced} r WHERE r.{key} = n.{column}{{offset}}) LIMIT 1"
        )
        # EXECUTE plans the big statement's check for its real size; the small one's plan is
        # cached, and OFFSET 0 keeps it a lookup per row whatever size it was first planned for.
        set_based = anti_join.format(offset="").replace("'", "''")
        checks.append(
            f"IF big THEN EXECUTE '{set_based}' INTO missing; "
            f"ELSE {anti_join.format(offset=' OFFSET 0')} INTO missing; END IF; "
            f"IF missing IS NOT NULL THEN {_raise(table, column, referenced, 'missing')} "
            "END IF;"
        )
    return (
        f"CREATE FUNCTION check_{table}_keys() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE missing text; big boolean; BEGIN "
        f"big := EXISTS (SELECT FROM new_rows OFFSET {SET_BASED_ABOVE}); "
        + " ".join(checks)
        + " RETURN NULL; END $$;"
    )


def _row_function(table: str) -> str:
    checks = [
        f"IF NEW.{column} IS NOT NULL AND NEW.{column} IS DISTINCT FROM OLD.{column} AND NOT "
        f"EXISTS (SELECT FROM {referenced} r WHERE r.{key} = NEW.{column}) THEN "
        f"{_raise(table, column, referenced, f'NEW.{column}')} END IF;"
        for column, referenced, key in KEYS[table]
    ]
    return (
        f"CREATE FUNCTION check_{table}_key_changes() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN " + " ".join(checks) + " RETURN NULL; END $$;"
    )


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return  # SQLite keeps the foreign keys
    for table, keys in KEYS.items():
        for column, referenced, _key in keys:
            op.drop_constraint(_constraint(table, column, referenced), table, type_="foreignkey")
        op.execute(_statement_function(table))
        op.execute(
            f"CREATE TRIGGER {table}_keys AFTER INSERT ON {table} REFERENCING NEW TABLE AS "
            f"new_rows FOR EACH STATEMENT EXECUTE FUNCTION check_{table}_keys()"
        )
        op.execute(_row_function(table))
        columns = ", ".join(column for column, _referenced, _key in keys)
        op.execute(
            f"CREATE TRIGGER {table}_key_changes AFTER UPDATE OF {columns} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION check_{table}_key_changes()"
        )
    op.execute(
        "CREATE FUNCTION refuse_referenced_row_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'rows of % are never deleted: the bulk tables refer to them "
        "(decision 0016)', TG_TABLE_NAME USING ERRCODE = 'restrict_violation', "
        "TABLE = TG_TABLE_NAME; END $$;"
    )
    op.execute(
        "CREATE FUNCTION refuse_referenced_key_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'the key of a row of % never changes: the bulk tables refer to "
        "it (decision 0016)', TG_TABLE_NAME USING ERRCODE = 'restrict_violation', "
        "TABLE = TG_TABLE_NAME; END $$;"
    )
    for table, key in REFERENCED.items():
        op.execute(
            f"CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} FOR EACH ROW "
            "EXECUTE FUNCTION refuse_referenced_row_delete()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_key_kept BEFORE UPDATE OF {key} ON {table} FOR EACH ROW "
            f"WHEN (OLD.{key} IS DISTINCT FROM NEW.{key}) "
            "EXECUTE FUNCTION refuse_referenced_key_change()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in REFERENCED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_key_kept ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_never_deleted ON {table}")
    op.execute("DROP FUNCTION IF EXISTS refuse_referenced_key_change()")
    op.execute("DROP FUNCTION IF EXISTS refuse_referenced_row_delete()")
    for table, keys in KEYS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_key_changes ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS check_{table}_key_changes()")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_keys ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS check_{table}_keys()")
        for column, referenced, key in keys:
            op.create_foreign_key(
                _constraint(table, column, referenced), table, referenced, [column], [key]
            )
