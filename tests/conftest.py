"""Test fixtures. Every test that asks for `platform` runs twice: on SQLite and on PostgreSQL.

PostgreSQL: a fresh database is created for the run (and dropped at the end) on the server named
by SOCIALCARD_TEST_POSTGRES_URL (default: the local server). When it is unreachable the
PostgreSQL half is skipped with the reason, unless CI is set, where that is a failure.
Each test starts from a migrated, empty database with the shipped reference data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from socialcard.bootstrap import (
    Platform,
    build_platform,
    ensure_reference_data,
    load_all_models,
    migrate,
)
from socialcard.config import Settings
from socialcard.db import make_engine, make_session_factory
from socialcard.kernel.clock import FixedClock
from socialcard.kernel.crypto import KeyRing

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
START = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@dataclass
class Backend:
    name: str
    url: str
    engine: Engine | None  # shared engine (PostgreSQL); SQLite gets a fresh file per test
    template: Path | None  # migrated SQLite file copied for each test


def _postgres_admin_url() -> str:
    return os.environ.get("SOCIALCARD_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite-template")
        template = folder / "template.sqlite3"
        engine = make_engine(f"sqlite:///{template}")
        migrate(engine)
        engine.dispose()
        yield Backend("sqlite", f"sqlite:///{template}", None, template)
        return
    admin_url = _postgres_admin_url()
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        reason = f"PostgreSQL not reachable at {admin_url}: {type(error).__name__}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: PostgreSQL tests must run)")
        pytest.skip(reason)
    name = f"socialcard_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    try:
        yield Backend("postgresql", url, engine, None)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import json

    path = tmp_path_factory.mktemp("keys") / "keys.json"
    path.write_text(json.dumps(KeyRing.generate().to_json_dict()), encoding="utf-8")
    return path


def _truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(load_all_models().sorted_tables)]
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def platform(backend: Backend, key_file: Path, tmp_path: Path) -> Iterator[Platform]:
    """A platform on an empty, migrated database with reference data, a fixed clock at START."""
    clock = FixedClock(START)
    if backend.name == "sqlite":
        assert backend.template is not None
        database = tmp_path / "test.sqlite3"
        shutil.copyfile(backend.template, database)
        settings = Settings(
            environment="test",
            data_dir=tmp_path / "data",
            database_url=f"sqlite:///{database}",
            key_file=key_file,
        )
        built = build_platform(settings, clock=clock)
    else:
        assert backend.engine is not None
        _truncate_all(backend.engine)
        settings = Settings(
            environment="test",
            data_dir=tmp_path / "data",
            database_url=backend.url,
            key_file=key_file,
        )
        built = build_platform(settings, clock=clock)
        built.engine.dispose()
        built.engine = backend.engine
        built.sessions = make_session_factory(backend.engine)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_reference_data(built)
    try:
        yield built
    finally:
        if backend.name == "sqlite":
            built.engine.dispose()
