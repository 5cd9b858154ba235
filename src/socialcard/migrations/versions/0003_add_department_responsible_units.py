"""add responsible units to departments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:56:32.910639
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('departments', schema=None) as batch_op:
        # Existing departments start with no units; ensure_reference_data fills them at start-up.
        batch_op.add_column(
            sa.Column(
                'responsible_units',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'),
                nullable=False,
                server_default='[]',
            )
        )



def downgrade() -> None:
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('responsible_units')

