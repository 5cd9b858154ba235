"""add catalogue items, openings and card uses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 19:18:09.194415
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import socialcard.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('catalog_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catalog_version', sa.String(length=40), nullable=False),
    sa.Column('item_no', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=False),
    sa.Column('usage_kind', sa.Enum('credential', 'record', 'query', 'settlement', 'money', name='usage_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('responsible_units', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('planned_completion', sa.String(length=60), nullable=False),
    sa.Column('planned_from_on', sa.Date(), nullable=True),
    sa.Column('planned_to_on', sa.Date(), nullable=True),
    sa.Column('by_ministry_progress', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('loaded_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_items')),
    sa.UniqueConstraint('catalog_version', 'item_no', name='uq_catalog_items_version_item')
    )
    op.create_table('item_openings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_no', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('status', sa.Enum('opened', 'suspended', 'closed', name='opening_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_item_openings_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_openings'))
    )
    with op.batch_alter_table('item_openings', schema=None) as batch_op:
        batch_op.create_index('ix_item_openings_item_region', ['item_no', 'region_code', 'effective_on'], unique=False)

    op.create_table('card_uses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_no', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger(), nullable=True),
    sa.Column('channel', sa.Enum('counter', 'kiosk', 'web', 'mobile', 'bank', 'hospital', 'pharmacy', name='channel', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('terminal_code', sa.String(length=40), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('used_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Enum('success', 'refused', name='use_outcome', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('refusal_code', sa.String(length=60), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['regions.code'], name=op.f('fk_card_uses_county_code_regions')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_card_uses_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_uses'))
    )
    with op.batch_alter_table('card_uses', schema=None) as batch_op:
        batch_op.create_index('ix_card_uses_item_time', ['item_no', 'used_at'], unique=False)
        batch_op.create_index('ix_card_uses_person', ['person_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('card_uses', schema=None) as batch_op:
        batch_op.drop_index('ix_card_uses_person')
        batch_op.drop_index('ix_card_uses_item_time')

    op.drop_table('card_uses')
    with op.batch_alter_table('item_openings', schema=None) as batch_op:
        batch_op.drop_index('ix_item_openings_item_region')

    op.drop_table('item_openings')
    op.drop_table('catalog_items')
