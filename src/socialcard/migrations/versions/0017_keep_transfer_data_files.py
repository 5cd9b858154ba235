"""keep each relation transfer's data file, encrypted

A transfer's data file (the history and accounts for the receiving office) was offered once and
not kept: a holder or officer who lost it could not get it again. insurance_transfers.data_cipher
keeps it, SM4-encrypted like every identifier (it holds the ID number): the file sent, or the file
that arrived. Transfers made before keep NULL (the pages say the file was not kept).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("insurance_transfers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_cipher", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("insurance_transfers", schema=None) as batch_op:
        batch_op.drop_column("data_cipher")
