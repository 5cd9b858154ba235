"""The sandbox bank: a real simulator of the partner banks, persistent in its own SQLite file.

It is another institution's system, so it keeps its own schema through the stdlib sqlite3 module
rather than the platform's models and migrations. Several processes may share the file (WAL,
busy_timeout, BEGIN IMMEDIATE for every write); a process killed mid-call leaves either the whole
batch executed or none of it. Not for production: it moves no real money.

Non-strict (default) it behaves like a bank: a batch number it has received is ignored when it
comes again, and a real-time instruction whose end-to-end id it executed answers with the earlier
result. Strict, it deduplicates nothing and counts every execution, which is what lets a test
prove the platform never sends anything twice (RELIABILITY A5, A6).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from socialcard.banks import reasons
from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.faults import Fault, FaultPlan
from socialcard.banks.formats.batch_file import (
    ResultRow,
    SendRow,
    parse_send_rows,
    render_return_rows,
    send_file_encoding,
    validate_line,
)
from socialcard.banks.formats.statement import (
    AccountStatement,
    EntrySide,
    StatementEntry,
    render_statement,
)
from socialcard.banks.gateway import (
    ActivationNotice,
    BankTimeout,
    BankUnavailable,
    Direction,
    InstructionLine,
    LineResult,
    LineStatus,
)
from socialcard.banks.sandbox_accounts import (
    AGENCY,
    HOLDER,
    SCHEMA,
    AccountState,
    HeldAccount,
    refusal,
)
from socialcard.kernel.clock import SHANGHAI

ACTIVATION_PAGE = 10_000
_SCAN_ABOVE = 20_000
_DONE, _FAILED = LineStatus.DONE.value, LineStatus.FAILED.value
_IN_CHUNK = 900  # stays under SQLite's default limit of bound parameters per statement


class SandboxAccountError(Exception):
    """A bank-side operation names an account that is missing or already exists."""


@dataclass(frozen=True, slots=True)
class SandboxAccount:
    bank_code: str
    account_number: str
    name: str
    resident_id: str
    kind: str
    state: AccountState
    activated: bool
    balance_minor: int


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _from_iso(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


class SandboxBank:
    """Every partner bank in one SQLite file (bank_code on each call); implements BankGateway."""

    def __init__(
        self,
        path: Path,
        *,
        faults: FaultPlan | None = None,
        strict: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = Path(path)
        self.strict = strict
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dice = faults.dice() if faults is not None else None
        self._local = threading.local()

    def faults_dealt(self) -> dict[Fault, int]:
        """How many of each fault this bank object has dealt since its faults were set."""
        return {} if self._dice is None else dict(self._dice.dealt)

    def set_faults(self, faults: FaultPlan | None) -> None:
        """Change the faults (None: a healthy bank), e.g. to drain a backlog after a chaos run."""
        self._dice = faults.dice() if faults is not None else None

    # -- storage -------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        # One connection per process and thread: a connection must not cross a fork.
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        connection.execute("PRAGMA busy_timeout=30000")
        for attempt in range(50):
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.05)
        # NORMAL survives a killed process in WAL mode; only a power cut may lose the last commit.
        connection.execute("PRAGMA synchronous=NORMAL")
        # A city-wide batch touches a million account rows: keep them in memory while it runs.
        connection.execute("PRAGMA cache_size=-262144")
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        self._local.held = (os.getpid(), connection)
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            held[1].close()
        self._local.held = None

    def _fault(self, *allowed: Fault) -> Fault | None:
        if self._dice is None:
            return None
        if self._dice.plan.slow_seconds:
            time.sleep(self._dice.plan.slow_seconds)
        fault = self._dice.roll(*allowed)
        if fault is Fault.UNAVAILABLE:
            raise BankUnavailable("sandbox bank: service unavailable (503)")
        if fault is Fault.TIMEOUT:
            raise BankTimeout("sandbox bank: no answer")
        return fault

    # -- bank-side operations ------------------------------------------------------------------

    def open_account(
        self,
        bank_code: str,
        account_number: str,
        name: str,
        resident_id: str,
        *,
        activated: bool = False,
    ) -> None:
        """Open a cardholder's account (the card's financial account, DOMAIN §2.8)."""
        self._insert_accounts([(bank_code, account_number, name, resident_id, activated)], HOLDER)

    def open_accounts(self, rows: Iterable[tuple[str, str, str, str, bool]]) -> int:
        """Open many holder accounts in one transaction: (bank, account, name, id, activated)."""
        return self._insert_accounts(rows, HOLDER)

    def open_agency_account(self, bank_code: str, account_number: str, name: str) -> None:
        """Open an agency's settlement account (paying or collecting)."""
        self._insert_accounts([(bank_code, account_number, name, "", True)], AGENCY)

    def _insert_accounts(self, rows: Iterable[tuple[str, str, str, str, bool]], kind: str) -> int:
        def values() -> Iterator[tuple[str, str, str, str, str, str, int]]:
            for bank_code, account_number, name, resident_id, activated in rows:
                yield (
                    bank_code,
                    account_number,
                    name,
                    resident_id,
                    kind,
                    AccountState.NORMAL.value,
                    int(activated),
                )

        try:
            with self._write() as connection:
                cursor = connection.executemany(
                    "INSERT INTO accounts (bank_code, account_number, name, resident_id, kind,"
                    " state, activated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    values(),
                )
                return cursor.rowcount
        except sqlite3.IntegrityError as error:
            raise SandboxAccountError(f"an account number is already open: {error}") from None

    def account(self, bank_code: str, account_number: str) -> SandboxAccount:
        row = (
            self._connection()
            .execute(
                "SELECT name, resident_id, kind, state, activated, balance FROM accounts"
                " WHERE bank_code = ? AND account_number = ?",
                (bank_code, account_number),
            )
            .fetchone()
        )
        if row is None:
            raise SandboxAccountError(f"no account {account_number} at {bank_code}")
        name, resident_id, kind, state, activated, balance = row
        return SandboxAccount(
            bank_code, account_number, name, resident_id, kind, AccountState(state),
            bool(activated), balance,
        )  # fmt: skip

    def activate(self, bank_code: str, account_number: str) -> ActivationNotice | None:
        """Branch activation: the holder came in with ID and card; notifies the platform.
        An account that is already active gets no second notice."""
        at = self._clock()
        with self._write() as connection:
            row = connection.execute(
                "SELECT activated FROM accounts WHERE bank_code = ? AND account_number = ?",
                (bank_code, account_number),
            ).fetchone()
            if row is None:
                raise SandboxAccountError(f"no account {account_number} at {bank_code}")
            if row[0]:
                return None
            connection.execute(
                "UPDATE accounts SET activated = 1 WHERE bank_code = ? AND account_number = ?",
                (bank_code, account_number),
            )
            cursor = connection.execute(
                "INSERT INTO activations (bank_code, account_number, activated_at)"
                " VALUES (?, ?, ?)",
                (bank_code, account_number, _iso(at)),
            )
            assert cursor.lastrowid is not None
            return ActivationNotice(cursor.lastrowid, bank_code, account_number, at)

    def set_state(self, bank_code: str, account_number: str, state: AccountState | str) -> None:
        """Close, freeze, report lost, mark dormant, or return an account to normal."""
        target = AccountState(state)
        with self._write() as connection:
            cursor = connection.execute(
                "UPDATE accounts SET state = ? WHERE bank_code = ? AND account_number = ?",
                (target.value, bank_code, account_number),
            )
            if cursor.rowcount == 0:
                raise SandboxAccountError(f"no account {account_number} at {bank_code}")

    def balance(self, bank_code: str, account_number: str) -> int:
        return self.account(bank_code, account_number).balance_minor

    def deposit(self, bank_code: str, account_number: str, amount_minor: int) -> None:
        """Cash in at the counter: funds an agency account or a holder's account (for debits)."""
        if amount_minor <= 0:
            raise ValueError("a deposit must be positive")
        at = self._clock()
        with self._write() as connection:
            row = connection.execute(
                "SELECT kind FROM accounts WHERE bank_code = ? AND account_number = ?",
                (bank_code, account_number),
            ).fetchone()
            if row is None:
                raise SandboxAccountError(f"no account {account_number} at {bank_code}")
            connection.execute(
                "UPDATE accounts SET balance = balance + ?"
                " WHERE bank_code = ? AND account_number = ?",
                (amount_minor, bank_code, account_number),
            )
            if row[0] == AGENCY:
                count = connection.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
                self._book(
                    connection, bank_code, account_number, f"DEPOSIT-{count + 1}",
                    EntrySide.CREDIT, amount_minor, at,
                )  # fmt: skip

    def executions_of(self, end_to_end_id: str) -> int:
        """How many times the bank executed this instruction (tests: must never exceed 1)."""
        row = (
            self._connection()
            .execute("SELECT COUNT(*) FROM executions WHERE end_to_end_id = ?", (end_to_end_id,))
            .fetchone()
        )
        return int(row[0])

    def execution_count(self) -> int:
        row = self._connection().execute("SELECT COUNT(*) FROM executions").fetchone()
        return int(row[0])

    # -- the gateway ---------------------------------------------------------------------------

    def submit_file(self, bank_code: str, name: str, data: bytes) -> None:
        """Receive and process a send file at once; a known batch number is ignored (non-strict)."""
        fault = self._fault(Fault.UNAVAILABLE, Fault.TIMEOUT, Fault.DROP_RESPONSE)
        file, rows = parse_send_rows(data)
        if file.bank_code != bank_code:
            raise BankFileInvalid(
                1, "bank_code", f"文件头银行代码 {file.bank_code} 不是 {bank_code}"
            )
        at = self._clock()
        with self._write() as connection:
            known = connection.execute(
                "SELECT 1 FROM batches WHERE bank_code = ? AND batch_no = ?",
                (bank_code, file.batch_no),
            ).fetchone()
            if known is None or self.strict:
                results = self._execute(
                    connection, bank_code, file.direction, file.agency_account, rows,
                    file.batch_no, at,
                )  # fmt: skip
                answer = render_return_rows(
                    file.batch_no, bank_code, at, results, encoding=send_file_encoding(data)
                )
                connection.execute(
                    "INSERT INTO batches (bank_code, batch_no, name, direction, line_count,"
                    " received_at, return_file) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (bank_code, file.batch_no, name, file.direction.value, len(rows), _iso(at),
                     answer),
                )  # fmt: skip
        if fault is Fault.DROP_RESPONSE:
            raise BankTimeout("sandbox bank: the answer was lost after the file was processed")

    def fetch_return(self, bank_code: str, batch_no: str) -> bytes | None:
        # A keyed pull: a duplicate delivery is the same bytes again, which is what the caller
        # must tolerate anyway.
        fault = self._fault(Fault.UNAVAILABLE, Fault.TIMEOUT, Fault.DROP_RESPONSE)
        row = (
            self._connection()
            .execute(
                "SELECT return_file FROM batches WHERE bank_code = ? AND batch_no = ?"
                " ORDER BY id DESC LIMIT 1",
                (bank_code, batch_no),
            )
            .fetchone()
        )
        if fault is Fault.DROP_RESPONSE:
            raise BankTimeout("sandbox bank: the return file was lost on the way")
        return None if row is None else bytes(row[0])

    def batch_received(self, bank_code: str, batch_no: str) -> bool:
        row = (
            self._connection()
            .execute(
                "SELECT 1 FROM batches WHERE bank_code = ? AND batch_no = ?", (bank_code, batch_no)
            )
            .fetchone()
        )
        return row is not None

    def execute_now(
        self, bank_code: str, direction: Direction, agency_account: str, line: InstructionLine
    ) -> LineResult:
        """One real-time debit or credit; an end-to-end id already executed answers with the
        earlier result (non-strict)."""
        fault = self._fault(Fault.UNAVAILABLE, Fault.TIMEOUT, Fault.DROP_RESPONSE)
        validate_line(line)
        at = self._clock()
        row: SendRow = (
            line.seq, line.end_to_end_id, line.resident_id, line.name, line.account_number,
            line.amount_minor, line.memo,
        )  # fmt: skip
        with self._write() as connection:
            earlier = None if self.strict else self._latest(connection, bank_code, row[1])
            if earlier is None:
                executed = self._execute(
                    connection, bank_code, Direction(direction), agency_account, [row], None, at
                )
                result = _line_result(executed[0])
            else:
                result = earlier
        if fault is Fault.DROP_RESPONSE:
            raise BankTimeout("sandbox bank: the answer was lost after the instruction executed")
        return result

    def query_line(self, bank_code: str, end_to_end_id: str) -> LineResult | None:
        return self._latest(self._connection(), bank_code, end_to_end_id)

    def fetch_statement(self, bank_code: str, on: date) -> bytes | None:
        """The T+1 statement of the bank's agency accounts: None until the day is over in Beijing
        or when the bank keeps no agency account."""
        if self._clock().astimezone(SHANGHAI).date() <= on:
            return None
        connection = self._connection()
        accounts = connection.execute(
            "SELECT account_number, name FROM accounts WHERE bank_code = ? AND kind = ?"
            " ORDER BY account_number",
            (bank_code, AGENCY),
        ).fetchall()
        if not accounts:
            return None
        day = on.isoformat()
        statements = []
        for account_number, name in accounts:
            opening = connection.execute(
                "SELECT COALESCE(SUM(CASE side WHEN 'C' THEN amount ELSE -amount END), 0)"
                " FROM entries WHERE bank_code = ? AND account_number = ? AND booked_on < ?",
                (bank_code, account_number, day),
            ).fetchone()[0]
            rows = connection.execute(
                "SELECT reference, side, amount, booked_at FROM entries"
                " WHERE bank_code = ? AND account_number = ? AND booked_on = ? ORDER BY id",
                (bank_code, account_number, day),
            ).fetchall()
            entries = tuple(
                StatementEntry(reference, EntrySide(side), amount, _from_iso(booked_at))
                for reference, side, amount, booked_at in rows
            )
            statements.append(
                AccountStatement(bank_code, account_number, name, on, opening, entries)
            )
        return render_statement(statements)

    def fetch_activations(self, after_notice_id: int) -> list[ActivationNotice]:
        """Notices after the given id, oldest first, at most ACTIVATION_PAGE; call until empty."""
        fault = self._fault(Fault.DUPLICATE_DELIVERY)
        first = after_notice_id if fault is Fault.DUPLICATE_DELIVERY else after_notice_id + 1
        rows = (
            self._connection()
            .execute(
                "SELECT notice_id, bank_code, account_number, activated_at FROM activations"
                " WHERE notice_id >= ? ORDER BY notice_id LIMIT ?",
                (first, ACTIVATION_PAGE),
            )
            .fetchall()
        )
        return [ActivationNotice(n, b, a, _from_iso(at)) for n, b, a, at in rows]

    # -- execution -----------------------------------------------------------------------------

    def _latest(
        self, connection: sqlite3.Connection, bank_code: str, end_to_end_id: str
    ) -> LineResult | None:
        row = connection.execute(
            "SELECT seq, amount, status, reason_code, reason_text FROM executions"
            " WHERE end_to_end_id = ? AND bank_code = ? ORDER BY id DESC LIMIT 1",
            (end_to_end_id, bank_code),
        ).fetchone()
        if row is None:
            return None
        seq, amount, status, reason_code, reason_text = row
        return LineResult(seq, end_to_end_id, amount, LineStatus(status), reason_code, reason_text)

    def _execute(
        self,
        connection: sqlite3.Connection,
        bank_code: str,
        direction: Direction,
        agency_account: str,
        rows: Sequence[SendRow],
        batch_no: str | None,
        at: datetime,
    ) -> list[ResultRow]:
        """Check and post every line inside the caller's write transaction: the accounts are read
        once into memory (the lock is held, nothing else changes them) and written back once."""
        held = self._load(connection, bank_code, {row[4] for row in rows})
        if agency_account not in held:
            held[agency_account] = self._open_agency(connection, bank_code, agency_account)
        balances: dict[str, int] = {}
        results: list[ResultRow] = []
        append = results.append
        moved = 0
        sign = 1 if direction is Direction.CREDIT else -1
        debit = direction is Direction.DEBIT
        for seq, end_to_end_id, resident_id, name, number, amount, _memo in rows:
            account = held.get(number)
            balance = balances.get(number, account[5]) if account is not None else 0
            reason = refusal(account, balance, name, resident_id, amount, debit=debit)
            if reason is None:
                balances[number] = balance + sign * amount
                moved += amount
                append((seq, end_to_end_id, amount, None, None))
            else:
                append((seq, end_to_end_id, amount, reason, reasons.describe(reason)))
        if moved:
            side = EntrySide.DEBIT if direction is Direction.CREDIT else EntrySide.CREDIT
            balances[agency_account] = balances.get(agency_account, held[agency_account][5])
            balances[agency_account] -= sign * moved
            reference = batch_no or rows[0][1]
            self._book(connection, bank_code, agency_account, reference, side, moved, at)
        connection.executemany(
            "UPDATE accounts SET balance = ? WHERE bank_code = ? AND account_number = ?",
            ((balance, bank_code, number) for number, balance in balances.items()),
        )
        executed_at = _iso(at)
        connection.executemany(
            "INSERT INTO executions (bank_code, end_to_end_id, batch_no, seq, amount, status,"
            " reason_code, reason_text, executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (bank_code, end_to_end_id, batch_no, seq, amount,
                 _DONE if code is None else _FAILED, code, text, executed_at)
                for seq, end_to_end_id, amount, code, text in results
            ),
        )  # fmt: skip
        return results

    def _load(
        self, connection: sqlite3.Connection, bank_code: str, numbers: set[str]
    ) -> dict[str, HeldAccount]:
        """The accounts a batch names, keyed by account number."""
        columns = "account_number, name, resident_id, kind, state, activated, balance"
        if len(numbers) > _SCAN_ABOVE:
            # A city-wide batch names most of the bank's accounts: one scan beats many lookups.
            rows = connection.execute(
                f"SELECT {columns} FROM accounts WHERE bank_code = ?", (bank_code,)
            )
            return {row[0]: row[1:] for row in rows if row[0] in numbers}
        held: dict[str, HeldAccount] = {}
        ordered = sorted(numbers)
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = connection.execute(
                f"SELECT {columns} FROM accounts"
                f" WHERE bank_code = ? AND account_number IN ({marks})",
                (bank_code, *chunk),
            )
            held.update((row[0], row[1:]) for row in rows)
        return held

    def _open_agency(
        self, connection: sqlite3.Connection, bank_code: str, account_number: str
    ) -> HeldAccount:
        # The sandbox opens an agency account on its first instruction, so a demo or a test
        # needs no bank-side set-up before it pays; a real bank would have one by agreement.
        name = f"代理账户{account_number}"
        connection.execute(
            "INSERT OR IGNORE INTO accounts (bank_code, account_number, name, resident_id, kind,"
            " state, activated) VALUES (?, ?, ?, '', ?, ?, 1)",
            (bank_code, account_number, name, AGENCY, AccountState.NORMAL.value),
        )
        return self._load(connection, bank_code, {account_number})[account_number]

    def _book(
        self,
        connection: sqlite3.Connection,
        bank_code: str,
        account_number: str,
        reference: str,
        side: EntrySide,
        amount_minor: int,
        at: datetime,
    ) -> None:
        connection.execute(
            "INSERT INTO entries (bank_code, account_number, reference, side, amount, booked_at,"
            " booked_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                bank_code, account_number, reference, side.value, amount_minor, _iso(at),
                at.astimezone(SHANGHAI).date().isoformat(),
            ),
        )  # fmt: skip


def _line_result(row: ResultRow) -> LineResult:
    seq, end_to_end_id, amount, code, text = row
    status = LineStatus.DONE if code is None else LineStatus.FAILED
    return LineResult(seq, end_to_end_id, amount, status, code, text)
