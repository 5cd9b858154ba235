"""Run the available benchmark workloads and print one table (PERFORMANCE.md).

    python benchmarks/run.py                      # full default sizes, SQLite
    python benchmarks/run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python benchmarks/run.py --smoke              # tiny sizes: proves the workloads still run

--smoke is what CI runs: it never judges a timing, it fails only when a workload breaks or its
result is wrong. Workloads so far: W1 (household-register import).
"""

from __future__ import annotations

import argparse
import sys

from w1_household_import import W1Result, print_table, run_w1

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
    return 0 if all(result.counts_match for _, result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
