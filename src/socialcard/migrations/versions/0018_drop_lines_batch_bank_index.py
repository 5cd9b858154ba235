"""drop the lines' index on (batch_id, bank_code): the unique (batch_id, seq) serves its reads

Every read of a batch's lines by bank starts from the batch, and the unique index on
(batch_id, seq) finds a batch's lines as well; a million-line batch is read whole anyway. The
index only cost its upkeep: the validation insert of a million lines took 34.0 s without it
against 38.7 s with it (W3, docs/benchmarks.md; decision 0014).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 06:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_disbursement_lines_batch_bank", table_name="disbursement_lines")


def downgrade() -> None:
    op.create_index(
        "ix_disbursement_lines_batch_bank", "disbursement_lines", ["batch_id", "bank_code"]
    )
