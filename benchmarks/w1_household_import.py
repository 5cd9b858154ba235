"""W1: import the household register (PERFORMANCE.md), beside a raw baseline of the same file.

    python benchmarks/w1_household_import.py --residents 200000
    python benchmarks/w1_household_import.py --residents 5300000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The CSV comes from the demo generator and is cached under benchmarks/data/ for the same size,
seed and messiness. In one run the script measures
  (a) the baseline: on PostgreSQL a COPY of the file into an UNLOGGED staging table of 13 text
      columns; on SQLite an executemany of the raw rows into a staging table;
  (b) the real import (create_import + run_household_import) on a freshly migrated database,
and prints one table. On PostgreSQL the URL names the server and an admin database: the script
creates `socialcard_bench_w1` there and drops it at the end unless --keep. The default database
is a SQLite file in a temporary directory. The import's counts are checked against what the
generator injected; a mismatch exits with status 1. Timings never fail the run.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform as host
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from socialcard.access.audit import Actor
from socialcard.bootstrap import build_platform, ensure_reference_data, migrate
from socialcard.config import Settings
from socialcard.db import transaction
from socialcard.demo.household import HouseholdFileStats, ensure_household_csv
from socialcard.jobs.household_import import ImportOutcome, run_household_import
from socialcard.kernel.clock import SystemClock, local_today
from socialcard.registry.household.columns import CANONICAL_HEADER
from socialcard.registry.household.importer import create_import

BENCH_DATABASE = "socialcard_bench_w1"
STAGING_TABLE = "bench_w1_staging"
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_SEED = 2026
# PERFORMANCE.md: 5.3M rows in 60 s on PostgreSQL (90k rows/s); 1M rows in 20 s on SQLite.
TARGET_ROWS_PER_SECOND = {"postgresql": 90_000, "sqlite": 50_000}
TARGET_TEXT = {"postgresql": "≥ 90k rows/s (5.3M ≤ 60 s)", "sqlite": "≥ 50k rows/s (1M ≤ 20 s)"}
MEMORY_LIMIT_BYTES = 2 * 1024**3
SQLITE_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class W1Result:
    """One measured run of W1."""

    backend: str
    database_version: str
    rows: int
    generate_seconds: float | None  # None when the cached file was reused
    baseline_seconds: float
    import_seconds: float
    peak_rss_bytes: int
    outcome: ImportOutcome
    counts_match: bool

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.import_seconds

    @property
    def ratio(self) -> float:
        """How many times the raw baseline the real import takes."""
        return self.import_seconds / self.baseline_seconds

    @property
    def meets_target(self) -> bool:
        return (
            self.rows_per_second >= TARGET_ROWS_PER_SECOND[self.backend]
            and self.peak_rss_bytes <= MEMORY_LIMIT_BYTES
        )


def household_file(
    residents: int, seed: int, *, messy: bool
) -> tuple[Path, HouseholdFileStats, float | None]:
    """The cached benchmark file for these parameters, generated when missing."""
    path = DATA_DIR / f"household-{residents}-seed{seed}{'-messy' if messy else ''}.csv"
    generated = not path.exists()
    started = time.perf_counter()
    stats = ensure_household_csv(
        path, residents=residents, seed=seed, today=local_today(SystemClock()), messy=messy
    )
    seconds = time.perf_counter() - started if generated else None
    return path, stats, seconds


def postgres_conninfo(url: str, database: str | None = None) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy URL."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextmanager
def bench_database(admin_url: str | None, workdir: Path, *, keep: bool) -> Iterator[str]:
    """Yield the URL of an empty database for this run and clean it up afterwards."""
    if admin_url is None:
        yield f"sqlite:///{workdir / 'bench-w1.sqlite3'}"
        return
    admin = postgres_conninfo(admin_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DATABASE} ENCODING 'UTF8' TEMPLATE template0")
    try:
        yield make_url(admin_url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def staging_columns() -> str:
    return ", ".join(f"c{n} text" for n in range(len(CANONICAL_HEADER)))


def postgres_copy_seconds(url: str, path: Path) -> float:
    """COPY the file into an UNLOGGED staging table of text columns; drop it afterwards."""
    with psycopg.connect(postgres_conninfo(url), autocommit=True) as connection:
        connection.execute(f"CREATE UNLOGGED TABLE {STAGING_TABLE} ({staging_columns()})")
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {STAGING_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        connection.execute(f"DROP TABLE {STAGING_TABLE}")
    return seconds


def sqlite_insert_seconds(engine: Engine, path: Path) -> float:
    """executemany the raw rows into a staging table in one transaction, on a connection with
    the platform's pragmas (WAL, synchronous=FULL); drop the table afterwards."""
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert isinstance(connection, sqlite3.Connection)
        connection.execute(f"CREATE TABLE {STAGING_TABLE} ({staging_columns()})")
        placeholders = ", ".join("?" * len(CANONICAL_HEADER))
        statement = f"INSERT INTO {STAGING_TABLE} VALUES ({placeholders})"
        started = time.perf_counter()
        connection.execute("BEGIN")
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            while batch := [row for _, row in zip(range(SQLITE_BATCH_ROWS), reader, strict=False)]:
                connection.executemany(statement, batch)
        connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.execute(f"DROP TABLE {STAGING_TABLE}")
    finally:
        raw.close()
    return seconds


def run_w1(
    *,
    residents: int,
    database_url: str | None,
    keep: bool = False,
    seed: int = DEFAULT_SEED,
    messy: bool = True,
    chunk_size: int | None = None,
) -> W1Result:
    """Generate (or reuse) the file, measure the baseline and the real import, check counts."""
    path, stats, generate_seconds = household_file(residents, seed, messy=messy)
    workdir = Path(tempfile.mkdtemp(prefix="socialcard-bench-w1-"))
    try:
        with bench_database(database_url, workdir, keep=keep) as url:
            settings = Settings(database_url=url, data_dir=workdir)
            if chunk_size is not None:
                settings = settings.model_copy(update={"import_chunk_size": chunk_size})
            platform = build_platform(settings)
            try:
                backend = platform.engine.dialect.name
                with platform.engine.connect() as connection:
                    version_query = (
                        "SHOW server_version"
                        if backend == "postgresql"
                        else "SELECT sqlite_version()"
                    )
                    database_version = str(connection.exec_driver_sql(version_query).scalar())
                if backend == "postgresql":
                    baseline_seconds = postgres_copy_seconds(url, path)
                else:
                    baseline_seconds = sqlite_insert_seconds(platform.engine, path)
                migrate(platform.engine)
                ensure_reference_data(platform)
                started = time.perf_counter()
                with platform.session() as session, transaction(session):
                    job = create_import(
                        session,
                        file_name=path.name,
                        stored_path=path,
                        encoding="utf-8",
                        created_by=None,
                        at=platform.clock.now(),
                    )
                    import_id = job.id
                outcome = run_household_import(
                    platform.sessions,
                    platform.keys,
                    platform.clock,
                    import_id=import_id,
                    actor=Actor(staff_id=None, username="benchmark"),
                    chunk_size=settings.import_chunk_size,
                )
                import_seconds = time.perf_counter() - started
            finally:
                platform.engine.dispose()
    finally:
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    counts_match = (outcome.accepted, outcome.unchanged, outcome.rejected) == (
        stats.expected_accepted,
        stats.expected_unchanged,
        stats.expected_rejected,
    )
    return W1Result(
        backend=backend,
        database_version=database_version,
        rows=stats.rows,
        generate_seconds=generate_seconds,
        baseline_seconds=baseline_seconds,
        import_seconds=import_seconds,
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        outcome=outcome,
        counts_match=counts_match,
    )


def describe_machine() -> str:
    memory = "?"
    with Path("/proc/meminfo").open() as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return (
        f"{os.cpu_count()} CPU, {memory} RAM, {host.system()} {host.release()}, "
        f"Python {host.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def print_table(results: list[tuple[str, W1Result]], *, smoke: bool = False) -> None:
    """One line per run: the figure, the baseline beside it, the target and the verdict."""
    header = (
        "workload",
        "rows",
        "seconds",
        "rows/s",
        "baseline s",
        "ratio",
        "target",
        "peak RSS",
        "result",
    )
    lines = [header]
    for name, result in results:
        verdict = "pass" if result.meets_target else "FAIL"
        if smoke:
            verdict = "ran (smoke)"
        if not result.counts_match:
            verdict = "WRONG COUNTS"
        lines.append(
            (
                f"{name} ({result.backend})",
                f"{result.rows:,}",
                f"{result.import_seconds:.1f}",
                f"{result.rows_per_second:,.0f}",
                f"{result.baseline_seconds:.1f}",
                f"{result.ratio:.1f}x",
                TARGET_TEXT[result.backend],
                f"{result.peak_rss_bytes / 1024**2:,.0f} MiB",
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print(f"machine: {describe_machine()}")
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    for name, result in results:
        generated = (
            f"generated in {result.generate_seconds:.1f} s"
            if result.generate_seconds is not None
            else "cached copy reused"
        )
        print(
            f"{name}: {result.backend} {result.database_version}; {result.outcome.summary}; "
            f"household file {generated}"
        )


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL admin URL (the bench database is created beside it); default SQLite",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and work files")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--clean", action="store_true", help="no injected bad rows")
    parser.add_argument("--chunk-size", type=int, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    result = run_w1(
        residents=arguments.residents,
        database_url=arguments.database_url,
        keep=arguments.keep,
        seed=arguments.seed,
        messy=not arguments.clean,
        chunk_size=arguments.chunk_size,
    )
    print_table([("W1 household import", result)])
    return 0 if result.counts_match else 1


if __name__ == "__main__":
    sys.exit(main())
