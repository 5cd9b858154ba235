"""W4: the self-service query over HTTP on PostgreSQL (PERFORMANCE.md: ten years of contribution
months + the medical account's balance + its last 20 transactions, ≥ 2,000 requests/s at 50
concurrent connections, p99 ≤ 20 ms), printed beside pgbench select-only of the same run.

    python benchmarks/w4_self_service.py --residents 5300000 --insured 1000000 --setup-only
    python benchmarks/w4_self_service.py --reuse                 # measure on the kept database
    python benchmarks/w4_self_service.py --reuse --route staff   # the officer's route, to compare

The route is the holder's own: `POST /api/v1/terminal/insurance/query` (item 29), what a bank's
terminal or a self-service kiosk sends with the card and the PIN the holder typed — signed by the
terminal (nonce recorded), card and PIN checked, the use of item 29 recorded, then the holder's
enrolments, ten years of months, the medical account's balance and latest 20 movements and the
pension account's balance. docs/benchmarks.md says why this route and not the staff one.

Setup (not timed, kept with --keep and reused with --reuse, because it is big): registry rows
for every resident; for each insured person (every k-th resident) an employer, an active card
with its PIN digest, five employee enrolments, 120 paid contribution months (the legacy history,
migrated: one COPY in person order), a pension and a medical personal account in the ledger with
their balance rows, one migrated opening transfer each and 24 monthly medical-account credits
from the pooled fund (funded month by month from the employers' transfers), so the balance rows
equal the transfers (`ledger verify` is run on small sizes). Bulk tables are loaded with their
indexes and foreign keys dropped and rebuilt after, then VACUUM ANALYZE. The setup's data
directory (keys, layout) is benchmarks/data/w4-<database>/.

Timed: the platform served by uvicorn in its own process on 127.0.0.1 (--workers, each with as
many pooled database connections as its share of the connections unless --pool), the load from
wrk in another process (a Lua script replaying requests signed beforehand for random insured
persons, each nonce once: 50 connections, a warm-up, then --duration seconds); without wrk, or
with --load python, a bounded asyncio generator. Then `pgbench -S` with the same number of
clients on a pgbench database of scale 10, and the same server's /healthz under the same wrk
load (the HTTP floor of the moment: the machine is shared). Sampled answers are checked field by
field before the load, and the card uses recorded are counted against the requests answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from w5_dashboard import copy_persons

from socialcard.access.models import TerminalKind
from socialcard.access.terminals import (
    admit_terminal,
    register_terminal,
    sign_request,
    terminal_key,
)
from socialcard.bootstrap import Platform, build_platform, ensure_reference_data, migrate
from socialcard.catalog.models import USER_TALLY_SHARDS, OpeningStatus
from socialcard.catalog.services import change_opening
from socialcard.config import Settings
from socialcard.db import transaction
from socialcard.insurance.accounts import ensure_fund_accounts, pooled_fund
from socialcard.insurance.catalogue import ITEM_QUERY
from socialcard.insurance.declarations import Insured, current_period, month_row, rules_of
from socialcard.insurance.history import LEGACY
from socialcard.insurance.models import EnrolmentKind, MonthSource
from socialcard.insurance.rules import next_period, periods_between
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SCHEMES, SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing
from socialcard.ledger import accounts as codes
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import NormalSide
from socialcard.regions.queries import list_counties

HERE: Final = Path(__file__).resolve().parent
BENCH_DATABASE: Final = "socialcard_bench_w4"
PGBENCH_DATABASE: Final = "socialcard_bench_pgbench"
ROUTE: Final = "/api/v1/terminal/insurance/query"
STAFF_ROUTE: Final = "/api/v1/insurance/persons/{person_id}"
TARGET_RPS: Final = 2_000.0
TARGET_P99_MS: Final = 20.0
PIN: Final = "246810"
YEARS: Final = 10
MEDICAL_CREDITS: Final = 24  # monthly credits in the ledger; older months are one opening
LATEST: Final = 20
WAGE_CLASSES: Final = 48
CITY: Final = "431100"
MEDICAL = SchemeCode.MEDICAL_EMPLOYEE
PENSION = SchemeCode.PENSION_EMPLOYEE
MONTH_COLUMNS: Final = (
    "id, person_id, employer_id, period, declaration_id, kind, source, region_code, base_minor, "
    "pension_employer_minor, pension_individual_minor, medical_employer_minor, "
    "medical_individual_minor, unemployment_employer_minor, unemployment_individual_minor, "
    "work_injury_employer_minor, maternity_employer_minor, pension_account_minor, "
    "medical_account_minor, schemes_mask, status, paid_on"
)
MONTH_VALUES: Final = (
    "base_minor",
    "pension_employer_minor",
    "pension_individual_minor",
    "medical_employer_minor",
    "medical_individual_minor",
    "unemployment_employer_minor",
    "unemployment_individual_minor",
    "work_injury_employer_minor",
    "maternity_employer_minor",
    "pension_account_minor",
    "medical_account_minor",
    "schemes_mask",
)
BULK_TABLES: Final = (
    "persons",
    "cards",
    "enrolments",
    "contribution_months",
    "ledger_accounts",
    "ledger_balances",
    "ledger_transfers",
)


# -- the layout of the synthetic city: everything the checks need to know what is right --------


@dataclass
class Layout:
    """Where the synthetic rows are (saved beside the kept database as layout.json)."""

    residents: int
    insured: int
    first_person: int
    stride: int
    employers: list[int]
    first_account: int
    first_card: int
    periods: list[int]
    terminals: list[str]
    setup_seconds: float = 0.0
    setup_steps: list[tuple[str, float]] = field(default_factory=list)
    database_bytes: int = 0
    wages: list[int] = field(default_factory=list)  # first year's wage of each class

    def person(self, i: int) -> int:
        return self.first_person + i * self.stride

    def card_number(self, i: int) -> str:
        return f"W{i:08d}"

    def wage_class(self, i: int) -> int:
        return (i * 7 + i // WAGE_CLASSES) % WAGE_CLASSES

    def employer(self, i: int) -> int:
        return self.employers[i % len(self.employers)]

    def pension_account(self, i: int) -> int:
        return self.first_account + 2 * i

    def medical_account(self, i: int) -> int:
        return self.first_account + 2 * i + 1

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Layout:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["setup_steps"] = [tuple(step) for step in data.get("setup_steps", [])]
        return cls(**data)


Months = list[list[dict[str, Any]]]  # per wage class, the 120 month rows (oldest first)


def _wage(layout: Layout, wage_class: int, period: int) -> int:
    """A class's monthly wage in fen: +6 % a year from the first year, rounded to the yuan."""
    grown = layout.wages[wage_class] * 1.06 ** (period // 100 - layout.periods[0] // 100)
    return int(grown) // 100 * 100


def _month_rows(platform: Platform, layout: Layout) -> Months:
    """Every class's months as the declaration code computes them with the rules in force."""
    with platform.session() as session:
        rules = {p: rules_of(session, p) for p in layout.periods}
    table: Months = []
    for wage_class in range(WAGE_CLASSES):
        rows = []
        for period in layout.periods:
            insured = Insured(
                person_id=0,
                employer_id=None,
                kind=EnrolmentKind.EMPLOYEE,
                wage_minor=_wage(layout, wage_class, period),
                schemes=frozenset(EMPLOYEE_SCHEMES),
            )
            rows.append(month_row(insured, period, rules[period], source=MonthSource.MIGRATED))
        table.append(rows)
    return table


def _paid_on(period: int) -> date:
    return date(period // 100, period % 100, 20)


def _credited_at(period: int) -> datetime:
    return datetime.combine(_paid_on(period), datetime.min.time(), SHANGHAI).replace(hour=10)


@dataclass(frozen=True)
class Expected:
    """What the query must answer for an insured person of one wage class."""

    months: list[dict[str, Any]]
    pension_minor: int
    medical_minor: int
    medical_opening_minor: int
    latest: list[int]  # the last 20 credits, newest first


def _expected(months: Months) -> list[Expected]:
    out = []
    for rows in months:
        medical = [int(r["medical_account_minor"]) for r in rows]
        out.append(
            Expected(
                months=rows,
                pension_minor=sum(int(r["pension_account_minor"]) for r in rows),
                medical_minor=sum(medical),
                medical_opening_minor=sum(medical[:-MEDICAL_CREDITS]),
                latest=medical[::-1][:LATEST],
            )
        )
    return out


# -- setup ----------------------------------------------------------------------------------------


class Steps(list[tuple[str, float]]):
    """The setup's steps and their seconds, printed to stderr as they end when verbose."""

    def __init__(self, *, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def done(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.append((name, now - started))
        if self.verbose:
            print(f"  setup {name}: {now - started:.1f} s", file=sys.stderr, flush=True)
        return now


def _conninfo(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def _indexes_rebuilt_after(connection: psycopg.Connection[Any], steps: Steps) -> Iterator[None]:
    """Drop the bulk tables' keys, indexes and foreign keys (and foreign keys pointing at them)
    for the load, then recreate exactly the same definitions: unique and primary keys first,
    then plain indexes, then the foreign keys (each validated by one join)."""
    tables = list(BULK_TABLES)
    foreign = connection.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%s) "
        "OR confrelid::regclass::text = ANY(%s))",
        (tables, tables),
    ).fetchall()
    keys = connection.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%s)",
        (tables,),
    ).fetchall()
    indexes = connection.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN "
        "('p', 'u', 'x'))",
        (tables,),
    ).fetchall()
    for table, name, _ in foreign:
        connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.execute(f"DROP INDEX {name}")
    for table, name, _ in keys:
        connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    yield
    connection.execute("SET maintenance_work_mem = '1GB'")
    started = time.perf_counter()
    for table, name, definition in keys:
        connection.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        connection.execute(definition)
    started = steps.done("keys and indexes built", started)
    for table, name, definition in foreign:
        connection.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    steps.done("foreign keys added and validated", started)


def _scalar(connection: psycopg.Connection[Any], query: str) -> int:
    row = connection.execute(query.encode()).fetchone()
    return int(row[0]) if row else 0


def _copy_text(connection: psycopg.Connection[Any], statement: str, lines: Iterator[str]) -> None:
    """COPY … FROM STDIN of ready text lines, written in blocks of about 4 MB."""
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        block: list[str] = []
        size = 0
        for line in lines:
            block.append(line)
            size += len(line)
            if size > 4_000_000:
                copy.write("".join(block))
                block, size = [], 0
        if block:
            copy.write("".join(block))


def _month_lines(layout: Layout, months: Months) -> Iterator[str]:
    """The contribution months, person after person (a migration loads the history so)."""
    suffixes = []
    for rows in months:
        suffixes.append(
            [
                f"\t{r['period']}\t\\N\temployee\tmigrated\t{CITY}\t"
                + "\t".join(str(int(r[c])) for c in MONTH_VALUES)
                + f"\tpaid\t{_paid_on(int(r['period'])).isoformat()}\n"
                for r in rows
            ]
        )
    count = len(layout.periods)
    for i in range(layout.insured):
        head = f"\t{layout.person(i)}\t{layout.employer(i)}"
        first = i * count + 1
        yield "".join(
            [f"{first + k}{head}{s}" for k, s in enumerate(suffixes[layout.wage_class(i)])]
        )


def _transfer_lines(
    layout: Layout, expected: list[Expected], funds: dict[str, int], first_id: int
) -> Iterator[str]:
    """Migrated openings, then the monthly medical credits month by month (a settlement posts
    one month of a whole employer set at a time): a person's transfers are far apart."""
    number = first_id
    opened = _credited_at(layout.periods[-MEDICAL_CREDITS]) - timedelta(days=30)
    stamp = opened.astimezone(UTC).isoformat()
    legacy = funds[LEGACY]
    for scheme, account_of in (
        (PENSION, layout.pension_account),
        (MEDICAL, layout.medical_account),
    ):
        journal = f"migrated:{scheme.value}"
        rows = []
        for i in range(layout.insured):
            wanted = expected[layout.wage_class(i)]
            amount = wanted.pension_minor if scheme is PENSION else wanted.medical_opening_minor
            person = layout.person(i)
            rows.append(
                f"{number}\t{journal}:{person}\t{journal}\t{legacy}\t{account_of(i)}\t{amount}\t"
                f"balance_migrated\tsingle\t\\N\t\\N\tlegacy:{person}\t{stamp}\n"
            )
            number += 1
            if len(rows) >= 20_000:
                yield "".join(rows)
                rows = []
        yield "".join(rows)
    pool = funds[pooled_fund(MEDICAL)]
    employers = funds[codes.external("employer_contributions")]
    for k in range(len(layout.periods) - MEDICAL_CREDITS, len(layout.periods)):
        period = layout.periods[k]
        stamp = _credited_at(period).astimezone(UTC).isoformat()
        total = sum(
            int(expected[layout.wage_class(i)].months[k]["medical_account_minor"])
            for i in range(layout.insured)
        )
        journal = f"w4:{period}"
        yield (
            f"{number}\t{journal}:pool\t{journal}\t{employers}\t{pool}\t{total}\t"
            f"contribution_received\tsingle\t\\N\t\\N\tdeclarations:{period}\t{stamp}\n"
        )
        number += 1
        rows = []
        for i in range(layout.insured):
            amount = int(expected[layout.wage_class(i)].months[k]["medical_account_minor"])
            person = layout.person(i)
            rows.append(
                f"{number}\t{journal}:{person}\t{journal}\t{pool}\t{layout.medical_account(i)}\t"
                f"{amount}\taccount_credited\tsingle\t\\N\t\\N\tmonth:{period}\t{stamp}\n"
            )
            number += 1
            if len(rows) >= 20_000:
                yield "".join(rows)
                rows = []
        yield "".join(rows)


def _setup(
    platform: Platform,
    conninfo: str,
    *,
    residents: int,
    insured: int,
    terminals: int,
    verbose: bool,
) -> Layout:
    steps = Steps(verbose=verbose)
    began = time.perf_counter()
    at = platform.clock.now()
    last = current_period(at)
    periods = periods_between(next_period(last - YEARS * 100), last)
    with platform.session() as session, transaction(session):
        change_opening(
            session,
            item_no=ITEM_QUERY,
            region_code=CITY,
            status=OpeningStatus.OPENED,
            effective_on=date(2016, 1, 1),
            reason="W4",
            recorded_by=None,
            at=at,
        )
        ensure_fund_accounts(session, at=at)
        ledger.open_account(
            session, LEGACY, name="原社保核心系统（迁移）", normal_side=NormalSide.DEBIT, at=at
        )
        counties = [c.code for c in list_counties(session)]
        codes_made = []
        for n in range(terminals):
            kind = TerminalKind.BANK if n % 2 == 0 else TerminalKind.KIOSK
            code = f"W4-{kind.value.upper()}-{n:03d}"
            register_terminal(
                session,
                terminal_code=code,
                kind=kind,
                name=f"W4 {kind.value} {n}",
                county_code=counties[n % len(counties)],
                location="W4",
                institution_id=None,
                at=at,
                bank_code="ICBC" if kind is TerminalKind.BANK else None,
            )
            admit_terminal(session, platform.keys, terminal_code=code, staff_id=None, at=at)
            codes_made.append(code)
    stride = max(residents // insured, 1)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        count_employers = max(insured // 250, 4)
        started = time.perf_counter()
        with _indexes_rebuilt_after(connection, steps):
            copy_persons(connection, persons=residents, counties=counties)
            first_person = _scalar(connection, "SELECT min(id) FROM persons")
            started = steps.done(f"{residents:,} persons (COPY)", started)
            with (
                connection.cursor() as cursor,
                cursor.copy(
                    "COPY employers (credit_code, name, county_code, industry, created_at) "
                    "FROM STDIN"
                ) as copy,
            ):
                for n in range(count_employers):
                    copy.write_row(
                        (
                            f"91431100{n:010d}",
                            f"永州第{n}号有限公司",
                            counties[n % len(counties)],
                            "制造业",
                            at,
                        )
                    )
            employers = [
                int(r[0])
                for r in connection.execute("SELECT id FROM employers ORDER BY id").fetchall()
            ]
            first_account = _scalar(
                connection, "SELECT coalesce(max(id), 0) + 1 FROM ledger_accounts"
            )
            first_card = _scalar(connection, "SELECT coalesce(max(id), 0) + 1 FROM cards")
            layout = Layout(
                residents=residents,
                insured=insured,
                first_person=first_person,
                stride=stride,
                employers=employers,
                first_account=first_account,
                first_card=first_card,
                periods=periods,
                terminals=codes_made,
                wages=[300_000 + c * 25_000 for c in range(WAGE_CLASSES)],
            )
            months = _month_rows(platform, layout)
            expected = _expected(months)
            _copy_cards(connection, platform.keys, layout, at)
            started = steps.done(f"employers, {insured:,} cards with PIN digests", started)
            _copy_accounts_and_enrolments(connection, layout, expected, at)
            started = steps.done(
                f"{2 * insured:,} accounts, balance rows, {5 * insured:,} enrolments", started
            )
            connection.execute("BEGIN")
            connection.execute("TRUNCATE contribution_months")
            _copy_text(
                connection,
                f"COPY contribution_months ({MONTH_COLUMNS}) FROM STDIN (FREEZE)",
                _month_lines(layout, months),
            )
            connection.execute("COMMIT")
            started = steps.done(
                f"{insured * len(periods):,} contribution months (COPY FREEZE)", started
            )
            funds: dict[str, int] = dict(
                connection.execute(
                    "SELECT code, id FROM ledger_accounts WHERE code NOT LIKE 'person:%'"
                ).fetchall()
            )
            first_transfer = _scalar(
                connection, "SELECT coalesce(max(id), 0) + 1 FROM ledger_transfers"
            )
            _copy_text(
                connection,
                "COPY ledger_transfers (id, transfer_key, journal_key, debit_account_id, "
                "credit_account_id, amount_minor, kind, phase, pending_id, reverses_id, "
                "reference, created_at) FROM STDIN",
                _transfer_lines(layout, expected, funds, first_transfer),
            )
            transfers = insured * (2 + MEDICAL_CREDITS) + MEDICAL_CREDITS
            started = steps.done(f"{transfers:,} ledger transfers (COPY)", started)
            for table, column in (
                ("contribution_months", "id"),
                ("ledger_transfers", "id"),
                ("ledger_accounts", "id"),
                ("cards", "id"),
                ("enrolments", "id"),
            ):
                connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"(SELECT max({column}) FROM {table}))"
                )
        started = time.perf_counter()
        for table in BULK_TABLES:
            connection.execute(f"VACUUM (ANALYZE) {table}")
        connection.execute("ANALYZE")
        steps.done("VACUUM ANALYZE", started)
        layout.database_bytes = _scalar(connection, "SELECT pg_database_size(current_database())")
    layout.setup_steps = list(steps)
    layout.setup_seconds = time.perf_counter() - began
    return layout


def _copy_cards(
    connection: psycopg.Connection[Any], keys: KeyRing, layout: Layout, at: datetime
) -> None:
    from socialcard.cards.services import pin_digest

    stamp = at.isoformat()
    day = at.date().isoformat()

    def lines() -> Iterator[str]:
        for i in range(layout.insured):
            number = layout.card_number(i)
            digest = pin_digest(keys, number, PIN)
            yield (
                f"{layout.first_card + i}\t{layout.person(i)}\t{number}\t3\t3.0\t{CITY}\tICBC\t"
                f"active\tfirst\tbatch\t{stamp}\tt\t{stamp}\t{day}\t{CITY}\t{stamp}\t{digest}\t"
                f"f\t0\t1\n"
            )

    _copy_text(
        connection,
        "COPY cards (id, person_id, card_number, generation, spec_version, issuing_region_code, "
        "bank_code, status, reason, application_channel, applied_at, photo_collected, "
        "produced_at, issued_on, issued_region_code, activated_at, pin_hash, pin_is_initial, "
        "pin_failures, version) FROM STDIN",
        lines(),
    )


def _copy_accounts_and_enrolments(
    connection: psycopg.Connection[Any], layout: Layout, expected: list[Expected], at: datetime
) -> None:
    stamp = at.isoformat()
    names = {s: f"{SCHEMES[s].name}个人账户" for s in (PENSION, MEDICAL)}
    purposes = {s: SCHEMES[s].account_purpose for s in (PENSION, MEDICAL)}

    def accounts() -> Iterator[str]:
        for i in range(layout.insured):
            person = layout.person(i)
            for scheme, number in (
                (PENSION, layout.pension_account(i)),
                (MEDICAL, layout.medical_account(i)),
            ):
                code = codes.personal_account(person, str(purposes[scheme]))
                yield f"{number}\t{code}\t{names[scheme]}\tcredit\tt\t{stamp}\n"

    _copy_text(
        connection,
        "COPY ledger_accounts (id, code, name, normal_side, has_floor, created_at) FROM STDIN",
        accounts(),
    )

    def balances() -> Iterator[str]:
        for i in range(layout.insured):
            wanted = expected[layout.wage_class(i)]
            yield f"{layout.pension_account(i)}\t0\t{wanted.pension_minor}\t0\t0\t{stamp}\n"
            yield f"{layout.medical_account(i)}\t0\t{wanted.medical_minor}\t0\t0\t{stamp}\n"

    _copy_text(
        connection,
        "COPY ledger_balances (account_id, debits_posted, credits_posted, debits_pending, "
        "credits_pending, updated_at) FROM STDIN",
        balances(),
    )
    started_on = date(layout.periods[0] // 100, layout.periods[0] % 100, 1).isoformat()

    def enrolments() -> Iterator[str]:
        for i in range(layout.insured):
            person, employer = layout.person(i), layout.employer(i)
            wage = _wage(layout, layout.wage_class(i), layout.periods[-1])
            for scheme in EMPLOYEE_SCHEMES:
                account = (
                    layout.pension_account(i)
                    if scheme is PENSION
                    else layout.medical_account(i)
                    if scheme is MEDICAL
                    else "\\N"
                )
                yield (
                    f"{person}\t{scheme.value}\t{SCHEMES[scheme].family.value}\temployee\t"
                    f"{employer}\tactive\t{started_on}\t{wage}\t{account}\tmigrated\t"
                    f"{stamp}\t{stamp}\n"
                )

    _copy_text(
        connection,
        "COPY enrolments (person_id, scheme, family, kind, employer_id, status, started_on, "
        "wage_minor, account_id, channel, created_at, updated_at) FROM STDIN",
        enrolments(),
    )


# -- the server and signed requests ----------------------------------------------------------------


def _uvicorn_flavour(extra: list[str]) -> str:
    """The event loop and HTTP parser uvicorn will use ("auto" takes uvloop and httptools when
    they are installed, as `socialcard serve` does)."""
    chosen = dict(arg.removeprefix("--").split("=", 1) for arg in extra if "=" in arg)

    def pick(option: str, fast: str, plain: str) -> str:
        wanted = chosen.get(option, "auto")
        if wanted != "auto":
            return wanted
        try:
            __import__(fast)
        except ImportError:
            return plain
        return fast

    return f"loop {pick('loop', 'uvloop', 'asyncio')}, http {pick('http', 'httptools', 'h11')}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(
    url: str,
    data_dir: Path,
    *,
    workers: int,
    port: int,
    log: Path,
    extra: list[str],
    settings: dict[str, str] | None = None,
) -> Iterator[str]:
    """uvicorn serving the platform on 127.0.0.1 in its own process group; stopped after."""
    env = dict(os.environ)
    env.update(
        SOCIALCARD_DATABASE_URL=url,
        SOCIALCARD_DATA_DIR=str(data_dir),
        SOCIALCARD_ENVIRONMENT="development",
    )
    env.update(settings or {})
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "w4_app:create", "--app-dir", str(HERE),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", *extra,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # at most a minute
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: {log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.25)
        else:
            raise RuntimeError("the server did not answer /healthz within a minute")
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@dataclass(frozen=True)
class Request:
    """One HTTP request, as raw bytes (Python generator) or one line of wrk's request file."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def raw(self) -> bytes:
        head = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        head.extend(f"{name}: {value}" for name, value in self.headers.items())
        if self.body:
            head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body

    def line(self) -> str:
        body = self.body.decode() or "-"
        headers = [f"{name}:{value}" for name, value in self.headers.items()]
        return "\t".join([self.method, self.path, body, *headers])


class Asker:
    """Makes the query requests for insured persons: signed terminal requests with card and PIN
    (each with a fresh nonce), or the staff route with a bearer token."""

    def __init__(
        self,
        keys: KeyRing,
        layout: Layout,
        versions: dict[str, int],
        *,
        staff_token: str | None = None,
    ) -> None:
        self.layout = layout
        self.keys = {code: terminal_key(keys, code, versions[code]) for code in layout.terminals}
        self.staff_token = staff_token
        self.tag = secrets.token_hex(4)
        self.count = 0

    @property
    def route(self) -> str:
        return STAFF_ROUTE if self.staff_token else ROUTE

    def ask(self, i: int) -> Request:
        if self.staff_token:
            path = STAFF_ROUTE.replace("{person_id}", str(self.layout.person(i)))
            return Request("GET", path, {"Authorization": f"Bearer {self.staff_token}"})
        self.count += 1
        terminal = self.layout.terminals[self.count % len(self.layout.terminals)]
        body = json.dumps({"card_number": self.layout.card_number(i), "pin": PIN}).encode()
        nonce = f"w4-{self.tag}-{self.count:012d}"
        stamp = str(int(time.time()))
        signature = sign_request(
            self.keys[terminal], method="POST", path=ROUTE, timestamp=stamp, nonce=nonce, body=body
        )
        headers = {
            "Content-Type": "application/json",
            "X-Terminal-Id": terminal,
            "X-Nonce": nonce,
            "X-Timestamp": stamp,
            "X-Signature": signature,
        }
        return Request("POST", ROUTE, headers, body)

    def pool(self, count: int, rng: secrets.SystemRandom) -> list[Request]:
        return [self.ask(rng.randrange(self.layout.insured)) for _ in range(count)]


def _staff_token(platform: Platform) -> str:
    """A bearer token of an insurance officer (created on first use)."""
    from socialcard.access import services as access
    from socialcard.access.models import Staff
    from socialcard.access.policy import load_policy

    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        staff = session.scalars(select(Staff).where(Staff.username == "w4_officer")).first()
        if staff is None:
            staff = access.create_staff(
                session,
                username="w4_officer",
                display_name="W4 社保经办",
                password="W4-bench-2026x",
                department_code="hrss",
                scope_region_code=CITY,
                created_at=at,
            )
            access.grant_role(
                session,
                load_policy(),
                staff_id=staff.id,
                role="insurance_officer",
                granted_by=None,
                at=at,
            )
        return access.issue_api_token(session, staff_id=staff.id, name="W4", at=at)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for header in lines[1:]:
        name, _, value = header.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length)


async def _exchange(
    port: int, requests: list[bytes], *, timeout: float
) -> list[tuple[int, bytes, float]]:
    """Send requests one after the other on one keep-alive connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    try:
        for raw in requests:
            started = time.perf_counter()
            writer.write(raw)
            await writer.drain()
            status, body = await asyncio.wait_for(_read_response(reader), timeout)
            out.append((status, body, time.perf_counter() - started))
    finally:
        writer.close()
    return out


# -- load -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    tool: str
    connections: int
    seconds: float
    requests: int
    errors: int  # non-2xx answers, timeouts, broken connections
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    load_before: str = ""
    load_after: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


WRK_SCRIPT: Final = r"""
-- Each thread replays its share of the request file (method, path, body or -, headers), each
-- request once in turn; past the end it starts again, and a replayed nonce is refused (an error).
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local path, threads = args[1], tonumber(args[2])
  requests = {}
  local index = 0
  for line in io.lines(path) do
    if index % threads == id then
      local fields = {}
      for field in line:gmatch("[^\t]+") do fields[#fields + 1] = field end
      local body = fields[3]
      if body == "-" then body = nil end
      local headers = {}
      for i = 4, #fields do
        local name, value = fields[i]:match("^([^:]+):(.*)$")
        headers[name] = value
      end
      requests[#requests + 1] = wrk.format(fields[1], fields[2], headers, body)
    end
    index = index + 1
  end
  position = 0
end
function request()
  position = position + 1
  if position > #requests then position = 1 end
  return requests[position]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "W4JSON {\"requests\":%d,\"duration_us\":%d,\"status\":%d,\"connect\":%d," ..
    "\"read\":%d,\"write\":%d,\"timeout\":%d,\"p50\":%d,\"p90\":%d,\"p99\":%d," ..
    "\"max\":%d}\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _wrk(
    base: str, pool: list[Request], work: Path, *, connections: int, seconds: int, threads: int
) -> Load:
    script = work / "w4.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    requests = work / f"requests-{secrets.token_hex(3)}.tsv"
    requests.write_text("".join(s.line() + "\n" for s in pool), encoding="utf-8")
    before = _loadavg()
    answer = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
         "--timeout", "10s", "-s", str(script), base, "--", str(requests), str(threads)],
        capture_output=True, text=True, timeout=seconds + 120, check=True,
    )  # fmt: skip
    after = _loadavg()
    requests.unlink()
    found = re.search(r"W4JSON (\{.*\})", answer.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no figures: {answer.stdout} {answer.stderr}")
    figures = json.loads(found.group(1))
    errors = sum(figures[k] for k in ("status", "connect", "read", "write", "timeout"))
    return Load(
        tool=f"wrk -t{threads} -c{connections} -d{seconds}s",
        connections=connections,
        seconds=figures["duration_us"] / 1e6,
        requests=int(figures["requests"]),
        errors=int(errors),
        p50_ms=figures["p50"] / 1000,
        p90_ms=figures["p90"] / 1000,
        p99_ms=figures["p99"] / 1000,
        max_ms=figures["max"] / 1000,
        load_before=before,
        load_after=after,
    )


def _python_load(port: int, pool: list[Request], *, connections: int) -> Load:
    """A bounded generator: every signed request once, spread over the connections."""
    shares = [[r.raw() for r in pool[c::connections]] for c in range(connections)]

    async def run() -> list[list[tuple[int, bytes, float]]]:
        return await asyncio.gather(*(_exchange(port, share, timeout=30) for share in shares))

    before = _loadavg()
    started = time.perf_counter()
    answers = [a for share in asyncio.run(run()) for a in share]
    seconds = time.perf_counter() - started
    times = sorted(a[2] * 1000 for a in answers)
    quantiles = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    return Load(
        tool=f"python asyncio -c{connections} ({len(pool)} requests)",
        connections=connections,
        seconds=seconds,
        requests=len(answers),
        errors=sum(1 for a in answers if not 200 <= a[0] < 300) + len(pool) - len(answers),
        p50_ms=quantiles[49],
        p90_ms=quantiles[89],
        p99_ms=quantiles[98],
        max_ms=times[-1] if times else 0.0,
        load_before=before,
        load_after=_loadavg(),
    )


# -- answers checked ------------------------------------------------------------------------------


def _check_answers(
    port: int, asker: Asker, expected: list[Expected], sample: list[int]
) -> list[str]:
    """Ask for the sampled persons and compare every month, both balances and the latest
    movements with what the setup wrote."""
    layout = asker.layout
    raw = [asker.ask(i).raw() for i in sample]
    answers = asyncio.run(_exchange(port, raw, timeout=60))
    problems = []
    for i, (status, body, _) in zip(sample, answers, strict=True):
        who = f"insured #{i} (person {layout.person(i)})"
        if status != 200:
            problems.append(f"{who}: HTTP {status} {body[:200]!r}")
            continue
        got = json.loads(body)
        wanted = expected[layout.wage_class(i)]
        months = got["months"]
        if [m["period"] for m in months] != layout.periods:
            problems.append(f"{who}: {len(months)} months, not the {len(layout.periods)} written")
        else:
            for month, row in zip(months, wanted.months, strict=True):
                figures = (
                    month["base_minor"],
                    *month["pension"],
                    *month["medical"],
                    *month["unemployment"],
                    month["work_injury"],
                    month["maternity"],
                    month["pension_account_minor"],
                    month["medical_account_minor"],
                    month["schemes_mask"],
                )
                if (
                    list(figures) != [int(row[c]) for c in MONTH_VALUES]
                    or month["status"] != "paid"
                ):
                    problems.append(f"{who}: month {month['period']} differs")
                    break
        medical = got["medical_account"] or {}
        if medical.get("balance_minor") != wanted.medical_minor:
            problems.append(
                f"{who}: medical balance {medical.get('balance_minor')} ≠ {wanted.medical_minor}"
            )
        latest = medical.get("latest") or []
        if [line["amount_minor"] for line in latest] != wanted.latest or any(
            line["kind"] != "account_credited" for line in latest
        ):
            problems.append(f"{who}: latest medical movements differ")
        pension = got["pension_account"] or {}
        if pension.get("balance_minor") != wanted.pension_minor:
            problems.append(
                f"{who}: pension balance {pension.get('balance_minor')} ≠ {wanted.pension_minor}"
            )
        if sorted(e["scheme"] for e in got["enrolments"]) != sorted(
            s.value for s in EMPLOYEE_SCHEMES
        ):
            problems.append(f"{who}: enrolments {[e['scheme'] for e in got['enrolments']]}")
        if got["due_months"] != 0:
            problems.append(f"{who}: {got['due_months']} months due")
    return problems


def _card_uses(conninfo: str) -> int:
    """Successful uses of item 29 so far, once requests still in the server have finished (the
    count stays the same for half a second; at most a minute)."""
    last = -1
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for _ in range(120):
            row = connection.execute(
                "SELECT count(*) FROM card_uses WHERE item_no = %s AND outcome = 'success'",
                (ITEM_QUERY,),
            ).fetchone()
            count = int(row[0]) if row else 0
            if count == last:
                break
            last = count
            time.sleep(0.5)
    return last


# -- the baseline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    tps: float
    latency_ms: float
    command: str


def _pgbench(
    database_url: str, *, clients: int, seconds: int, scale: int, threads: int
) -> Baseline | None:
    if shutil.which("pgbench") is None:
        return None
    parsed = make_url(database_url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    where = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
             "-U", parsed.username or "postgres"]  # fmt: skip
    database = PGBENCH_DATABASE if scale >= 10 else f"{PGBENCH_DATABASE}_{scale}"
    with psycopg.connect(_conninfo(database_url), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{database}"')
    ready = False
    with psycopg.connect(_conninfo(database_url, database)) as connection:
        try:
            row = connection.execute("SELECT count(*) FROM pgbench_branches").fetchone()
            ready = bool(row and int(row[0]) == scale)
        except psycopg.errors.UndefinedTable:
            ready = False
    if not ready:
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(scale), *where, database],
            env=env, capture_output=True, check=True, timeout=900,
        )  # fmt: skip
    command = ["pgbench", "-S", "-n", "-c", str(clients), "-j", str(threads), "-T", str(seconds)]
    answer = subprocess.run(
        [*command, *where, database],
        env=env, capture_output=True, text=True, check=True, timeout=seconds + 120,
    )  # fmt: skip
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", answer.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", answer.stdout)
    if tps is None:
        raise RuntimeError(f"pgbench printed no tps: {answer.stdout} {answer.stderr}")
    return Baseline(
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)) if latency else 0.0,
        command=" ".join(command) + f" (scale {scale})",
    )


# The statements the terminal route sends for one request, as the server log showed them
# (2026-11-30; the ORM's column lists shortened to what they read), for pgbench: the database's
# own ceiling for this route on this machine, with no application at all. Prepared, as psycopg
# prepares the platform's statements (the movements as one-value ranges ordered by the whole
# (account, id) key, so that every plan of it walks that index: see ledger.queries and decision
# 0015). A literal may not contain a colon: pgbench would take it for a variable.
ROUTE_SQL: Final = r"""
\set i random(0, {last})
\set person {first_person} + :i * {stride}
\set medical {first_account} + 2 * :i + 1
\set nonce random(1, 999999999999)
BEGIN;
SELECT id, terminal_code, kind, county_code, status, key_version FROM terminals
  WHERE terminal_code = '{terminal}';
INSERT INTO terminal_nonces (terminal_id, nonce, seen_at)
  VALUES ({terminal_id}, concat('pgbench-', :client_id::text, '-', :nonce::text), now())
  ON CONFLICT DO NOTHING RETURNING nonce;
COMMIT;
BEGIN;
SELECT persons.* FROM persons JOIN cards ON cards.person_id = persons.id
  WHERE cards.card_number = concat('W', lpad(:i::text, 8, '0')) FOR UPDATE OF persons;
SELECT * FROM cards WHERE card_number = concat('W', lpad(:i::text, 8, '0')) \gset card_
SELECT region_code, status FROM item_openings
  WHERE item_no = {item} AND region_code IN ('{county}', '{city}') AND effective_on <= {today}
  ORDER BY effective_on, id;
WITH inserted AS (
  INSERT INTO item_year_users (item_no, year, person_id, first_used_on)
  VALUES ({item}, {year}, :person, {today}) ON CONFLICT DO NOTHING RETURNING person_id
), counted AS (
  INSERT INTO item_user_tallies (item_no, first_used_on, shard, users)
  SELECT {item}, {today}, :person::bigint % {shards}, 1 FROM inserted
  ON CONFLICT (item_no, first_used_on, shard) DO UPDATE SET users = item_user_tallies.users + 1
)
SELECT EXISTS (SELECT 1 FROM inserted) OR EXISTS (SELECT 1 FROM item_year_users
  WHERE item_no = {item} AND year = {year} AND person_id = :person
    AND first_used_on <= {today});
INSERT INTO card_uses (item_no, person_id, card_id, channel, terminal_code, county_code, used_at,
  outcome, refusal_code, details)
  VALUES ({item}, :person, :card_id, 'kiosk', '{terminal}', '{county}', now(), 'success',
    NULL, '{{}}')
  RETURNING id;
{reads}
COMMIT;
"""

ROUTE_READS: Final = r"""
SELECT a.id, a.code, a.normal_side, b.debits_posted, b.credits_posted, b.debits_pending,
  b.credits_pending FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
  WHERE a.code IN (concat_ws(chr(58), 'person', :person::text, 'pension_employee'),
                   concat_ws(chr(58), 'person', :person::text, 'pension_resident'),
                   concat_ws(chr(58), 'person', :person::text, 'medical_account'));
SELECT enrolments.*, employers.name FROM enrolments
  LEFT JOIN employers ON employers.id = enrolments.employer_id
  WHERE enrolments.person_id = :person ORDER BY enrolments.id DESC;
SELECT period, base_minor, pension_employer_minor, pension_individual_minor,
  medical_employer_minor, medical_individual_minor, unemployment_employer_minor,
  unemployment_individual_minor, work_injury_employer_minor, maternity_employer_minor,
  pension_account_minor, medical_account_minor, schemes_mask, status, source, region_code,
  employer_id FROM contribution_months
  WHERE person_id = :person AND status != 'cancelled' AND period >= {since} ORDER BY period;
SELECT both_sides.*, (SELECT code FROM ledger_accounts WHERE id = CASE
  WHEN both_sides.debit_account_id = :medical THEN both_sides.credit_account_id
  ELSE both_sides.debit_account_id END) FROM (
  (SELECT id, transfer_key, created_at, kind, phase, credit_account_id, debit_account_id,
     amount_minor, reference FROM ledger_transfers
     WHERE debit_account_id BETWEEN :medical AND :medical
     ORDER BY debit_account_id DESC, id DESC LIMIT :latest)
  UNION ALL
  (SELECT id, transfer_key, created_at, kind, phase, credit_account_id, debit_account_id,
     amount_minor, reference FROM ledger_transfers
     WHERE credit_account_id BETWEEN :medical AND :medical
     ORDER BY credit_account_id DESC, id DESC LIMIT :latest)
) AS both_sides
  ORDER BY both_sides.id DESC LIMIT :latest;
SELECT * FROM resident_contributions WHERE person_id = :person AND status != 'cancelled'
  ORDER BY year DESC;
"""


def _route_sql(
    database_url: str,
    conninfo: str,
    layout: Layout,
    work: Path,
    *,
    clients: int,
    seconds: int,
    threads: int,
    reads_only: bool,
) -> Baseline | None:
    """pgbench replaying the terminal route's statements (ROUTE_SQL) for random insured
    persons, or only the five reads of the answer: what the database can do for this route on
    this machine when no application runs at all."""
    if shutil.which("pgbench") is None:
        return None
    terminal = layout.terminals[1 % len(layout.terminals)]
    with psycopg.connect(conninfo) as connection:
        row = connection.execute(
            "SELECT id, county_code FROM terminals WHERE terminal_code = %s", (terminal,)
        ).fetchone()
    assert row is not None
    now = datetime.now(UTC)
    reads = f"\\set latest {LATEST}\n" + ROUTE_READS.format(
        since=current_period(now) - YEARS * 100 + 1
    )
    values = {
        "last": layout.insured - 1,
        "first_person": layout.first_person,
        "stride": layout.stride,
        "first_account": layout.first_account,
        "terminal": terminal,
        "terminal_id": row[0],
        "county": row[1] or CITY,
        "city": CITY,
        "item": ITEM_QUERY,
        "year": now.astimezone(SHANGHAI).year,
        "shards": USER_TALLY_SHARDS,
        # The day in Yongzhou, as the platform counts first uses (not the server's time zone).
        "today": "(now() AT TIME ZONE 'Asia/Shanghai')::date",
    }
    text = ("\\set i random(0, {last})\n\\set person {first_person} + :i * {stride}\n"
            "\\set medical {first_account} + 2 * :i + 1\n".format(**values) + reads
            if reads_only else ROUTE_SQL.format(reads=reads, **values))  # fmt: skip
    script = work / ("w4-reads.sql" if reads_only else "w4-route.sql")
    script.write_text(text, encoding="utf-8")
    parsed = make_url(database_url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads),
               "-T", str(seconds), "-f", script.name]  # fmt: skip
    answer = subprocess.run(
        [*command[:-1], str(script), "-h", parsed.host or "127.0.0.1",
         "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
         make_url(conninfo).database or ""],
        env=env, capture_output=True, text=True, check=True, timeout=seconds + 120,
    )  # fmt: skip
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", answer.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", answer.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", answer.stdout)
    if tps is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench of the route's SQL failed: {answer.stdout} {answer.stderr}")
    return Baseline(
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)) if latency else 0.0,
        command=" ".join(command),
    )


# -- the run --------------------------------------------------------------------------------------


@dataclass
class W4Result:
    layout: Layout
    workers: int
    reused: bool
    load: Load | None = None
    baseline: Baseline | None = None
    floor: Load | None = None
    route_sql: Baseline | None = None  # the route's statements alone (pgbench)
    route_reads: Baseline | None = None  # the answer's five reads alone (pgbench)
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    uses_recorded: int = 0
    ledger_ok: bool | None = None
    route: str = "terminal"
    server: str = ""

    @property
    def correct(self) -> bool:
        return not self.problems and self.ledger_ok is not False and self.load is not None

    @property
    def verdict(self) -> str:
        if self.load is None:
            return "no load"
        met = (
            self.load.rate >= TARGET_RPS
            and self.load.p99_ms <= TARGET_P99_MS
            and self.load.errors == 0
        )
        return "PASS" if met else "FAIL"

    def describe(self, *, smoke: bool = False) -> str:
        layout = self.layout
        months = layout.insured * len(layout.periods)
        lines = [
            f"W4 self-service query over HTTP (PostgreSQL): {layout.residents:,} residents, "
            f"{layout.insured:,} insured, {months:,} contribution months "
            f"({layout.periods[0]}–{layout.periods[-1]}), database "
            f"{layout.database_bytes / 2**30:.1f} GiB"
        ]
        if self.reused:
            lines.append(f"  setup: reused (it took {layout.setup_seconds:.0f} s)")
        else:
            for name, seconds in layout.setup_steps:
                lines.append(f"  setup {name:<52} {seconds:8.1f} s")
            lines.append(f"  setup, in all {'':<45} {layout.setup_seconds:8.1f} s")
        if not self.checked:
            return "\n".join(lines)  # --setup-only
        lines.append(
            f"  answers checked ({self.checked} requests for sampled persons): "
            + ("right" if not self.problems else f"{len(self.problems)} WRONG")
        )
        lines.extend(f"    {p}" for p in self.problems[:10])
        if self.ledger_ok is not None:
            lines.append(f"  ledger verified: {self.ledger_ok}")
        if self.load is not None:
            load = self.load
            lines.append(
                f"  {STAFF_ROUTE if self.route == 'staff' else ROUTE}, uvicorn {self.workers} "
                f"worker(s) ({self.server}), {load.tool}: "
                f"{load.rate:,.0f} req/s, p50 {load.p50_ms:.1f} ms, p90 {load.p90_ms:.1f} ms, "
                f"p99 {load.p99_ms:.1f} ms, max {load.max_ms:.0f} ms, errors {load.errors}; "
                f"{self.uses_recorded:,} card uses recorded for {load.requests:,} answers"
            )
            lines.append(f"  load average before/after: {load.load_before} / {load.load_after}")
        if self.floor is not None:
            lines.append(
                f"  same server, GET /healthz, {self.floor.tool}: {self.floor.rate:,.0f} req/s, "
                f"p99 {self.floor.p99_ms:.1f} ms, errors {self.floor.errors} (the HTTP floor now)"
            )
        if self.baseline is not None:
            ratio = self.load.rate / self.baseline.tps if self.load else 0
            lines.append(
                f"  baseline {self.baseline.command}: {self.baseline.tps:,.0f} tps, "
                f"latency average {self.baseline.latency_ms:.2f} ms; ratio {ratio:.3f}"
            )
        else:
            lines.append("  baseline: pgbench not installed, skipped")
        for label, ceiling in (
            ("the route's statements", self.route_sql),
            ("the answer's five reads", self.route_reads),
        ):
            if ceiling is not None:
                lines.append(
                    f"  database ceiling, {label} alone ({ceiling.command}, no application): "
                    f"{ceiling.tps:,.0f} tps, latency average {ceiling.latency_ms:.2f} ms"
                )
        target = f"target ≥ {TARGET_RPS:,.0f} req/s at 50 connections, p99 ≤ {TARGET_P99_MS:.0f} ms"
        if smoke:
            verdict = "smoke (no timing verdict)"
        elif self.route == "staff":
            verdict = "not judged (the staff route, for comparison)"
        else:
            verdict = self.verdict
        lines.append(f"  {target}: {verdict}")
        return "\n".join(lines)


def run_w4(
    *,
    residents: int,
    insured: int,
    database_url: str,
    database_name: str = BENCH_DATABASE,
    keep: bool = False,
    reuse: bool = False,
    smoke: bool = False,
    workers: int = 2,
    connections: int = 50,
    duration: int = 30,
    warmup: int = 10,
    load_tool: str = "wrk",
    threads: int = 2,
    uvicorn_args: list[str] | None = None,
    baseline_seconds: int = 30,
    baseline_scale: int = 10,
    sample: int = 50,
    terminals: int = 50,
    setup_only: bool = False,
    route: str = "terminal",
    pool: tuple[int, int] | None = None,
) -> W4Result:
    """Set up (or reuse) the synthetic city, check sampled answers, load the route, and run the
    pgbench baseline. `smoke` sends a few hundred requests with the Python generator. `route`:
    "terminal" (the holder's query, the W4 figure) or "staff" (the same answer for an officer
    with a bearer token, for comparison)."""
    data_dir = HERE / "data" / f"w4-{database_name}"
    layout_file = data_dir / "layout.json"
    admin = _conninfo(database_url)
    url = make_url(database_url).set(database=database_name).render_as_string(hide_password=False)
    conninfo = _conninfo(database_url, database_name)
    reused = False
    if reuse and layout_file.exists():
        reused = True
    else:
        if data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
            connection.execute(f'CREATE DATABASE "{database_name}"')
    settings = Settings(database_url=url, data_dir=data_dir)
    platform = build_platform(settings)
    try:
        if reused:
            layout = Layout.load(layout_file)
        else:
            migrate(platform.engine)
            ensure_reference_data(platform)
            layout = _setup(
                platform,
                conninfo,
                residents=residents,
                insured=insured,
                terminals=min(terminals, 4) if smoke else terminals,
                verbose=not smoke,
            )
            layout.save(layout_file)
        if layout.periods[-1] != current_period(platform.clock.now()):
            print(f"warning: the data ends in {layout.periods[-1]}; the query now reads ten years "
                  f"to {current_period(platform.clock.now())} (set up again)")  # fmt: skip
        result = W4Result(
            layout=layout,
            workers=1 if smoke else workers,
            reused=reused,
            route=route,
            server=_uvicorn_flavour(uvicorn_args or []),
        )
        # As many connections per worker as it takes requests at once (its share of the
        # load's connections), none opened and closed again under load.
        size, overflow = pool or (-(-connections // result.workers), 0)
        settings_env = {
            "SOCIALCARD_DATABASE_POOL_SIZE": str(size),
            "SOCIALCARD_DATABASE_MAX_OVERFLOW": str(overflow),
        }
        result.server += f", database pool {size}+{overflow} per worker"
        if setup_only:
            return result
        expected = _expected(_month_rows(platform, layout))
        with psycopg.connect(conninfo) as connection:
            versions: dict[str, int] = dict(
                connection.execute("SELECT terminal_code, key_version FROM terminals").fetchall()
            )
        token = _staff_token(platform)
        terminal = Asker(platform.keys, layout, versions)
        staff = Asker(platform.keys, layout, versions, staff_token=token)
        asker = staff if route == "staff" else terminal
        rng = secrets.SystemRandom()
        port = _free_port()
        with _server(
            url,
            data_dir,
            workers=result.workers,
            port=port,
            log=data_dir / "server.log",
            extra=uvicorn_args or [],
            settings=settings_env,
        ) as base:
            chosen = sorted(
                {0, layout.insured - 1, *(rng.randrange(layout.insured) for _ in range(sample))}
            )
            for checked in (terminal, staff) if smoke else (asker,):
                result.problems.extend(_check_answers(port, checked, expected, chosen))
            result.checked = len(chosen) * (2 if smoke else 1)
            uses_before = _card_uses(conninfo)
            if smoke or load_tool == "python" or shutil.which("wrk") is None:
                count = 200 if smoke else max(duration, 1) * 1_000
                result.load = _python_load(
                    port,
                    asker.pool(count, rng),
                    connections=min(connections, 8) if smoke else connections,
                )
            else:
                warm = _wrk(
                    base, asker.pool(warmup * 4_000, rng), data_dir,
                    connections=connections, seconds=warmup, threads=threads,
                )  # fmt: skip
                uses_before = _card_uses(conninfo)
                size = max(int(warm.rate * duration * 2), 20_000)
                result.load = _wrk(
                    base, asker.pool(size, rng), data_dir,
                    connections=connections, seconds=duration, threads=threads,
                )  # fmt: skip
            result.uses_recorded = _card_uses(conninfo) - uses_before
            if not smoke and load_tool == "wrk" and shutil.which("wrk") is not None:
                # The same server's trivial endpoint under the same load: the HTTP floor of
                # this machine at this moment (PERFORMANCE.md measured ~15,000/s on 2 workers).
                result.floor = _wrk(
                    base, [Request("GET", "/healthz", {})], data_dir,
                    connections=connections, seconds=min(duration, 10), threads=threads,
                )  # fmt: skip
        answered = result.load.requests - result.load.errors
        expected_uses = answered if asker is terminal else 0
        # Beyond the answers: requests still in flight when wrk stopped, and those wrk gave up
        # on (timeouts) that the server still finished.
        unseen = connections + result.load.errors if asker is terminal else 0
        if not expected_uses <= result.uses_recorded <= expected_uses + unseen:
            result.problems.append(
                f"{result.uses_recorded} card uses recorded for {answered} answers"
            )
        if smoke:
            with platform.session() as session:
                verification = ledger_queries.verify_ledger(session)
            result.ledger_ok = verification.ok
            result.problems.extend(verification.problems[:5])
        result.baseline = _pgbench(
            database_url,
            clients=connections if not smoke else 8,
            seconds=2 if smoke else baseline_seconds,
            scale=1 if smoke else baseline_scale,
            threads=threads,
        )
        if route == "terminal":
            for reads_only in (False, True):
                ceiling = _route_sql(
                    database_url,
                    conninfo,
                    layout,
                    data_dir,
                    clients=connections if not smoke else 8,
                    seconds=2 if smoke else baseline_seconds,
                    threads=threads,
                    reads_only=reads_only,
                )
                if reads_only:
                    result.route_reads = ceiling
                else:
                    result.route_sql = ceiling
        return result
    finally:
        platform.engine.dispose()
        if not keep and not reuse and not setup_only:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
            shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--insured", type=int, default=20_000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--database-name", default=BENCH_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the database for --reuse")
    parser.add_argument("--reuse", action="store_true", help="measure on the kept database")
    parser.add_argument(
        "--setup-only", action="store_true", help="build and keep the city, no load"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run, no timing verdict")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=30, help="measured seconds")
    parser.add_argument("--warmup", type=int, default=10, help="seconds before measuring")
    parser.add_argument("--threads", type=int, default=2, help="wrk and pgbench threads")
    parser.add_argument("--load", choices=("wrk", "python"), default="wrk")
    parser.add_argument(
        "--route",
        choices=("terminal", "staff"),
        default="terminal",
        help="terminal: the holder's query (the W4 figure); staff: the officer's, to compare",
    )
    parser.add_argument("--baseline-seconds", type=int, default=30)
    parser.add_argument(
        "--pool",
        type=int,
        nargs=2,
        metavar=("SIZE", "OVERFLOW"),
        help="database connections per worker (default: connections / workers, no overflow)",
    )
    parser.add_argument("--uvicorn-arg", action="append", default=[], help="e.g. --loop=uvloop")
    arguments = parser.parse_args(argv)
    result = run_w4(
        residents=arguments.residents,
        insured=arguments.insured,
        database_url=arguments.database_url,
        database_name=arguments.database_name,
        keep=arguments.keep,
        reuse=arguments.reuse,
        smoke=arguments.smoke,
        workers=arguments.workers,
        connections=arguments.connections,
        duration=arguments.duration,
        warmup=arguments.warmup,
        load_tool=arguments.load,
        threads=arguments.threads,
        uvicorn_args=arguments.uvicorn_arg,
        baseline_seconds=arguments.baseline_seconds,
        setup_only=arguments.setup_only,
        route=arguments.route,
        pool=tuple(arguments.pool) if arguments.pool else None,
    )
    print(result.describe(smoke=arguments.smoke))
    return 0 if result.correct or arguments.setup_only else 1


if __name__ == "__main__":
    sys.exit(main())
