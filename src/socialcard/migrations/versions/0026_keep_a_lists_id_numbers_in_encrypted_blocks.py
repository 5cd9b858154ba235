"""keep a payee list's ID numbers with its batch, encrypted a slice at a time

A send file needs each line's ID number in the clear. It decrypted the holder's registry copy,
one SM4-GCM value per line: 12.7 µs each on the build machine, about 13 s of a million-line
batch's run, where the run is CPU-bound. The list's validation reads every ID number in the
clear anyway, so it now keeps them with the batch, the IDs of one slice of the list (50,000
rows) encrypted as one value; the send files decrypt twenty values instead of a million
(decision 0022). Batches validated before this migration have no blocks: their send files
write them from the registry once, the first time they are built.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disbursement_id_blocks",
        sa.Column(
            "batch_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("first_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("ids_cipher", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disbursement_batches.id"],
            name=op.f("fk_disbursement_id_blocks_batch_id_disbursement_batches"),
        ),
        sa.PrimaryKeyConstraint("batch_id", "first_seq", name=op.f("pk_disbursement_id_blocks")),
    )


def downgrade() -> None:
    op.drop_table("disbursement_id_blocks")
