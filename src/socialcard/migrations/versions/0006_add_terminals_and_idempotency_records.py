"""add terminals and idempotency records

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:00:35.325778
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialcard.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotency_records',
    sa.Column('caller', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('caller', 'key', name=op.f('pk_idempotency_records'))
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_records_created_at'), ['created_at'], unique=False)

    op.create_table('terminals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('counter', 'kiosk', 'hospital', 'pharmacy', 'bank', 'village_agent', name='terminal_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('bank_code', sa.String(length=10), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('registered', 'admitted', 'suspended', 'revoked', name='terminal_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('registered_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('admitted_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('admitted_by', sa.Integer(), nullable=True),
    sa.Column('changed_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['regions.code'], name=op.f('fk_terminals_county_code_regions')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_terminals_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminals')),
    sa.UniqueConstraint('terminal_code', name=op.f('uq_terminals_terminal_code'))
    )
    op.create_table('terminal_nonces',
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('seen_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_nonces_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('terminal_id', 'nonce', name=op.f('pk_terminal_nonces'))
    )
    with op.batch_alter_table('terminal_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminal_nonces_seen_at'), ['seen_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('terminal_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminal_nonces_seen_at'))

    op.drop_table('terminal_nonces')
    op.drop_table('terminals')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_records_created_at'))

    op.drop_table('idempotency_records')
