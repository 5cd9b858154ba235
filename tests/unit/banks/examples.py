"""The example values behind the golden files in tests/data/banks (also in docs/banks.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from socialcard.banks.formats.statement import AccountStatement, EntrySide, StatementEntry
from socialcard.banks.gateway import (
    Direction,
    InstructionFile,
    InstructionLine,
    LineResult,
    LineStatus,
    ReturnFile,
)

SEND = InstructionFile(
    batch_no="DF2026110001",
    bank_code="ICBC",
    direction=Direction.CREDIT,
    agency_account="4301000100000001",
    purpose="耕地地力保护补贴",
    period="2026",
    created_at=datetime(2026, 11, 29, 2, 0, 0, tzinfo=UTC),
    lines=(
        InstructionLine(
            1, "DF2026110001-000001", "431102199001011234", "张三", "6222080000000001", 12345,
            "2026年耕地地力保护补贴",
        ),
        InstructionLine(
            2, "DF2026110001-000002", "43112219850505002X", "欧阳丽华", "6222080000000002",
            100, "",
        ),
        InstructionLine(
            3, "DF2026110001-000003", "431103200001010011", "李四", "6222080000000003",
            9876543, "补发",
        ),
    ),
)  # fmt: skip

RETURN = ReturnFile(
    batch_no="DF2026110001",
    bank_code="ICBC",
    processed_at=datetime(2026, 11, 29, 8, 30, 15, tzinfo=UTC),
    results=(
        LineResult(1, "DF2026110001-000001", 12345, LineStatus.DONE, None, None),
        LineResult(2, "DF2026110001-000002", 100, LineStatus.FAILED, "not_activated", "账户未激活"),
        LineResult(3, "DF2026110001-000003", 9876543, LineStatus.DONE, None, None),
    ),
)

STATEMENT = (
    AccountStatement(
        bank_code="ICBC",
        account_number="4301000100000001",
        account_name="永州市财政局代发专户",
        on=date(2026, 11, 29),
        opening_balance_minor=100_000_000,
        entries=(
            StatementEntry("DF2026110001", EntrySide.DEBIT, 9888888, RETURN.processed_at),
            StatementEntry(
                "DEPOSIT-7", EntrySide.CREDIT, 5_000_000, datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
            ),
        ),
    ),
)  # fmt: skip
