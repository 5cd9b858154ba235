"""add card area records

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 21:32:33.408448
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialcard.db


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('card_area_records',
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area', sa.String(length=4), nullable=False),
    sa.Column('file_id', sa.String(length=4), nullable=False),
    sa.Column('record_no', sa.Integer(), nullable=False),
    sa.Column('expected_value', sa.String(length=512), nullable=False),
    sa.Column('written_value', sa.String(length=512), nullable=True),
    sa.Column('requested_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('written_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('terminal_code', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_card_area_records_card_id_cards')),
    sa.PrimaryKeyConstraint('card_id', 'area', 'file_id', 'record_no', name=op.f('pk_card_area_records'))
    )


def downgrade() -> None:
    op.drop_table('card_area_records')
