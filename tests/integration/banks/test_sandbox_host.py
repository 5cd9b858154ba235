"""The sandbox bank in a process of its own (banks.sandbox_host): the same bank behind every
gateway call, its errors brought back as they were raised, one connection per calling thread,
and no process left behind — not after close, not after the platform's process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.formats.batch_file import parse_return_file, render_send_file
from socialcard.banks.gateway import Direction, LineStatus
from socialcard.banks.sandbox import SandboxBank
from socialcard.banks.sandbox_host import HostedSandboxBank, SandboxHostError
from tests.integration.banks.builders import AGENCY, a_bank, a_file, a_line, holder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: gone for every purpose here.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_a_file_sent_to_the_hosted_bank_is_executed_by_the_bank_on_its_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bank.sqlite3"
    local = a_bank(path)  # accounts opened here are the hosted bank's accounts
    with HostedSandboxBank(path) as hosted:
        assert hosted.process_id != os.getpid()
        hosted.submit_file("ICBC", "ICBC_B1.SND", render_send_file(a_file(range(1, 4))))
        answer = parse_return_file(hosted.fetch_return("ICBC", "B1") or b"")
        assert (answer.done_count, answer.done_amount) == (3, 30_000)
        assert hosted.batch_received("ICBC", "B1")
        assert not hosted.batch_received("ICBC", "B2")
        assert hosted.fetch_return("ICBC", "B2") is None
        # Non-strict: a batch number it knows is ignored.
        hosted.submit_file("ICBC", "ICBC_B1.SND", render_send_file(a_file(range(1, 4))))
        now = hosted.execute_now("ICBC", Direction.CREDIT, AGENCY, a_line(4, batch="RT"))
        assert now.status is LineStatus.DONE
        assert hosted.query_line("ICBC", "RT-000004") == now
        assert hosted.fetch_activations(0) == []
    assert local.balance("ICBC", holder(1)[0]) == 10_000
    assert local.balance("ICBC", holder(4)[0]) == 10_000
    assert local.executions_of("B1-000001") == 1


def test_a_strict_hosted_bank_executes_a_batch_every_time_it_comes(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    local = a_bank(path)
    data = render_send_file(a_file(range(1, 3)))
    with HostedSandboxBank(path, strict=True) as hosted:
        hosted.submit_file("ICBC", "x", data)
        hosted.submit_file("ICBC", "x", data)
    assert local.executions_of("B1-000001") == 2


def test_the_banks_refusal_comes_back_as_raised(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    local = a_bank(path)
    data = render_send_file(a_file(range(1, 3))).replace(b"T|2|200.00", b"T|2|300.00")
    with HostedSandboxBank(path) as hosted:
        with pytest.raises(BankFileInvalid) as refused:
            hosted.submit_file("ICBC", "x", data)
        with pytest.raises(BankFileInvalid, match="银行代码"):
            hosted.submit_file("ABC", "x", render_send_file(a_file(range(1, 3))))
    with pytest.raises(BankFileInvalid) as direct:
        local.submit_file("ICBC", "x", data)
    assert (refused.value.rule, refused.value.line_number, refused.value.message) == (
        direct.value.rule,
        direct.value.line_number,
        direct.value.message,
    )
    assert local.execution_count() == 0


def test_threads_calling_at_once_each_get_their_own_answers(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    bank = SandboxBank(path)
    bank.open_accounts(("ICBC", *holder(n), True) for n in range(1, 81))
    answers: dict[str, bytes | None] = {}
    errors: list[BaseException] = []
    with HostedSandboxBank(path) as hosted:

        def send(number: int) -> None:
            try:
                batch_no = f"T{number}"
                start = number * 20 + 1
                hosted.submit_file(
                    "ICBC",
                    batch_no,
                    render_send_file(a_file(range(start, start + 20), batch_no=batch_no)),
                )
                answers[batch_no] = hosted.fetch_return("ICBC", batch_no)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    for batch_no, data in answers.items():
        answer = parse_return_file(data or b"")
        assert (answer.batch_no, answer.done_count) == (batch_no, 20)
    assert len(answers) == 4


def test_the_bank_ends_with_close_and_a_call_after_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    a_bank(path)
    hosted = HostedSandboxBank(path)
    pid = hosted.process_id
    assert _alive(pid)
    hosted.close()
    assert not _alive(pid)
    with pytest.raises(SandboxHostError):
        hosted.fetch_return("ICBC", "B1")


def test_the_bank_ends_when_the_platform_is_killed(tmp_path: Path) -> None:
    """A platform killed with SIGKILL leaves no bank process behind (it would hold the bank's
    file and a socket for ever)."""
    path = tmp_path / "bank.sqlite3"
    a_bank(path)
    platform = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from socialcard.banks.sandbox_host import HostedSandboxBank;"
            f"bank = HostedSandboxBank(Path({str(path)!r}));"
            "print(bank.process_id, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert platform.stdout is not None
    pid = int(platform.stdout.readline())
    assert _alive(pid)
    platform.send_signal(signal.SIGKILL)
    platform.wait()
    platform.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
