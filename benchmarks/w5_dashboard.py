"""W5: every dashboard metric over a city of card uses (PERFORMANCE.md: 5.3M residents, 50M
card-use events, ≤ 2 s on PostgreSQL).

    python benchmarks/w5_dashboard.py --persons 5300000 --uses 50000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The synthetic rows are written straight into the tables with COPY (the benchmark measures the
read side; W1 measures how persons get in): persons with random blind indexes and ciphertexts,
openings following the demo rollout, card uses spread over a year. It then times
`gather_metric_inputs` + `compute_figures` for the current year — exactly what the dashboard,
the API and the report call — best of three, beside a baseline `SELECT count(*)` over card_uses.
On PostgreSQL the script creates `socialcard_bench_w5` and drops it unless --keep.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from socialcard.bootstrap import build_platform, ensure_reference_data, migrate
from socialcard.catalog.metrics import compute_figures
from socialcard.catalog.queries import gather_metric_inputs
from socialcard.catalog.tallies import rebuild_user_tallies
from socialcard.config import Settings
from socialcard.db import transaction
from socialcard.demo.catalog import create_demo_rollout
from socialcard.regions.queries import list_counties

BENCH_DATABASE = "socialcard_bench_w5"
TARGET_SECONDS = 2.0
AS_OF = date(2026, 11, 29)
CHANNELS = ("counter", "kiosk", "web", "mobile", "bank", "hospital", "pharmacy")


def _conninfo(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def copy_persons(connection: psycopg.Connection[Any], *, persons: int, counties: list[str]) -> None:
    """Write `persons` registry rows with COPY: random ciphertexts, distinct blind indexes, the
    counties in turn (also used by W4). Ids follow the table's sequence."""
    now = datetime.now(UTC)
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY persons (resident_id_cipher, resident_id_index, resident_id_masked, name, "
            "sex, birth_on, origin_code, is_from_yongzhou, household_region_code, "
            "residence_county_code, status, source, content_hash, version, created_at, "
            "updated_at) FROM STDIN"
        ) as copy,
    ):
        for number in range(persons):
            county = counties[number % len(counties)]
            copy.write_row(
                (
                    os.urandom(40),
                    f"{number:064x}",
                    "431124********0000",
                    "张三",
                    "male" if number % 2 else "female",
                    date(1980, 1, 1),
                    county,
                    True,
                    county,
                    county,
                    "living",
                    "benchmark",
                    "0" * 64,
                    1,
                    now,
                    now,
                )
            )


def _fill(conninfo: str, *, persons: int, uses: int, counties: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        copy_persons(connection, persons=persons, counties=counties)
        statuses = connection.execute(
            "SELECT item_no, region_code FROM item_openings WHERE status = 'opened'"
        ).fetchall()
        opened_in: dict[str, list[int]] = {}
        for item_no, region in statuses:
            for county in counties if region == "431100" else [region]:
                opened_in.setdefault(county, []).append(item_no)
        start = datetime(AS_OF.year - 1, AS_OF.month, AS_OF.day, tzinfo=UTC)
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY card_uses (item_no, person_id, channel, county_code, used_at, outcome, "
                "details) FROM STDIN"
            ) as copy,
        ):
            for _ in range(uses):
                person = rng.randrange(persons) + 1
                county = counties[(person - 1) % len(counties)]
                items = opened_in.get(county) or [27]
                copy.write_row(
                    (
                        rng.choice(items),
                        person,
                        rng.choice(CHANNELS),
                        county,
                        start + timedelta(seconds=rng.randrange(365 * 86400)),
                        "success",
                        "{}",
                    )
                )
        connection.execute("ANALYZE")


@dataclass(frozen=True)
class W5Result:
    persons: int
    uses: int
    load_seconds: float
    rebuild_seconds: float
    memberships: int
    tally_rows: int
    metrics_seconds: float
    baseline_seconds: float
    city_rate: str
    users: int

    @property
    def verdict(self) -> str:
        return "pass" if self.metrics_seconds <= TARGET_SECONDS else "FAIL"

    def describe(self, *, smoke: bool = False) -> str:
        return (
            f"W5 dashboard metrics (postgresql): persons={self.persons:,} uses={self.uses:,} "
            f"load={self.load_seconds:.1f}s\n"
            f"  tally rebuild (once, after the bulk load): {self.rebuild_seconds:.1f}s  "
            f"holder-item-years={self.memberships:,} tally rows={self.tally_rows:,}\n"
            f"  metrics best of 3: {self.metrics_seconds:.2f}s  baseline count(*): "
            f"{self.baseline_seconds:.2f}s  ratio "
            f"{self.metrics_seconds / max(self.baseline_seconds, 1e-6):.1f}x  "
            f"target <= {TARGET_SECONDS:.0f}s  {'ran (smoke)' if smoke else self.verdict}\n"
            f"  city opening rate {self.city_rate}, users in period {self.users:,}"
        )


def run_w5(
    *,
    persons: int,
    uses: int,
    database_url: str,
    keep: bool = False,
    database_name: str = BENCH_DATABASE,
) -> W5Result:
    """Build the synthetic tables on a fresh database and time the metrics (best of three)."""
    admin = _conninfo(database_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
        connection.execute(f'CREATE DATABASE "{database_name}"')
    url = make_url(database_url).set(database=database_name)
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                database_url=url.render_as_string(hide_password=False), data_dir=Path(folder)
            )
            platform = build_platform(settings)
            migrate(platform.engine)
            ensure_reference_data(platform)
            with platform.session() as session, transaction(session):
                create_demo_rollout(session, seed=2026, today=AS_OF, at=datetime.now(UTC), uses=0)
                counties = [c.code for c in list_counties(session)]
            started = time.perf_counter()
            _fill(
                _conninfo(database_url, database_name),
                persons=persons,
                uses=uses,
                counties=counties,
                seed=2026,
            )
            load_seconds = time.perf_counter() - started
            # The bulk load bypasses record_card_use, so the tallies are built set-based once,
            # as `socialcard catalog tallies --rebuild` does (decision 0008).
            started = time.perf_counter()
            with platform.session() as session, transaction(session):
                rebuilt = rebuild_user_tallies(session)
            with platform.engine.begin() as connection:
                connection.execute(text("ANALYZE item_user_tallies"))
                connection.execute(text("ANALYZE item_year_users"))
            rebuild_seconds = time.perf_counter() - started
            timings: list[float] = []
            baselines: list[float] = []
            for _ in range(3):
                with platform.engine.connect() as connection:
                    began = time.perf_counter()
                    connection.execute(text("SELECT count(*) FROM card_uses")).scalar()
                    baselines.append(time.perf_counter() - began)
                with platform.session() as session:
                    began = time.perf_counter()
                    figures = compute_figures(
                        gather_metric_inputs(
                            session,
                            as_of=AS_OF,
                            period_from=date(AS_OF.year, 1, 1),
                            period_to=AS_OF,
                        )
                    )
                    timings.append(time.perf_counter() - began)
            platform.engine.dispose()
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
    return W5Result(
        persons=persons,
        uses=uses,
        load_seconds=load_seconds,
        rebuild_seconds=rebuild_seconds,
        memberships=rebuilt.memberships,
        tally_rows=rebuilt.tally_rows,
        metrics_seconds=min(timings),
        baseline_seconds=min(baselines),
        city_rate=figures.opening_rate_city.percent,
        users=sum(f.users for f in figures.items),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--uses", type=int, default=2_000_000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--keep", action="store_true")
    arguments = parser.parse_args(argv)
    result = run_w5(
        persons=arguments.persons,
        uses=arguments.uses,
        database_url=arguments.database_url,
        keep=arguments.keep,
    )
    print(result.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
