"""Run the available benchmark workloads and print one table (PERFORMANCE.md).

    python benchmarks/run.py                      # full default sizes, SQLite
    python benchmarks/run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python benchmarks/run.py --smoke              # tiny sizes: proves the workloads still run

--smoke is what CI runs: it never judges a timing, it fails only when a workload breaks or its
result is wrong. Workloads so far: W1 (household-register import), W6 (`serve --demo` from an
empty directory to the first page, SQLite), W5 (dashboard metrics, PostgreSQL only), W3 (a
disbursement end to end, PostgreSQL only) and W4 (the self-service query over HTTP, PostgreSQL
only; its full city is set up once with w4_self_service.py --keep).
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg
from w1_household_import import W1Result, print_table, run_w1
from w3_disbursement import run_w3
from w4_self_service import run_w4
from w5_dashboard import run_w5
from w6_demo_start import run_w6

SMOKE_RESIDENTS = 2_000
DEFAULT_RESIDENTS = 200_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmark workloads.")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no timing verdicts")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL admin URL (bench databases are created beside it); default SQLite",
    )
    parser.add_argument("--residents", type=int, default=None, help="W1 size")
    parser.add_argument("--keep", action="store_true", help="keep the databases and work files")
    arguments = parser.parse_args(argv)
    residents = arguments.residents or (SMOKE_RESIDENTS if arguments.smoke else DEFAULT_RESIDENTS)
    results: list[tuple[str, W1Result]] = [
        (
            "W1 household import",
            run_w1(residents=residents, database_url=arguments.database_url, keep=arguments.keep),
        )
    ]
    print_table(results, smoke=arguments.smoke)
    ok = all(result.counts_match for _, result in results)
    # W6 is the README's first command: `serve --demo` in an empty directory, on SQLite.
    w6 = run_w6(residents=2_000 if arguments.smoke else 20_000)
    print(w6.describe(smoke=arguments.smoke))
    ok = ok and w6.served
    postgres = arguments.database_url or os.environ.get(
        "SOCIALCARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    try:
        psycopg.connect(postgres.replace("+psycopg", ""), connect_timeout=3).close()
    except psycopg.OperationalError:
        print("W5 dashboard metrics: skipped, PostgreSQL not reachable")
        return 1 if os.environ.get("CI") else (0 if ok else 1)
    w5 = run_w5(
        persons=2_000 if arguments.smoke else 200_000,
        uses=10_000 if arguments.smoke else 2_000_000,
        database_url=postgres,
        keep=arguments.keep,
        # Its own database: a full W5 run may be loading socialcard_bench_w5 meanwhile.
        database_name="socialcard_bench_w5_smoke" if arguments.smoke else "socialcard_bench_w5",
    )
    print(w5.describe(smoke=arguments.smoke))
    w3 = run_w3(
        payees=2_000 if arguments.smoke else 100_000,
        database_url=postgres,
        keep=arguments.keep,
        database_name="socialcard_bench_w3_smoke" if arguments.smoke else "socialcard_bench_w3",
    )
    print(w3.describe(smoke=arguments.smoke))
    w4 = run_w4(
        residents=2_000 if arguments.smoke else 200_000,
        insured=300 if arguments.smoke else 20_000,
        database_url=postgres,
        keep=arguments.keep,
        smoke=arguments.smoke,
        # Not socialcard_bench_w4: that name holds the kept full city of w4_self_service.py.
        database_name="socialcard_bench_w4_smoke" if arguments.smoke else "socialcard_bench_w4_run",
    )
    print(w4.describe(smoke=arguments.smoke))
    return 0 if ok and w5.users > 0 and w3.correct and w4.correct else 1


if __name__ == "__main__":
    sys.exit(main())
