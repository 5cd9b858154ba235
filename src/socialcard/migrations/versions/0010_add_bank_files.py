"""add bank files

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 23:15:09.081669
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialcard.db


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bank_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('batch_no', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('send', 'return', 'statement', name='bank_file_kind', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('direction', sa.Enum('credit', 'debit', name='bank_direction', native_enum=False, create_constraint=True, length=10), nullable=True),
    sa.Column('encoding', sa.String(length=10), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('prepared', 'sent', 'received', name='bank_file_status', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_files')),
    sa.UniqueConstraint('bank_code', 'batch_no', 'kind', name=op.f('uq_bank_files_bank_code')),
    sa.UniqueConstraint('name', name=op.f('uq_bank_files_name'))
    )
    with op.batch_alter_table('bank_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_files_bank_code'), ['bank_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_files_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bank_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_files_status'))
        batch_op.drop_index(batch_op.f('ix_bank_files_bank_code'))

    op.drop_table('bank_files')
