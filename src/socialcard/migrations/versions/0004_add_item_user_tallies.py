"""add item user tallies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:41:38.494797
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('item_user_tallies',
    sa.Column('item_no', sa.Integer(), nullable=False),
    sa.Column('first_used_on', sa.Date(), nullable=False),
    sa.Column('shard', sa.Integer(), nullable=False),
    sa.Column('users', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('item_no', 'first_used_on', 'shard', name=op.f('pk_item_user_tallies'))
    )
    op.create_table('item_year_users',
    sa.Column('item_no', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_used_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('item_no', 'year', 'person_id', name=op.f('pk_item_year_users'))
    )
    # Card uses recorded before this revision get their tallies now (decision 0008).
    if op.get_bind().dialect.name == "postgresql":
        day = "(used_at AT TIME ZONE 'Asia/Shanghai')::date"
        year = "extract(year FROM day)::int"
    else:
        day = "date(used_at, '+8 hours')"
        year = "CAST(strftime('%Y', day) AS INTEGER)"
    op.execute(
        "INSERT INTO item_year_users (item_no, year, person_id, first_used_on) "
        f"SELECT item_no, {year}, person_id, min(day) FROM "
        f"(SELECT item_no, person_id, {day} AS day FROM card_uses WHERE outcome = 'success') AS d "
        f"GROUP BY item_no, {year}, person_id"
    )
    op.execute(
        "INSERT INTO item_user_tallies (item_no, first_used_on, shard, users) "
        "SELECT item_no, first_used_on, person_id % 8, count(*) FROM item_year_users "
        "GROUP BY item_no, first_used_on, person_id % 8"
    )


def downgrade() -> None:
    op.drop_table('item_year_users')
    op.drop_table('item_user_tallies')
