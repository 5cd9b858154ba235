"""The sandbox bank in a process of its own, as a partner bank's system is another machine: every
gateway call crosses a local socket to it. The bank's parsing, checking and booking of a
million-line file then runs on its own core while the platform applies the returns it already
has (W3, decision 0017); in one process they would take turns on the interpreter lock.

The child process owns a plain SandboxBank on the same SQLite file, so accounts opened or
changed through a SandboxBank in this process are the ones the hosted bank sees. Each calling
thread gets its own connection, served by its own thread in the child: a relay sending a file
does not hold up a thread fetching another bank's return. Not for production, like the sandbox.
"""

from __future__ import annotations

import os
import pickle
import secrets
import subprocess
import sys
import tempfile
import threading
from datetime import date
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from socialcard.banks.gateway import ActivationNotice, Direction, InstructionLine, LineResult

# The calls a hosted bank answers: the gateway port, nothing else.
_GATEWAY_CALLS = frozenset(
    {
        "submit_file",
        "fetch_return",
        "batch_received",
        "execute_now",
        "query_line",
        "fetch_statement",
        "fetch_activations",
    }
)


class SandboxHostError(RuntimeError):
    """The hosted bank's process is gone or answered something that is not an answer."""


def _portable(error: Exception) -> Exception:
    """The error itself when it survives the trip to the caller, else its text."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return SandboxHostError(f"{type(error).__name__}: {error}")
    return error


def _serve_connection(bank: Any, connection: Connection) -> None:
    with connection:
        while True:
            try:
                call, arguments = connection.recv()
            except EOFError:
                return
            try:
                if call not in _GATEWAY_CALLS:
                    raise SandboxHostError(f"not a gateway call: {call}")
                answer: tuple[str, object] = ("ok", getattr(bank, call)(*arguments))
            except Exception as error:  # the caller gets the bank's own exception back
                answer = ("error", _portable(error))
            connection.send(answer)


def _serve(path: Path, strict: bool, address: str, authkey: bytes) -> None:
    from socialcard.banks.sandbox import SandboxBank

    bank = SandboxBank(path, strict=strict)
    with Listener(address, family="AF_UNIX", authkey=authkey) as listener:
        sys.stdout.write("ready\n")  # the parent waits for this line
        sys.stdout.flush()
        while True:
            connection = listener.accept()
            threading.Thread(target=_serve_connection, args=(bank, connection), daemon=True).start()


def _exit_at_end_of_input() -> None:
    sys.stdin.read()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """The child: `python -m socialcard.banks.sandbox_host PATH ADDRESS [--strict]`, with the
    connection key as hexadecimal on its standard input."""
    arguments = sys.argv[1:] if argv is None else argv
    authkey = bytes.fromhex(sys.stdin.readline().strip())
    # The parent holds the other end of standard input: its end of file (a close, or the
    # parent's death, even by SIGKILL) ends the bank, so no orphan outlives the platform.
    threading.Thread(target=_exit_at_end_of_input, daemon=True).start()
    _serve(Path(arguments[0]), "--strict" in arguments[2:], arguments[1], authkey)


class HostedSandboxBank:
    """A BankGateway whose bank runs in a child process (see the module's text). Use as a context
    manager, or call close(); the child ends with this process, however it ends."""

    def __init__(self, path: Path, *, strict: bool = False, start_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self._folder = tempfile.TemporaryDirectory(prefix="sandbox-bank-")
        self._address = str(Path(self._folder.name) / "bank.sock")
        self._authkey = secrets.token_bytes(32)
        command = [sys.executable, "-m", __name__, str(self.path), self._address]
        if strict:
            command.append("--strict")
        # A process of its own (not a fork of this one, which may hold sockets and threads).
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(self._authkey.hex() + "\n")
        self._process.stdin.flush()  # kept open: the bank ends when it is closed
        ready = threading.Timer(start_seconds, self._process.kill)
        ready.start()
        try:
            line = self._process.stdout.readline()
        finally:
            ready.cancel()
        if line.strip() != "ready":
            self._process.kill()
            self._process.wait()
            self._folder.cleanup()
            raise SandboxHostError("the sandbox bank's process did not start")
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = Client(self._address, family="AF_UNIX", authkey=self._authkey)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @property
    def process_id(self) -> int:
        return self._process.pid

    def _call(self, call: str, *arguments: object) -> Any:
        try:
            connection = self._connection()
            connection.send((call, arguments))
            status, value = connection.recv()
        except (EOFError, OSError) as error:
            raise SandboxHostError(f"the sandbox bank's process is gone: {error!r}") from error
        if status == "error":
            raise value
        return value

    # -- the gateway ---------------------------------------------------------------------------

    def submit_file(self, bank_code: str, name: str, data: bytes) -> None:
        self._call("submit_file", bank_code, name, data)

    def fetch_return(self, bank_code: str, batch_no: str) -> bytes | None:
        answer: bytes | None = self._call("fetch_return", bank_code, batch_no)
        return answer

    def batch_received(self, bank_code: str, batch_no: str) -> bool:
        return bool(self._call("batch_received", bank_code, batch_no))

    def execute_now(
        self, bank_code: str, direction: Direction, agency_account: str, line: InstructionLine
    ) -> LineResult:
        result: LineResult = self._call("execute_now", bank_code, direction, agency_account, line)
        return result

    def query_line(self, bank_code: str, end_to_end_id: str) -> LineResult | None:
        result: LineResult | None = self._call("query_line", bank_code, end_to_end_id)
        return result

    def fetch_statement(self, bank_code: str, on: date) -> bytes | None:
        answer: bytes | None = self._call("fetch_statement", bank_code, on)
        return answer

    def fetch_activations(self, after_notice_id: int) -> list[ActivationNotice]:
        notices: list[ActivationNotice] = self._call("fetch_activations", after_notice_id)
        return notices

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._folder.cleanup()

    def __enter__(self) -> HostedSandboxBank:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


if __name__ == "__main__":
    main()
