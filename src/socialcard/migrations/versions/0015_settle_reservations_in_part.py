"""settle a reservation in part: one post and one void per reservation, never more than it

A disbursement reserves one amount per bank file and, when the return arrives, posts what the
bank paid and voids the rest (decision 0011). The unique index on the resolutions becomes
(pending_id, phase); a trigger refuses a resolution that would take a reservation beyond its
amount, so "never resolved twice" still holds in the database itself. The lines' fill factor
becomes 50 on PostgreSQL: their one update (the bank's answer) then stays on its page.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "ledger_reservation_resolved: the resolutions would exceed the reservation"


def upgrade() -> None:
    # Batches approved before this change reserved one transfer per line, which the new return
    # step does not settle: they must be completed (or their reservations resolved) first.
    open_lines = op.get_bind().scalar(
        sa.text(
            "SELECT COUNT(*) FROM ledger_transfers p WHERE p.phase = 'pending' "
            "AND p.kind = 'payout_reserved' AND p.reference LIKE 'payment:%' AND NOT EXISTS "
            "(SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id)"
        )
    )
    if open_lines:
        raise RuntimeError(
            f"{open_lines} line reservations of approved batches are still open: run those "
            "batches to completion before upgrading (decision 0011)"
        )
    op.drop_index("ux_ledger_transfers_pending", table_name="ledger_transfers")
    op.create_index(
        "ux_ledger_transfers_pending_phase",
        "ledger_transfers",
        ["pending_id", "phase"],
        unique=True,
        postgresql_where=sa.text("pending_id IS NOT NULL"),
        sqlite_where=sa.text("pending_id IS NOT NULL"),
    )
    if op.get_context().dialect.name == "postgresql":
        # A line is now updated once, when its bank answers (approval writes no line): with
        # half of each page free, every line's new version fits beside it (a HOT update, no
        # index entry) instead of 60 % of them moving and adding an entry to all five indexes.
        op.execute("ALTER TABLE disbursement_lines SET (fillfactor = 50)")
        # The reservation's row is locked first, so two transactions resolving it at once queue
        # and the second sees what the first wrote (READ COMMITTED: a new snapshot per query).
        op.execute(
            "CREATE FUNCTION refuse_ledger_over_resolution() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ DECLARE reserved bigint; resolved bigint; BEGIN "
            "SELECT amount_minor INTO reserved FROM ledger_transfers "
            "WHERE id = NEW.pending_id FOR UPDATE; "
            "SELECT COALESCE(SUM(amount_minor), 0) INTO resolved FROM ledger_transfers "
            "WHERE pending_id = NEW.pending_id; "
            "IF resolved + NEW.amount_minor > reserved THEN "
            f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'; END IF; "
            "RETURN NEW; END $$;"
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_resolution_limit BEFORE INSERT ON ledger_transfers "
            "FOR EACH ROW WHEN (NEW.pending_id IS NOT NULL) "
            "EXECUTE FUNCTION refuse_ledger_over_resolution()"
        )
    else:
        op.execute(
            "CREATE TRIGGER ledger_transfers_resolution_limit BEFORE INSERT ON ledger_transfers "
            "WHEN NEW.pending_id IS NOT NULL BEGIN "
            f"SELECT RAISE(ABORT, '{MESSAGE}') WHERE NEW.amount_minor + "
            "(SELECT COALESCE(SUM(amount_minor), 0) FROM ledger_transfers "
            "WHERE pending_id = NEW.pending_id) > "
            "(SELECT amount_minor FROM ledger_transfers WHERE id = NEW.pending_id); END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE disbursement_lines SET (fillfactor = 70)")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_resolution_limit ON ledger_transfers")
        op.execute("DROP FUNCTION IF EXISTS refuse_ledger_over_resolution()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_resolution_limit")
    op.drop_index("ux_ledger_transfers_pending_phase", table_name="ledger_transfers")
    op.create_index(
        "ux_ledger_transfers_pending",
        "ledger_transfers",
        ["pending_id"],
        unique=True,
        postgresql_where=sa.text("pending_id IS NOT NULL"),
        sqlite_where=sa.text("pending_id IS NOT NULL"),
    )
