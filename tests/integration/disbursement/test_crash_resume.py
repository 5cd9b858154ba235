"""RELIABILITY A5: a disbursement run killed with SIGKILL — at each named crash point and at
random moments, up to three times per trial — and resumed pays every line exactly once: the
strict sandbox bank counts every execution and deduplicates nothing. After each trial the books
balance, the batch reconciles, and the send file made again from the database is byte-identical
to the one that went to the bank.

Size: PR tier B=500 lines × K=20 trials per database (SOCIALCARD_KILL_LINES and
SOCIALCARD_KILL_TRIALS raise it for the nightly tier)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from socialcard.banks import queries as bank_queries
from socialcard.banks.formats.batch_file import render_send_file
from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.disbursement import queries
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.models import BatchStatus, LineStatus
from socialcard.disbursement.payee_lists import read_payee_list, render_payee_list
from socialcard.disbursement.reconciliation import reconcile
from socialcard.disbursement.runner import ENCODING, agency_account, bank_batch_no, build_send_file
from socialcard.disbursement.services import Officer
from socialcard.kernel.faults import CRASH_VARIABLE
from socialcard.ledger import queries as ledger_queries
from tests.money_support import cardholders
from tests.support import make_staff

CRASH_POINTS = (
    "after_reserve",
    "after_file_rendered",
    "after_outbox_insert",
    "after_bank_accepted",
    "mid_status_update",
)
LINES = int(os.environ.get("SOCIALCARD_KILL_LINES", "500"))
TRIALS = int(os.environ.get("SOCIALCARD_KILL_TRIALS", "20"))
ROOT = Path(__file__).resolve().parents[3]


def _worker(
    platform: Platform,
    bank_path: Path,
    batch_no: str,
    checker: int,
    crash: str | None,
    *,
    keep_errors: bool = False,
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_VARIABLE}
    if crash:
        env[CRASH_VARIABLE] = crash
    return subprocess.Popen(
        [
            sys.executable, "-m", "tests.workers.disburse",
            platform.settings.database_url, str(platform.settings.resolved_key_file),
            str(bank_path), batch_no, str(checker),
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if keep_errors else subprocess.DEVNULL,
    )  # fmt: skip


def test_killed_runs_pay_every_line_exactly_once(money: Platform, tmp_path: Path) -> None:
    rng = random.Random(5)
    maker = make_staff(money, "maker", roles=("disbursement_officer",), department="agriculture")
    checker = make_staff(money, "checker", roles=("finance_approver",), department="finance")
    holders = cardholders(money, LINES, banks=("ICBC", "CCB", "ABC"))
    bank_path = tmp_path / "bank.sqlite3"
    bank = SandboxBank(bank_path, strict=True)
    bank.open_accounts((h.bank_code, h.account, h.name, h.resident_id, True) for h in holders)
    for holder in holders[:: max(1, LINES // 10)]:  # ~2 % of accounts closed: voids too
        bank.set_state(holder.bank_code, holder.account, "closed")
    for code in ("ICBC", "CCB", "ABC"):
        bank.open_agency_account(code, agency_account(code), "永州市财政局")
    points_hit: Counter[str] = Counter()
    random_kills = 0
    for trial in range(TRIALS):
        data = render_payee_list([(h.resident_id, h.name, 100 + trial, "") for h in holders])
        at = money.clock.now()
        with money.session() as session, transaction(session):
            rows = read_payee_list(
                data, filename="x.csv", period=str(2000 + trial), max_line_minor=10**6
            )
            batch = disbursement.create_batch(
                session,
                money.keys,
                programme_code="I107",
                period=str(2000 + trial),
                title="kill test",
                rows=rows,
                source_name="x.csv",
                source=data,
                officer=Officer(maker.staff_id, "agriculture"),
                at=at,
            )
            batch_no = batch.batch_no
            disbursement.submit_batch(
                session, batch_no=batch_no, officer=Officer(maker.staff_id, "agriculture"), at=at
            )
        kills = rng.randint(1, 3)
        for attempt in range(kills):
            if trial % 2 == 0 and attempt == 0:
                point = CRASH_POINTS[(trial // 2) % len(CRASH_POINTS)]
                process = _worker(money, bank_path, batch_no, checker.staff_id, point)
                process.wait(timeout=120)
                if process.returncode == -signal.SIGKILL:
                    points_hit[point] += 1
            else:
                process = _worker(money, bank_path, batch_no, checker.staff_id, None)
                time.sleep(rng.uniform(0.4, 1.6))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    random_kills += 1
                process.wait(timeout=120)
        process = _worker(money, bank_path, batch_no, checker.staff_id, None, keep_errors=True)
        _, error = process.communicate(timeout=300)
        assert process.returncode == 0, error.decode()[-3000:]
        _check_trial(money, bank, batch_no)
    assert set(points_hit) == set(CRASH_POINTS), points_hit
    assert random_kills > 0


def _check_trial(platform: Platform, bank: SandboxBank, batch_no: str) -> None:
    with platform.session() as session:
        batch = queries.get_batch(session, batch_no)
        assert batch.status in (BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_FAILURES)
        lines = queries.list_lines(session, batch, limit=LINES + 1)
        executions = Counter(bank.executions_of(line.end_to_end_id) for line in lines)
        assert executions == Counter({1: len(lines)}), f"{batch_no}: executions {executions}"
        assert {line.status for line in lines} <= {LineStatus.PAID, LineStatus.FAILED}
        report = reconcile(session, batch)
        assert report["balanced"], report["problems"]
        assert ledger_queries.verify_ledger(session).ok
        for bank_code in {line.bank_code for line in lines if line.bank_code}:
            stored = bank_queries.find_send_file(
                session, bank_code, bank_batch_no(batch, bank_code)
            )
            assert stored is not None
            again = render_send_file(
                build_send_file(session, platform.keys, batch, bank_code), encoding=ENCODING
            )
            assert again == stored.content


pytestmark = pytest.mark.slow
