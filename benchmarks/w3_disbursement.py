"""W3: a disbursement of N payees end to end on PostgreSQL (PERFORMANCE.md: 1,000,000 payees in
≤ 60 s), printed beside the same steps done as plain set-based SQL in the same run.

    python benchmarks/w3_disbursement.py --payees 1000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Setup (not timed): persons with real encrypted ID numbers, active cards with activated bank
accounts at seven partner banks, the same accounts in the sandbox bank, a funded programme and
the payee list as a UTF-8 CSV. Timed, each step through the platform's own code: read the list
and validate it against registry/cards/bank status into a batch (one step, as the console's
upload: each slice validated while the next is read, decision 0019), submit, approve (reserve every
line in the ledger), then one run of the batch as the console starts it: per-bank send files,
relayed to the sandbox bank — in a process of its own, as a partner bank is another system —
which executes them and writes return files, the returns collected and applied (post/void
every line, card uses, holder messages), reconciled; on PostgreSQL the run builds, sends and
applies bank by bank at once (decision 0017). The baseline does the same steps in plain SQL on
the same data: COPY the list, one INSERT … SELECT to validate, one to reserve, COPY … TO for the
files, one UPDATE for the bank's answer, one INSERT … SELECT to post, one aggregate to
reconcile.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from socialcard.banks.gateway import BankGateway
from socialcard.banks.sandbox import SandboxBank
from socialcard.banks.sandbox_host import HostedSandboxBank
from socialcard.bootstrap import Platform, build_platform, ensure_reference_data, migrate
from socialcard.cards.models import PARTNER_BANKS, Card
from socialcard.cards.services import bank_account_index, pin_digest
from socialcard.config import Settings
from socialcard.db import bulk_insert, transaction
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.models import BatchStatus
from socialcard.disbursement.payee_lists import read_payee_rows, render_payee_list
from socialcard.disbursement.programmes import ensure_programmes, fund_programme
from socialcard.disbursement.reconciliation import reconcile
from socialcard.disbursement.runner import agency_account, run_batch
from socialcard.disbursement.services import Officer
from socialcard.kernel.masking import mask_bank_account, mask_resident_id
from socialcard.kernel.money import Money
from socialcard.kernel.resident_id import check_character
from socialcard.ledger import queries as ledger_queries
from socialcard.registry.models import Person

TARGET_SECONDS = 60.0
BENCH_DATABASE = "socialcard_bench_w3"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


class CpuMeter:
    """CPU seconds used so far by the platform (this process, every thread), the bank (its own
    process) and the database server (the postmaster, its live children and those it reaped:
    backends, parallel workers, the checkpointer), from /proc. On a machine without /proc, or
    a server on another host, the parts it cannot see read 0."""

    def __init__(self, conninfo: str) -> None:
        with psycopg.connect(conninfo) as connection:
            backend = connection.execute("SELECT pg_backend_pid()").fetchone()
        self.postmaster = self._parent(int(backend[0])) if backend else None
        self.bank: int | None = None

    @staticmethod
    def _stat(pid: int) -> list[str] | None:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return text[text.rindex(")") + 2 :].split()

    def _parent(self, pid: int) -> int | None:
        fields = self._stat(pid)
        return int(fields[1]) if fields else None

    def _seconds(self, pid: int, *, children: bool = False) -> float:
        fields = self._stat(pid)
        if fields is None:
            return 0.0
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        if children:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped children
        return ticks / os.sysconf("SC_CLK_TCK")

    def read(self) -> tuple[float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        platform = usage.ru_utime + usage.ru_stime
        bank = self._seconds(self.bank) if self.bank else 0.0
        database = 0.0
        if self.postmaster is not None:
            database = self._seconds(self.postmaster, children=True)
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit() and self._parent(int(entry.name)) == self.postmaster:
                    database += self._seconds(int(entry.name))
        return platform, bank, database


@dataclass
class W3Result:
    payees: int
    steps: list[tuple[str, float]] = field(default_factory=list)
    # Each step's CPU seconds: the platform, the bank's process, the database server.
    cpu: list[tuple[float, float, float]] = field(default_factory=list)
    baseline_steps: list[tuple[str, float]] = field(default_factory=list)
    paid: int = 0
    failed: int = 0
    balanced: bool = False
    ledger_ok: bool = False

    @property
    def seconds(self) -> float:
        return sum(s for _, s in self.steps)

    @property
    def baseline_seconds(self) -> float:
        return sum(s for _, s in self.baseline_steps)

    @property
    def correct(self) -> bool:
        return self.balanced and self.ledger_ok and self.paid + self.failed == self.payees

    def describe(self, *, smoke: bool = False) -> str:
        lines = [f"W3 disbursement of {self.payees:,} payees (PostgreSQL)"]
        for index, (name, seconds) in enumerate(self.steps):
            used = ""
            if index < len(self.cpu):
                platform, bank, database = self.cpu[index]
                used = (
                    f"   CPU s: platform {platform:.1f}, bank {bank:.1f}, database {database:.1f}"
                )
            lines.append(f"  {name:<44} {seconds:8.2f} s{used}")
        lines.append(f"  {'platform, end to end':<44} {self.seconds:8.2f} s")
        for name, seconds in self.baseline_steps:
            lines.append(f"  baseline {name:<35} {seconds:8.2f} s")
        lines.append(f"  {'baseline: plain set-based SQL':<44} {self.baseline_seconds:8.2f} s")
        ratio = self.seconds / self.baseline_seconds if self.baseline_seconds else 0
        verdict = (
            "smoke (no timing verdict)"
            if smoke
            else ("PASS" if self.seconds <= TARGET_SECONDS else "FAIL")
            + f" (target ≤ {TARGET_SECONDS:.0f} s)"
        )
        lines.append(
            f"  paid {self.paid:,}, failed {self.failed:,}, reconciled {self.balanced}, "
            f"ledger verified {self.ledger_ok}; ratio to baseline {ratio:.1f}×; {verdict}"
        )
        return "\n".join(lines)


def _conninfo(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _resident_ids(count: int, rng: random.Random) -> list[str]:
    start = date(1950, 1, 1)
    ids = []
    for number in range(count):
        birth = start + timedelta(days=number // 900)
        first17 = f"431124{birth:%Y%m%d}{number % 900 + 100:03d}"
        ids.append(first17 + check_character(first17))
    rng.shuffle(ids)
    return ids


def _setup(platform: Platform, bank: SandboxBank, payees: int, seed: int) -> bytes:
    """Persons, cards and bank accounts for every payee; the list they will be paid from."""
    rng = random.Random(seed)
    keys = platform.keys
    at = datetime.now(UTC)
    banks = sorted(PARTNER_BANKS)
    ids = _resident_ids(payees, rng)
    names = [rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) for _ in ids]
    with platform.session() as session, transaction(session):
        ensure_programmes(session, bank_codes=banks, at=at)
        fund_programme(session, "I107", amount=Money(payees * 200_000), reference="bench", at=at)
    chunk = 100_000
    for start in range(0, payees, chunk):
        with platform.session() as session, transaction(session):
            rows = []
            for rid, name in zip(
                ids[start : start + chunk], names[start : start + chunk], strict=True
            ):
                rows.append(
                    {
                        "resident_id_cipher": keys.encrypt(rid),
                        "resident_id_index": keys.blind_index("resident_id", rid),
                        "resident_id_masked": mask_resident_id(rid),
                        "name": name,
                        "sex": "male",
                        "birth_on": date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14])),
                        "origin_code": "431124",
                        "is_from_yongzhou": True,
                        "household_region_code": "431124",
                        "residence_county_code": "431124",
                        "status": "living",
                        "source": "bench",
                        "content_hash": "0" * 64,
                        "version": 1,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            bulk_insert(session, Person.__table__, rows)
    with platform.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE persons")
    with platform.session() as session:
        person_ids = dict(
            session.execute(
                Person.__table__.select().with_only_columns(Person.resident_id_index, Person.id)
            )
            .tuples()
            .all()
        )
    accounts = []
    for start in range(0, payees, chunk):
        with platform.session() as session, transaction(session):
            rows = []
            for offset, rid in enumerate(ids[start : start + chunk]):
                number = start + offset
                code = banks[number % len(banks)]
                account = f"6217{number:015d}"
                card_number = f"B{number:08d}"
                accounts.append((code, account, names[number], rid, True))
                rows.append(
                    {
                        "person_id": person_ids[keys.blind_index("resident_id", rid)],
                        "card_number": card_number,
                        "generation": 3,
                        "spec_version": "3.0",
                        "issuing_region_code": "431124",
                        "bank_code": code,
                        "bank_account_cipher": keys.encrypt(account),
                        "bank_account_masked": mask_bank_account(account),
                        "bank_account_index": bank_account_index(keys, code, account),
                        "bank_account_activated_at": at,
                        "status": "active",
                        "reason": "first",
                        "application_channel": "batch",
                        "applied_at": at,
                        "photo_collected": True,
                        "produced_at": at,
                        "issued_on": at.date(),
                        "issued_region_code": "431124",
                        "activated_at": at,
                        "pin_hash": pin_digest(keys, card_number, "246810"),
                        "pin_is_initial": False,
                        "pin_failures": 0,
                        "version": 1,
                    }
                )
            bulk_insert(session, Card.__table__, rows)
    with platform.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE cards")
    bank.open_accounts(accounts)
    for code in banks:
        bank.open_agency_account(code, agency_account(code), "永州市财政局")
    # About 0.5 % of the accounts are closed at the bank: realistic failures to void.
    for number in range(0, payees, 200):
        code, account = accounts[number][0], accounts[number][1]
        bank.set_state(code, account, "closed")
    return render_payee_list(
        [
            (rid, name, 10_000 + (n % 50) * 100, "")
            for n, (rid, name) in enumerate(zip(ids, names, strict=True))
        ]
    )


def _timed(result: W3Result, name: str, started: float, meter: CpuMeter, cpu: list[float]) -> float:
    """Close a step: its wall time and, from `cpu` (the meter's reading when it began, updated
    in place), the CPU each party used in it."""
    now = time.perf_counter()
    result.steps.append((name, now - started))
    reading = meter.read()
    result.cpu.append((reading[0] - cpu[0], reading[1] - cpu[1], reading[2] - cpu[2]))
    cpu[:] = reading
    return now


def _run_platform(
    platform: Platform, bank: BankGateway, data: bytes, result: W3Result, meter: CpuMeter
) -> None:
    from socialcard.access.services import create_staff

    at = datetime.now(UTC)
    with platform.session() as session, transaction(session):
        maker = create_staff(
            session,
            username="bench_maker",
            display_name="制单",
            password="Bench-2026-w3x",
            department_code="agriculture",
            scope_region_code="431100",
            created_at=at,
        )
        checker = create_staff(
            session,
            username="bench_checker",
            display_name="审核",
            password="Bench-2026-w3x",
            department_code="finance",
            scope_region_code="431100",
            created_at=at,
        )
        maker_officer = Officer(maker.id, "agriculture")
        checker_officer = Officer(checker.id, "finance")
    cpu = list(meter.read())
    started = time.perf_counter()
    # As the console's upload: the list read row by row while each slice of it is validated
    # (decision 0019), so the two are timed as one step.
    with platform.session() as session, transaction(session):
        rows = read_payee_rows(data, filename="list.csv", period="2026", max_line_minor=5_000_000)
        batch = disbursement.create_batch(
            session,
            platform.keys,
            programme_code="I107",
            period="2026",
            title="W3",
            rows=rows,
            source_name="list.csv",
            source=data,
            officer=maker_officer,
            at=at,
        )
        batch_no = batch.batch_no
    started = _timed(result, "read + validate (registry, cards, bank)", started, meter, cpu)
    with platform.session() as session, transaction(session):
        disbursement.submit_batch(session, batch_no=batch_no, officer=maker_officer, at=at)
        disbursement.approve_batch(session, batch_no=batch_no, officer=checker_officer, at=at)
    started = _timed(result, "submit + approve (reserve every line)", started, meter, cpu)
    # One run, as the console's and the CLI's: each bank's file built, sent and its return
    # applied while the next bank's is built (on PostgreSQL, decision 0017).
    run_batch(platform.sessions, platform.keys, bank, batch_no, at=at)
    started = _timed(result, "send files, relay, bank, returns, reconciled", started, meter, cpu)
    with platform.session() as session:
        from socialcard.disbursement.queries import get_batch

        done = get_batch(session, batch_no)
        result.paid, result.failed = done.paid_count, done.failed_count
        result.balanced = bool(reconcile(session, done)["balanced"]) and done.status in (
            BatchStatus.COMPLETED,
            BatchStatus.COMPLETED_WITH_FAILURES,
        )
        result.ledger_ok = ledger_queries.verify_ledger(session).ok


def _run_baseline(
    conninfo: str, data: bytes, result: W3Result, index: Callable[[str], str]
) -> None:
    """The same steps as plain SQL on the same tables' data (no Python per row beyond COPY)."""
    text_rows = data.decode("utf-8-sig").splitlines()[1:]
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "CREATE TEMP TABLE base_list (seq int, id_index text, name text, amount bigint)"
        )
        with cursor.copy("COPY base_list FROM STDIN") as copy:
            for seq, line in enumerate(text_rows, start=1):
                rid, name, amount, _memo = line.split(",")
                yuan, fen = amount.split(".")
                copy.write_row((seq, index(rid), name, int(yuan) * 100 + int(fen)))
        started = _base(result, "COPY the list (with blind index)", started)
        cursor.execute(
            "CREATE TEMP TABLE base_lines AS SELECT l.seq, p.id AS person_id, c.id AS card_id, "
            "c.bank_code, l.amount, CASE WHEN p.id IS NULL THEN 'invalid' WHEN p.name <> l.name "
            "THEN 'invalid' WHEN c.id IS NULL OR c.bank_account_activated_at IS NULL THEN "
            "'invalid' ELSE 'queued' END AS status FROM base_list l LEFT JOIN persons p ON "
            "p.resident_id_index = l.id_index LEFT JOIN cards c ON c.person_id = p.id AND "
            "c.status IN ('issued','active')"
        )
        started = _base(result, "validate (one INSERT … SELECT)", started)
        cursor.execute(
            "CREATE TEMP TABLE base_ledger AS SELECT seq, amount, 'reserve'::text AS phase "
            "FROM base_lines WHERE status = 'queued'"
        )
        started = _base(result, "reserve (one INSERT … SELECT)", started)
        buffer = io.BytesIO()
        with cursor.copy(
            "COPY (SELECT l.seq, p.resident_id_cipher, l.amount, c.bank_account_cipher FROM "
            "base_lines l JOIN persons p ON p.id = l.person_id JOIN cards c ON c.id = l.card_id "
            "WHERE l.status = 'queued' ORDER BY l.bank_code, l.seq) TO STDOUT"
        ) as copy:
            for block in copy:
                buffer.write(block)
        started = _base(result, "send files (COPY … TO)", started)
        cursor.execute(
            "CREATE TEMP TABLE base_returns AS SELECT seq, CASE WHEN seq % 200 = 0 THEN 'failed' "
            "ELSE 'paid' END AS outcome FROM base_lines WHERE status = 'queued'"
        )
        cursor.execute(
            "UPDATE base_lines l SET status = r.outcome FROM base_returns r WHERE r.seq = l.seq"
        )
        started = _base(result, "bank answer (one UPDATE)", started)
        cursor.execute(
            "INSERT INTO base_ledger SELECT seq, amount, 'post' FROM base_lines "
            "WHERE status = 'paid'"
        )
        started = _base(result, "post (one INSERT … SELECT)", started)
        cursor.execute("SELECT status, count(*), sum(amount) FROM base_lines GROUP BY status")
        cursor.fetchall()
        cursor.execute("SELECT phase, count(*), sum(amount) FROM base_ledger GROUP BY phase")
        cursor.fetchall()
        _base(result, "reconcile (two aggregates)", started)
        connection.rollback()


def _base(result: W3Result, name: str, started: float) -> float:
    now = time.perf_counter()
    result.baseline_steps.append((name, now - started))
    return now


@contextmanager
def _work_folder(database_name: str, *, keep: bool) -> Iterator[str]:
    """The platform's data folder (its keys), the sandbox bank's file and the list: temporary,
    or with --keep benchmarks/data/w3-<database>/ beside the kept database, so that statements
    can be measured on it afterwards with the same keys."""
    if not keep:
        with tempfile.TemporaryDirectory() as folder:
            yield folder
        return
    kept = Path(__file__).parent / "data" / f"w3-{database_name}"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    yield str(kept)


def run_w3(
    *, payees: int, database_url: str, keep: bool = False, database_name: str = BENCH_DATABASE
) -> W3Result:
    admin = _conninfo(database_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
        connection.execute(f'CREATE DATABASE "{database_name}"')
    url = make_url(database_url).set(database=database_name)
    result = W3Result(payees=payees)
    try:
        with _work_folder(database_name, keep=keep) as folder:
            settings = Settings(
                database_url=url.render_as_string(hide_password=False), data_dir=Path(folder)
            )
            platform = build_platform(settings)
            migrate(platform.engine)
            ensure_reference_data(platform)
            bank = SandboxBank(Path(folder) / "bank.sqlite3")
            keys = platform.keys
            data = _setup(platform, bank, payees, seed=2026)
            if keep:
                (Path(folder) / "list.csv").write_bytes(data)
            _run_baseline(
                _conninfo(database_url, database_name),
                data,
                result,
                lambda rid: keys.blind_index("resident_id", rid),
            )
            # The bank runs in a process of its own, as a partner bank's system does (on the
            # same two cores): its work on a file overlaps the platform's on the last return.
            bank.close()
            meter = CpuMeter(_conninfo(database_url, database_name))
            with HostedSandboxBank(bank.path) as hosted:
                meter.bank = hosted.process_id
                _run_platform(platform, hosted, data, result, meter)
            platform.engine.dispose()
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payees", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--keep", action="store_true")
    arguments = parser.parse_args(argv)
    result = run_w3(
        payees=arguments.payees, database_url=arguments.database_url, keep=arguments.keep
    )
    print(result.describe())
    return 0 if result.correct else 1


if __name__ == "__main__":
    sys.exit(main())
