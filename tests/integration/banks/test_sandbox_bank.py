"""The sandbox bank behaves like a partner bank: checks, refusals with reasons, deduplication
(unless strict), faults, activations and statements."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from socialcard.banks import reasons
from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.faults import FaultPlan
from socialcard.banks.formats.batch_file import parse_return_file, render_send_file
from socialcard.banks.formats.statement import EntrySide, parse_statement
from socialcard.banks.gateway import BankTimeout, BankUnavailable, Direction, LineStatus
from socialcard.banks.sandbox import SandboxBank
from tests.integration.banks.builders import AGENCY, AT, a_bank, a_file, a_line, holder


def test_credit_file_pays_holders_and_debits_the_agency_account(tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3")
    bank.submit_file("ICBC", "ICBC_B1.SND", render_send_file(a_file(range(1, 4))))
    answer = parse_return_file(bank.fetch_return("ICBC", "B1") or b"")
    assert (answer.done_count, answer.done_amount, answer.failed_count) == (3, 30_000, 0)
    assert bank.balance("ICBC", holder(1)[0]) == 10_000
    assert bank.balance("ICBC", AGENCY) == -30_000
    assert bank.batch_received("ICBC", "B1")
    assert not bank.batch_received("ICBC", "B2")
    assert bank.fetch_return("ICBC", "B2") is None


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("closed", reasons.ACCOUNT_CLOSED),
        ("frozen", reasons.ACCOUNT_FROZEN),
        ("lost", reasons.ACCOUNT_LOST),
        ("dormant", reasons.DORMANT),
        ("normal", reasons.NO_SUCH_ACCOUNT),
        ("normal", reasons.NOT_ACTIVATED),
        ("normal", reasons.NAME_MISMATCH),
        ("normal", reasons.ID_MISMATCH),
    ],
)
def test_each_refusal_reason(tmp_path: Path, state: str, reason: str) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3")
    bank.open_account("ICBC", "6222089999999999", "未激活", "431102199001019999")
    bank.set_state("ICBC", holder(1)[0], state)
    line = a_line(1, seq=1)
    if reason == reasons.NO_SUCH_ACCOUNT:
        line = dataclasses.replace(line, account_number="6222080000009999")
    elif reason == reasons.NOT_ACTIVATED:
        line = dataclasses.replace(
            line, account_number="6222089999999999", name="未激活", resident_id="431102199001019999"
        )
    elif reason == reasons.NAME_MISMATCH:
        line = dataclasses.replace(line, name="别人")
    elif reason == reasons.ID_MISMATCH:
        line = dataclasses.replace(line, resident_id="431102199001019998")
    file = dataclasses.replace(a_file([1]), lines=(line,))
    bank.submit_file("ICBC", "x", render_send_file(file))
    (result,) = parse_return_file(bank.fetch_return("ICBC", "B1") or b"").results
    assert (result.status, result.reason_code) == (LineStatus.FAILED, reason)
    assert result.reason_text == reasons.describe(reason)
    assert bank.balance("ICBC", AGENCY) == 0


def test_debit_collects_until_funds_run_out(tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3")
    bank.deposit("ICBC", holder(1)[0], 15_000)
    file = a_file([1, 1], direction=Direction.DEBIT)
    file = dataclasses.replace(
        file, lines=(file.lines[0], dataclasses.replace(file.lines[1], end_to_end_id="B1-X"))
    )
    bank.submit_file("ICBC", "x", render_send_file(file))
    first, second = parse_return_file(bank.fetch_return("ICBC", "B1") or b"").results
    assert first.status is LineStatus.DONE
    assert second.reason_code == reasons.INSUFFICIENT_FUNDS
    assert bank.balance("ICBC", holder(1)[0]) == 5_000
    assert bank.balance("ICBC", AGENCY) == 10_000


def test_a_known_batch_number_is_ignored_unless_strict(tmp_path: Path) -> None:
    data = render_send_file(a_file(range(1, 3)))
    bank = a_bank(tmp_path / "bank.sqlite3")
    bank.submit_file("ICBC", "x", data)
    bank.submit_file("ICBC", "x", data)
    assert bank.executions_of("B1-000001") == 1
    assert bank.execution_count() == 2
    strict = SandboxBank(tmp_path / "bank.sqlite3", strict=True, clock=lambda: AT)
    strict.submit_file("ICBC", "x", data)
    assert strict.executions_of("B1-000001") == 2
    assert strict.balance("ICBC", holder(1)[0]) == 20_000


def test_an_invalid_file_executes_nothing(tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3")
    data = render_send_file(a_file(range(1, 3))).replace(b"T|2|200.00", b"T|2|300.00")
    with pytest.raises(BankFileInvalid):
        bank.submit_file("ICBC", "x", data)
    with pytest.raises(BankFileInvalid, match="银行代码"):
        bank.submit_file("ABC", "x", render_send_file(a_file(range(1, 3))))
    assert bank.execution_count() == 0
    assert not bank.batch_received("ICBC", "B1")


def test_dropped_response_executes_but_raises(tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3", faults=FaultPlan(seed=1, drop_response_rate=1.0))
    with pytest.raises(BankTimeout):
        bank.submit_file("ICBC", "x", render_send_file(a_file(range(1, 3))))
    assert bank.batch_received("ICBC", "B1")
    assert bank.executions_of("B1-000001") == 1
    with pytest.raises(BankTimeout):
        bank.execute_now("ICBC", Direction.CREDIT, AGENCY, a_line(3, batch="RT"))
    result = bank.query_line("ICBC", "RT-000003")
    assert result is not None
    assert result.status is LineStatus.DONE


def test_timeout_and_unavailable_do_nothing(tmp_path: Path) -> None:
    data = render_send_file(a_file(range(1, 3)))
    for plan, error in (
        (FaultPlan(seed=1, timeout_rate=1.0), BankTimeout),
        (FaultPlan(seed=1, unavailable_rate=1.0), BankUnavailable),
    ):
        bank = a_bank(tmp_path / f"{error.__name__}.sqlite3", faults=plan)
        with pytest.raises(error):
            bank.submit_file("ICBC", "x", data)
        with pytest.raises(error):
            bank.execute_now("ICBC", Direction.CREDIT, AGENCY, a_line(1))
        with pytest.raises(error):
            bank.fetch_return("ICBC", "B1")
        assert bank.execution_count() == 0
        bank.set_faults(None)
        bank.submit_file("ICBC", "x", data)
        assert bank.execution_count() == 2


def test_execute_now_answers_a_repeated_end_to_end_id_with_the_earlier_result(
    tmp_path: Path,
) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3")
    line = a_line(1, batch="RT")
    first = bank.execute_now("ICBC", Direction.CREDIT, AGENCY, line)
    again = bank.execute_now("ICBC", Direction.CREDIT, AGENCY, line)
    assert first == again
    assert first.status is LineStatus.DONE
    assert bank.executions_of(line.end_to_end_id) == 1
    assert bank.balance("ICBC", holder(1)[0]) == 10_000
    assert bank.query_line("ICBC", "RT-999999") is None
    strict = SandboxBank(tmp_path / "bank.sqlite3", strict=True)
    strict.execute_now("ICBC", Direction.CREDIT, AGENCY, line)
    assert strict.executions_of(line.end_to_end_id) == 2


def test_branch_activation_notifies_once(tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3")
    bank.open_account("ICBC", "6222081111111111", "王五", "431102199001011111")
    bank.open_account("BOC", "6216611111111111", "王五", "431102199001011111")
    first = bank.activate("ICBC", "6222081111111111")
    assert first is not None
    assert bank.activate("ICBC", "6222081111111111") is None
    second = bank.activate("BOC", "6216611111111111")
    assert second is not None
    assert bank.fetch_activations(0) == [first, second]
    assert bank.fetch_activations(first.notice_id) == [second]
    assert bank.fetch_activations(second.notice_id) == []


def test_duplicate_delivery_repeats_the_last_seen_notice(tmp_path: Path) -> None:
    bank = a_bank(tmp_path / "bank.sqlite3", faults=FaultPlan(seed=3, duplicate_delivery_rate=1.0))
    bank.open_account("ICBC", "6222081111111111", "王五", "431102199001011111")
    notice = bank.activate("ICBC", "6222081111111111")
    assert notice is not None
    assert bank.fetch_activations(notice.notice_id) == [notice]


def test_statement_is_available_the_next_day_and_adds_up(tmp_path: Path) -> None:
    now = [AT]
    bank = SandboxBank(tmp_path / "bank.sqlite3", clock=lambda: now[0])
    bank.open_accounts(("ICBC", *holder(n), True) for n in range(1, 4))
    bank.open_agency_account("ICBC", AGENCY, "永州市财政局代发专户")
    bank.deposit("ICBC", AGENCY, 1_000_000)
    bank.submit_file("ICBC", "x", render_send_file(a_file(range(1, 4))))
    bank.execute_now("ICBC", Direction.CREDIT, AGENCY, a_line(1, batch="RT"))
    today = date(2026, 11, 29)
    assert bank.fetch_statement("ICBC", today) is None
    now[0] = AT + timedelta(days=1)
    (statement,) = parse_statement(bank.fetch_statement("ICBC", today) or b"")
    assert statement.opening_balance_minor == 0
    assert [(e.reference, e.side, e.amount_minor) for e in statement.entries] == [
        ("DEPOSIT-1", EntrySide.CREDIT, 1_000_000),
        ("B1", EntrySide.DEBIT, 30_000),
        ("RT-000001", EntrySide.DEBIT, 10_000),
    ]
    assert statement.closing_balance_minor == bank.balance("ICBC", AGENCY) == 960_000
    (next_day,) = parse_statement(bank.fetch_statement("ICBC", today + timedelta(days=-1)) or b"")
    assert next_day.entries == ()
    assert bank.fetch_statement("ABC", today) is None
