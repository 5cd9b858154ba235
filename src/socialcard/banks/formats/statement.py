"""The daily (T+1) statement of a bank's agency accounts (对账单), docs/banks.md "Statement".

One section per agency account, each framed H … D … T:
    H|SC-STMT-1|bank_code|account_number|date|opening_balance|encoding|account_name
    D|seq|reference|side (D money out, C money in)|amount|booked_at
    T|closing_balance|count
The closing balance must equal the opening balance plus credits minus debits, which is how the
platform checks that it read every entry (DOMAIN §7, reconciliation step 3).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from socialcard.banks.errors import BankFileInvalid
from socialcard.banks.formats.framing import (
    check_field,
    declared_encoding,
    encode_records,
    expect_fields,
    format_date,
    format_timestamp,
    format_yuan,
    parse_count,
    parse_date,
    parse_timestamp,
    parse_yuan,
    split_records,
)

STATEMENT_VERSION = "SC-STMT-1"
REFERENCE = re.compile(r"^[A-Za-z0-9-]{1,40}$")


class EntrySide(StrEnum):
    """Which way an entry moved the statement's account (the account holder's view)."""

    DEBIT = "D"  # money out, e.g. a 代发 batch paid from the agency account
    CREDIT = "C"  # money in, e.g. a 代扣 batch collected or a deposit


@dataclass(frozen=True, slots=True)
class StatementEntry:
    reference: str  # the batch number, the end-to-end id of a real-time instruction, or DEPOSIT-n
    side: EntrySide
    amount_minor: int  # > 0
    booked_at: datetime  # aware UTC


@dataclass(frozen=True, slots=True)
class AccountStatement:
    bank_code: str
    account_number: str
    account_name: str
    on: date  # the business day, Beijing time
    opening_balance_minor: int
    entries: tuple[StatementEntry, ...]

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def closing_balance_minor(self) -> int:
        moved = sum(
            e.amount_minor if e.side is EntrySide.CREDIT else -e.amount_minor for e in self.entries
        )
        return self.opening_balance_minor + moved


def render_statement(statements: Sequence[AccountStatement], *, encoding: str = "gbk") -> bytes:
    """One statement file for a bank's day, a section per agency account."""
    declared = declared_encoding(encoding)
    if not statements:
        raise ValueError("a statement file needs at least one account section")
    records: list[list[str]] = []
    for statement in statements:
        records.append(
            [
                "H",
                STATEMENT_VERSION,
                statement.bank_code,
                check_field("account_number", statement.account_number),
                format_date(statement.on),
                format_yuan(statement.opening_balance_minor),
                declared,
                check_field("account_name", statement.account_name),
            ]
        )
        for seq, entry in enumerate(statement.entries, start=1):
            if not REFERENCE.match(entry.reference):
                raise ValueError(f"field reference is malformed: {entry.reference!r}")
            if entry.amount_minor <= 0:
                raise ValueError(f"field amount_minor of entry {seq} must be positive")
            records.append(
                [
                    "D",
                    str(seq),
                    entry.reference,
                    EntrySide(entry.side).value,
                    format_yuan(entry.amount_minor),
                    format_timestamp(entry.booked_at),
                ]
            )
        records.append(["T", format_yuan(statement.closing_balance_minor), str(statement.count)])
    return encode_records(records, encoding, first_field="statement")


def parse_statement(data: bytes) -> tuple[AccountStatement, ...]:
    """Read a statement file; every section's closing balance and count must add up."""
    records = split_records(data, version=STATEMENT_VERSION, encoding_index=6)
    statements: list[AccountStatement] = []
    index = 0
    while index < len(records):
        header, header_number = records[index], index + 1
        if header[0] != "H" or header[1:2] != [STATEMENT_VERSION]:
            raise BankFileInvalid(
                header_number, "record_type", "应为账户段的文件头（H|SC-STMT-1|…）"
            )
        expect_fields(header, 8, line_number=header_number, kind="文件头")
        if header[6] != records[0][6]:
            raise BankFileInvalid(header_number, "encoding", "同一文件中的编码声明不一致")
        opening = parse_yuan(header[5], line_number=header_number, field="期初余额", signed=True)
        on = parse_date(header[4], line_number=header_number, field="账务日期")
        entries: list[StatementEntry] = []
        index += 1
        while index < len(records) and records[index][0] == "D":
            record, number = records[index], index + 1
            expect_fields(record, 6, line_number=number, kind="明细行")
            if parse_count(record[1], line_number=number, field="序号") != len(entries) + 1:
                raise BankFileInvalid(number, "sequence", f"序号应为 {len(entries) + 1}")
            if not REFERENCE.match(record[2]):
                raise BankFileInvalid(number, "reference", f"业务编号格式错误：{record[2]!r}")
            try:
                side = EntrySide(record[3])
            except ValueError:
                raise BankFileInvalid(
                    number, "side", f"借贷方向应为 D 或 C：{record[3]!r}"
                ) from None
            amount = parse_yuan(record[4], line_number=number, field="金额")
            if amount <= 0:
                raise BankFileInvalid(number, "amount", "金额必须大于零")
            booked_at = parse_timestamp(record[5], line_number=number, field="记账时间")
            entries.append(StatementEntry(record[2], side, amount, booked_at))
            index += 1
        if index >= len(records) or records[index][0] != "T":
            raise BankFileInvalid(index + 1, "trailer", "账户段应以文件尾（T|…）结束")
        trailer, number = records[index], index + 1
        expect_fields(trailer, 3, line_number=number, kind="文件尾")
        statement = AccountStatement(
            bank_code=header[2],
            account_number=header[3],
            account_name=header[7],
            on=on,
            opening_balance_minor=opening,
            entries=tuple(entries),
        )
        closing = parse_yuan(trailer[1], line_number=number, field="期末余额", signed=True)
        if parse_count(trailer[2], line_number=number, field="笔数") != statement.count:
            raise BankFileInvalid(number, "trailer_count", "文件尾笔数与明细不符")
        if closing != statement.closing_balance_minor:
            raise BankFileInvalid(number, "trailer_balance", "期末余额不等于期初余额加减明细")
        statements.append(statement)
        index += 1
    return tuple(statements)
