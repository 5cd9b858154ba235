"""compress the bank files' contents with lz4 on PostgreSQL

A city-wide batch keeps seven send files of 13 MB and seven return files of 6.5 MB. PostgreSQL
compresses such values with pglz by default, about 0.1 s of the database's CPU per megabyte
stored, inside the transactions that store each file; lz4 compresses them as small (4.5 MB
against 4.8 MB for a send file) about three times faster and reads them back twice as fast
(docs/benchmarks.md, tenth session). Only values stored from now on are compressed with lz4;
the ones already kept stay as they are and read as before. A server built without lz4 keeps
pglz (the statement is skipped, not failed). SQLite stores the contents uncompressed anyway.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 20:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "DO $$ BEGIN ALTER TABLE bank_files ALTER COLUMN content SET COMPRESSION "
        f"{method}; EXCEPTION WHEN feature_not_supported THEN NULL; END $$"
    )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
