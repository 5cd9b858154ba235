"""add holder sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 21:18:28.710872
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialcard.db


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('holder_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_holder_sessions_card_id_cards')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_holder_sessions_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holder_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_holder_sessions_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('holder_sessions')
