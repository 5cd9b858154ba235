"""Alembic environment: the URL comes from the caller (socialcard migrate) or from Settings."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, ForeignKeyConstraint

from socialcard.bootstrap import load_all_models
from socialcard.db import is_checked_per_statement, make_engine

config = context.config
target_metadata = load_all_models()
# Indexes that only PostgreSQL has, made by migrations and not by the models (a hash index on
# SQLite would be a second B-tree).
POSTGRESQL_ONLY_INDEXES = frozenset({"hx_persons_resident_id_index"})


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from socialcard.config import Settings

    return Settings().database_url


def _configure(connection: Connection) -> None:
    on_postgresql = connection.dialect.name == "postgresql"

    def include_object(
        item: Any, name: str | None, type_: str, reflected: bool, _compare_to: Any
    ) -> bool:
        # On PostgreSQL a foreign key checked per statement is a trigger, not a constraint
        # (decision 0016, migration 0020): the model's key has no constraint to compare with.
        if on_postgresql and type_ == "index" and reflected:
            # The hash indexes only PostgreSQL has (decision 0021, migration 0025).
            return name not in POSTGRESQL_ONLY_INDEXES
        return not (
            on_postgresql
            and type_ == "foreign_key_constraint"
            and not reflected
            and isinstance(item, ForeignKeyConstraint)
            and any(is_checked_per_statement(key) for key in item.elements)
        )

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; connect to the database")
run_migrations_online()
