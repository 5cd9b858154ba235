"""The outbox of bank files on the platform database (SQLite and PostgreSQL): storing is
idempotent, the relay never executes a file twice under faults, the file-exchange path works end
to end, and a return file must answer its send file."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from socialcard.banks import queries, services
from socialcard.banks.errors import BankBatchConflict, BankFileInvalid, BankFileNotFound
from socialcard.banks.faults import FaultPlan
from socialcard.banks.file_exchange import (
    FileExchangeGateway,
    run_sandbox_bank_over_files,
    write_activations,
)
from socialcard.banks.formats.batch_file import parse_return_file, render_return_file
from socialcard.banks.gateway import BankUnavailable, Direction, LineStatus
from socialcard.banks.models import BankFileKind, BankFileStatus
from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from tests.integration.banks.builders import AGENCY, AT, a_bank, a_file, a_line, holder


def _store(platform: Platform, *files: object, encoding: str = "gbk") -> None:
    with platform.session() as session, transaction(session):
        for file in files:
            services.store_send_file(session, file, encoding=encoding, at=AT)  # type: ignore[arg-type]


def test_storing_the_same_batch_again_returns_the_stored_file(platform: Platform) -> None:
    file = a_file(range(1, 4))
    with platform.session() as session, transaction(session):
        first = services.store_send_file(session, file, at=AT)
        again = services.store_send_file(session, file, at=AT)
    assert first.id == again.id
    assert (first.status, first.line_count, first.amount_minor) == (
        BankFileStatus.PREPARED,
        3,
        30_000,
    )
    assert first.name == "ICBC_B1.SND"
    with platform.session() as session:
        stored = queries.find_send_file(session, "ICBC", "B1")
        assert stored is not None
        assert stored.content == first.content
        assert queries.get_bank_file(session, first.id).sha256 == first.sha256
        assert [f.id for f in queries.list_bank_files(session, bank_code="ICBC")] == [first.id]
        with pytest.raises(BankFileNotFound):
            queries.get_bank_file(session, first.id + 1)


def test_different_content_under_the_same_batch_number_is_a_conflict(platform: Platform) -> None:
    _store(platform, a_file(range(1, 4)))
    with platform.session() as session, pytest.raises(BankBatchConflict) as raised:
        services.store_send_file(session, a_file(range(1, 5)), at=AT)
    assert raised.value.code == "bank_batch_conflict"


def test_relay_sends_prepared_files_once(platform: Platform, tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3", holders=6, strict=True)
    _store(platform, a_file(range(1, 4)), a_file(range(4, 7), batch_no="B2"))
    report = services.relay_send_files(platform.sessions, bank, at=AT)
    assert (report.sent, report.pending, report.queried) == (2, 0, 0)
    assert services.relay_send_files(platform.sessions, bank, at=AT).sent == 0
    assert bank.execution_count() == 6
    with platform.session() as session:
        files = queries.list_bank_files(session, status=BankFileStatus.SENT)
        assert {f.attempts for f in files} == {1}


def test_relay_hands_each_file_it_sent_as_stored(platform: Platform, tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3", holders=6)
    _store(platform, a_file(range(1, 4)), a_file(range(4, 7), batch_no="B2"))
    handed: list[tuple[str, str, bytes]] = []
    report = services.relay_send_files(
        platform.sessions, bank, at=AT, on_sent=lambda *sent: handed.append(sent)
    )
    assert report.sent == 2
    with platform.session() as session:
        stored = [queries.find_send_file(session, "ICBC", number) for number in ("B1", "B2")]
        assert [(b, n, c) for b, n, c in handed] == [
            ("ICBC", f.batch_no, f.content) for f in stored if f is not None
        ]


def test_a_big_file_is_kept_whole_and_compressed_with_lz4_on_postgresql(
    platform: Platform,
) -> None:
    """Migration 0021: the contents of files of many lines are stored compressed with lz4."""
    file = a_file(range(1, 301))
    with platform.session() as session, transaction(session):
        content = services.store_send_file(session, file, at=AT).content
    assert len(content) > 20_000
    with platform.session() as session:
        stored = queries.find_send_file(session, "ICBC", "B1")
        assert stored is not None
        assert stored.content == content
        if platform.engine.dialect.name == "postgresql":
            method = session.scalar(
                text("SELECT pg_column_compression(content) FROM bank_files WHERE id = :id"),
                {"id": stored.id},
            )
            assert method == "lz4"


def test_relay_under_faults_never_executes_a_file_twice(platform: Platform, tmp_path: Path) -> None:
    """RELIABILITY A6 in small: timeouts, refusals and lost answers, then a drain."""
    plan = FaultPlan(seed=11, timeout_rate=0.2, unavailable_rate=0.2, drop_response_rate=0.3)
    bank = a_bank(tmp_path / "bank.sqlite3", holders=40, strict=True, faults=plan)
    files = [a_file(range(n, n + 2), batch_no=f"B{n}") for n in range(1, 40, 2)]
    _store(platform, *files)
    queried = 0
    for _ in range(30):
        report = services.relay_send_files(platform.sessions, bank, at=AT)
        queried += report.queried
        if report.pending == 0 and report.sent == 0:
            break
    bank.set_faults(None)
    services.relay_send_files(platform.sessions, bank, at=AT)
    assert queried > 0
    for file in files:
        for line in file.lines:
            assert bank.executions_of(line.end_to_end_id) == 1
    with platform.session() as session:
        assert queries.list_prepared_file_ids(session) == []


def test_relay_leaves_a_file_prepared_while_the_bank_is_closed(
    platform: Platform, tmp_path: Path
) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3", faults=FaultPlan(seed=1, unavailable_rate=1.0))
    _store(platform, a_file(range(1, 3)))
    report = services.relay_send_files(platform.sessions, bank, at=AT)
    assert (report.sent, report.pending) == (0, 1)
    with platform.session() as session:
        (stored,) = queries.list_bank_files(session)
        assert stored.status is BankFileStatus.PREPARED
        assert stored.last_error is not None
        assert "unavailable" in stored.last_error


def test_file_exchange_end_to_end(platform: Platform, tmp_path: Path) -> None:
    root = tmp_path / "exchange"
    gateway = FileExchangeGateway(root)
    bank = a_bank(tmp_path / "bank.sqlite3", strict=True)
    _store(platform, a_file(range(1, 4)), encoding="utf-8")
    assert services.relay_send_files(platform.sessions, gateway, at=AT).sent == 1
    assert (root / "ICBC" / "outbox" / "ICBC_B1.SND").exists()
    with platform.session() as session:
        assert (
            services.collect_return(session, gateway, bank_code="ICBC", batch_no="B1", at=AT)
            is None
        )
    assert run_sandbox_bank_over_files(bank, root) == 1
    assert run_sandbox_bank_over_files(bank, root) == 0
    assert gateway.batch_received("ICBC", "B1")
    with platform.session() as session, transaction(session):
        answer = services.collect_return(session, gateway, bank_code="ICBC", batch_no="B1", at=AT)
    assert answer is not None
    assert answer.done_count == 3
    result = gateway.query_line("ICBC", "B1-000002")
    assert result is not None
    assert result.status is LineStatus.DONE
    with pytest.raises(BankUnavailable):
        gateway.execute_now("ICBC", Direction.CREDIT, AGENCY, a_line(1))
    with pytest.raises(BankUnavailable):
        gateway.query_line("ICBC", "B9-000001")
    bank.open_account("ICBC", "6222081111111111", "王五", "431102199001011111")
    notice = bank.activate("ICBC", "6222081111111111")
    assert write_activations(bank, root, after_notice_id=0) == 1
    assert gateway.fetch_activations(0) == [notice]
    assert gateway.fetch_activations(1) == []
    assert bank.executions_of("B1-000001") == 1


def test_collect_return_is_idempotent(platform: Platform, tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3")
    _store(platform, a_file(range(1, 4)))
    services.relay_send_files(platform.sessions, bank, at=AT)
    for _ in range(2):
        with platform.session() as session, transaction(session):
            answer = services.collect_return(session, bank, bank_code="ICBC", batch_no="B1", at=AT)
            assert answer is not None
            assert answer.done_amount == 30_000
    with platform.session() as session:
        kept = queries.list_bank_files(session, kind=BankFileKind.RETURN)
        assert [(f.name, f.status) for f in kept] == [("ICBC_B1.RET", BankFileStatus.RECEIVED)]
        with pytest.raises(BankFileNotFound):
            services.collect_return(session, bank, bank_code="ICBC", batch_no="B9", at=AT)


class _ForgedReturns(SandboxBank):
    """A bank whose return files say something other than what was sent."""

    forged: bytes = b""

    def fetch_return(self, bank_code: str, batch_no: str) -> bytes | None:
        return self.forged if (bank_code, batch_no) == ("ICBC", "B1") else None


@pytest.mark.parametrize(
    ("change", "rule", "line"),
    [
        (lambda r: r[:2], "missing_seq", 4),
        (lambda r: (r[0], r[0], r[2]), "duplicate_seq", 3),
        (lambda r: (r[0], dataclasses.replace(r[1], amount_minor=1), r[2]), "amount", 3),
        (
            lambda r: (r[0], r[1], dataclasses.replace(r[2], end_to_end_id="X-1")),
            "end_to_end_id",
            4,
        ),
        (lambda r: (*r, dataclasses.replace(r[2], seq=9)), "unknown_seq", 5),
    ],
)
def test_collect_return_rejects_a_return_that_does_not_answer_the_send_file(
    platform: Platform, tmp_path: Path, change: object, rule: str, line: int
) -> None:
    bank = _ForgedReturns(tmp_path / "bank.sqlite3", clock=lambda: AT)
    bank.open_accounts(("ICBC", *holder(n), True) for n in range(1, 4))
    _store(platform, a_file(range(1, 4)))
    services.relay_send_files(platform.sessions, bank, at=AT)
    real = parse_return_file(SandboxBank.fetch_return(bank, "ICBC", "B1") or b"")
    forged = dataclasses.replace(real, results=tuple(change(real.results)))  # type: ignore[operator]
    bank.forged = render_return_file(forged)
    with platform.session() as session, pytest.raises(BankFileInvalid) as raised:
        services.collect_return(session, bank, bank_code="ICBC", batch_no="B1", at=AT)
    assert (raised.value.rule, raised.value.line_number) == (rule, line)
    with platform.session() as session:
        assert queries.list_bank_files(session, kind=BankFileKind.RETURN) == []


def test_collect_statement_keeps_it_once(platform: Platform, tmp_path: Path) -> None:
    now = [AT]
    bank = SandboxBank(tmp_path / "bank.sqlite3", clock=lambda: now[0])
    bank.open_agency_account("ICBC", AGENCY, "代发专户")
    bank.deposit("ICBC", AGENCY, 500)
    on = AT.date()
    with platform.session() as session:
        assert services.collect_statement(session, bank, bank_code="ICBC", on=on, at=AT) is None
    now[0] = AT + timedelta(days=1)
    for _ in range(2):
        with platform.session() as session, transaction(session):
            statements = services.collect_statement(
                session, bank, bank_code="ICBC", on=on, at=now[0]
            )
            assert statements is not None
            assert statements[0].closing_balance_minor == 500
    with platform.session() as session:
        (kept,) = queries.list_bank_files(session, kind=BankFileKind.STATEMENT)
        assert (kept.name, kept.amount_minor, kept.encoding) == (
            "ICBC_STMT-20261129.txt",
            500,
            "gbk",
        )
