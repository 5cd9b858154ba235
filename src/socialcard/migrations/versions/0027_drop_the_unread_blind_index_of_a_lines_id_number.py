"""drop the blind index of the ID number from disbursement lines

Every line kept the 64-character blind index of its list row's ID number, and nothing read it:
the validation joins the list's staging rows to the registry, the duplicate checks use the
holder, and the list's ID numbers are now kept with the batch (migration 0026). It was a
quarter of a line's 247 bytes (183 without it), and a return rewrites every line it resolves
(decision 0022). Going down adds the column back empty.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 05:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not a batch operation: on SQLite (3.35 and later drop a column in place) it would copy the
    # table, and with it lose what migrations 0013 and 0020 put on it.
    op.drop_column("disbursement_lines", "resident_id_index")


def downgrade() -> None:
    op.add_column(
        "disbursement_lines", sa.Column("resident_id_index", sa.String(length=64), nullable=True)
    )
