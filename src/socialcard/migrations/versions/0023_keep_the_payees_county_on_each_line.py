"""keep the payee's county of residence on each disbursement line

A paid line is a card use of its programme's item, counted in the holder's county. The return of
a city-wide batch looked every paid holder up again for that county: 0.2–0.4 s of the
database's CPU per bank's return of 143,000 lines (W3, docs/benchmarks.md, eleventh session).
The list's validation already reads each payee's registry row, so the line now keeps the county
from there, and the card uses are written from the lines alone. Lines written before this
migration get their holder's current county.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("disbursement_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("county_code", sa.String(length=6), nullable=True))
    op.execute(
        "UPDATE disbursement_lines SET county_code = (SELECT p.residence_county_code FROM "
        "persons p WHERE p.id = disbursement_lines.person_id) WHERE person_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("disbursement_lines", schema=None) as batch_op:
        batch_op.drop_column("county_code")
