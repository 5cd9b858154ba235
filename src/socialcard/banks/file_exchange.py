"""The file-exchange adapter: the partner banks' SFTP drop folders, mounted as directories.

    root/<bank>/outbox/<name>                send files, written atomically for the bank to take
    root/<bank>/inbox/<batch_no>.ACK         the bank's receipt of a batch
    root/<bank>/inbox/<batch_no>.RET         the return file
    root/<bank>/inbox/STMT-<YYYYMMDD>.txt    the daily statement
    root/<bank>/inbox/ACT-*.txt              activation notices, one per line:
                                             notice_id|bank_code|account_number|YYYYMMDDHHMMSS

run_sandbox_bank_over_files plays the bank's side with the sandbox bank, so the file path is
tested end to end without mocks.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from socialcard.banks.formats.batch_file import parse_return_file, parse_send_file
from socialcard.banks.formats.framing import SEPARATOR, format_timestamp, parse_timestamp
from socialcard.banks.gateway import (
    ActivationNotice,
    BankUnavailable,
    Direction,
    InstructionLine,
    LineResult,
)
from socialcard.banks.sandbox import SandboxBank

REAL_TIME_REFUSED = "real-time instructions are not offered by file exchange"


def write_atomically(path: Path, data: bytes) -> None:
    """Write, fsync, rename: a reader sees the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def render_activation_line(notice: ActivationNotice) -> str:
    return SEPARATOR.join(
        [
            str(notice.notice_id),
            notice.bank_code,
            notice.account_number,
            format_timestamp(notice.activated_at),
        ]
    )


class FileExchangeGateway:
    """BankGateway over exchange folders; one root serves every partner bank."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _inbox(self, bank_code: str) -> Path:
        return self.root / bank_code / "inbox"

    def submit_file(self, bank_code: str, name: str, data: bytes) -> None:
        if "/" in name or name.startswith("."):
            raise ValueError(f"not a plain file name: {name!r}")
        try:
            write_atomically(self.root / bank_code / "outbox" / name, data)
        except OSError as error:
            # Nothing reached the bank's folder (the rename is the only visible step).
            raise BankUnavailable(
                f"exchange folder of {bank_code} not writable: {error}"
            ) from error

    def fetch_return(self, bank_code: str, batch_no: str) -> bytes | None:
        path = self._inbox(bank_code) / f"{batch_no}.RET"
        return path.read_bytes() if path.exists() else None

    def batch_received(self, bank_code: str, batch_no: str) -> bool:
        inbox = self._inbox(bank_code)
        return (inbox / f"{batch_no}.ACK").exists() or (inbox / f"{batch_no}.RET").exists()

    def execute_now(
        self,
        bank_code: str,  # noqa: ARG002
        direction: Direction,  # noqa: ARG002
        agency_account: str,  # noqa: ARG002
        line: InstructionLine,  # noqa: ARG002
    ) -> LineResult:
        raise BankUnavailable(REAL_TIME_REFUSED)

    def query_line(self, bank_code: str, end_to_end_id: str) -> LineResult | None:
        """The line's result from a return file that holds it. Otherwise file exchange cannot
        say (the line may sit in a file the bank has not answered): BankUnavailable, never None,
        because None would claim the bank never executed it."""
        inbox = self._inbox(bank_code)
        for path in sorted(inbox.glob("*.RET")) if inbox.is_dir() else []:
            for result in parse_return_file(path.read_bytes()).results:
                if result.end_to_end_id == end_to_end_id:
                    return result
        raise BankUnavailable(REAL_TIME_REFUSED)

    def fetch_statement(self, bank_code: str, on: date) -> bytes | None:
        path = self._inbox(bank_code) / f"STMT-{on:%Y%m%d}.txt"
        return path.read_bytes() if path.exists() else None

    def fetch_activations(self, after_notice_id: int) -> list[ActivationNotice]:
        notices: dict[int, ActivationNotice] = {}
        if not self.root.is_dir():
            return []
        for path in sorted(self.root.glob("*/inbox/ACT-*.txt")):
            for number, line in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
                if not line.strip():
                    continue
                fields = line.split(SEPARATOR)
                if len(fields) != 4 or not fields[0].isdigit():
                    raise ValueError(f"{path.name} line {number}: not an activation notice")
                notice_id = int(fields[0])
                if notice_id > after_notice_id:
                    at = parse_timestamp(fields[3], line_number=number, field="激活时间")
                    notices[notice_id] = ActivationNotice(notice_id, fields[1], fields[2], at)
        return [notices[key] for key in sorted(notices)]


def run_sandbox_bank_over_files(bank: SandboxBank, root: Path) -> int:
    """Play the banks' side once: take every outbox file, process it at the sandbox bank, write
    the ACK and the return file into the inbox. Returns the number of files taken."""
    taken = 0
    for outbox in sorted(Path(root).glob("*/outbox")):
        bank_code = outbox.parent.name
        inbox = outbox.parent / "inbox"
        for path in sorted(
            p for p in outbox.iterdir() if p.is_file() and not p.name.startswith(".")
        ):
            data = path.read_bytes()
            batch_no = parse_send_file(data).batch_no
            bank.submit_file(bank_code, path.name, data)
            write_atomically(inbox / f"{batch_no}.ACK", f"{batch_no}\r\n".encode("ascii"))
            answer = bank.fetch_return(bank_code, batch_no)
            if answer is not None:
                write_atomically(inbox / f"{batch_no}.RET", answer)
            path.unlink()
            taken += 1
    return taken


def write_activations(bank: SandboxBank, root: Path, *, after_notice_id: int) -> int:
    """Write the sandbox bank's activation notices into the banks' inboxes; returns the last id."""
    last = after_notice_id
    by_bank: dict[str, list[str]] = {}
    for notice in bank.fetch_activations(after_notice_id):
        by_bank.setdefault(notice.bank_code, []).append(render_activation_line(notice))
        last = max(last, notice.notice_id)
    for bank_code, lines in by_bank.items():
        path = Path(root) / bank_code / "inbox" / f"ACT-{last:012d}.txt"
        write_atomically(path, ("\r\n".join(lines) + "\r\n").encode("ascii"))
    return last
