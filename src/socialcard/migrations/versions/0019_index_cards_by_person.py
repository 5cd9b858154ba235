"""index the cards by holder: (person_id, id)

The cards had only partial unique indexes on person_id (one card in hand, one in the
pipeline). A query can use a partial index only when its own WHERE implies the index's
predicate, and a status list sent as bound parameters does not: SQLite searched every active
card for each holder's "card in hand" (17,000 rows in the demo city, a million at city scale),
and PostgreSQL read the whole table for a holder's list of cards and their latest card.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cards_person", "cards", ["person_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_cards_person", table_name="cards")
