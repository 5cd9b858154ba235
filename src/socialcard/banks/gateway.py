"""The bank gateway port and the values that cross it. One gateway object serves every partner
bank; the bank is named on each call. Adapters: banks.sandbox (simulator) and banks.file_exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol


class Direction(StrEnum):
    """Which way money moves between the holder's account and the agency's account."""

    CREDIT = "credit"  # 代发: pay into the holder's account
    DEBIT = "debit"  # 代扣: collect from the holder's account


@dataclass(frozen=True, slots=True)
class InstructionLine:
    seq: int  # 1..n within the file
    end_to_end_id: str  # deterministic, ASCII [A-Z0-9-], at most 32 characters, unique forever
    resident_id: str  # 社会保障号码: plaintext exists only inside the file
    name: str
    account_number: str
    amount_minor: int  # fen, > 0
    memo: str  # at most 30 characters


@dataclass(frozen=True, slots=True)
class InstructionFile:
    batch_no: str  # unique per bank forever; a re-issue always gets a new batch number
    bank_code: str  # a partner bank: ICBC ABC BOC CCB PSBC HNRCU BOHN
    direction: Direction
    agency_account: str  # the paying agency's account (credit) or collecting account (debit)
    purpose: str  # e.g. 耕地地力保护补贴
    period: str  # e.g. "2026", "2026-11" or ""
    created_at: datetime  # aware UTC
    lines: tuple[InstructionLine, ...]

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


class LineStatus(StrEnum):
    """What the bank did with one instruction line."""

    DONE = "done"  # paid (credit) or collected (debit)
    FAILED = "failed"  # refused; reason_code says why, nothing moved


@dataclass(frozen=True, slots=True)
class LineResult:
    seq: int
    end_to_end_id: str
    amount_minor: int
    status: LineStatus
    reason_code: str | None  # from banks.reasons when FAILED
    reason_text: str | None  # Chinese text as the bank writes it


@dataclass(frozen=True, slots=True)
class ReturnFile:
    batch_no: str
    bank_code: str
    processed_at: datetime  # aware UTC
    results: tuple[LineResult, ...]

    @property
    def done_count(self) -> int:
        return sum(1 for r in self.results if r.status is LineStatus.DONE)

    @property
    def done_amount(self) -> int:
        return sum(r.amount_minor for r in self.results if r.status is LineStatus.DONE)

    @property
    def failed_count(self) -> int:
        return sum(1 for r in self.results if r.status is LineStatus.FAILED)

    @property
    def failed_amount(self) -> int:
        return sum(r.amount_minor for r in self.results if r.status is LineStatus.FAILED)


@dataclass(frozen=True, slots=True)
class ActivationNotice:
    """A branch activated a card's bank account (DOMAIN §2.8); notice ids only grow."""

    notice_id: int
    bank_code: str
    account_number: str
    activated_at: datetime


class BankTimeout(Exception):
    """No answer: the outcome is UNKNOWN. Ask the bank (a status query) before any resend."""


class BankUnavailable(Exception):
    """The bank refused before doing anything (5xx, closed): nothing happened, retry later."""


class BankGateway(Protocol):
    def submit_file(self, bank_code: str, name: str, data: bytes) -> None:
        """Hand a send file to the bank."""
        ...

    def fetch_return(self, bank_code: str, batch_no: str) -> bytes | None:
        """The return file of a batch, or None while it is not ready."""
        ...

    def batch_received(self, bank_code: str, batch_no: str) -> bool:
        """Status query: has the bank received this batch?"""
        ...

    def execute_now(
        self, bank_code: str, direction: Direction, agency_account: str, line: InstructionLine
    ) -> LineResult:
        """A real-time single debit or credit (collections)."""
        ...

    def query_line(self, bank_code: str, end_to_end_id: str) -> LineResult | None:
        """Status query of one instruction; None means the bank never executed it."""
        ...

    def fetch_statement(self, bank_code: str, on: date) -> bytes | None:
        """The daily statement of the agency accounts at a bank, or None while not ready."""
        ...

    def fetch_activations(self, after_notice_id: int) -> list[ActivationNotice]:
        """Activation notices newer than the given id, oldest first (a page; call again)."""
        ...
