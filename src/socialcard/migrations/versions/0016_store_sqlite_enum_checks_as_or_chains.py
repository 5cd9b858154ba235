"""store the SQLite enum checks as OR chains

SQLite builds a temporary table for an IN list of three values or more in a CHECK on every row
it writes; the same check as an OR chain costs nothing measurable. Every enum column's check is
rewritten in place (socialcard.migrations.sqlite_checks; decision 0013). PostgreSQL: nothing.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from socialcard.migrations.sqlite_checks import rewrite_in_lists

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    rewrite_in_lists(op.get_bind())


def downgrade() -> None:
    rewrite_in_lists(op.get_bind(), inverse=True)
