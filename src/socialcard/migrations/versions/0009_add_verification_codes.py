"""add verification codes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 21:47:12.375161
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialcard.db


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('verification_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_verification_codes_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_codes'))
    )


def downgrade() -> None:
    op.drop_table('verification_codes')
