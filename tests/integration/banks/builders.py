"""Builders for bank tests: instruction files and a sandbox bank with a few holders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from socialcard.banks.gateway import Direction, InstructionFile, InstructionLine
from socialcard.banks.sandbox import SandboxBank

AT = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
AGENCY = "4301000100000001"


def holder(n: int) -> tuple[str, str, str]:
    """(account, name, resident id) of sandbox holder n."""
    return f"62220800{n:08d}", f"持卡人{n}", f"43110219900101{n:04d}"


def a_line(
    n: int, *, seq: int | None = None, amount_minor: int = 10_000, batch: str = "B1"
) -> InstructionLine:
    account, name, resident_id = holder(n)
    return InstructionLine(
        seq or n, f"{batch}-{n:06d}", resident_id, name, account, amount_minor, "补贴"
    )


def a_file(
    holders: range | list[int],
    *,
    batch_no: str = "B1",
    bank_code: str = "ICBC",
    direction: Direction = Direction.CREDIT,
) -> InstructionFile:
    lines = tuple(a_line(n, seq=seq, batch=batch_no) for seq, n in enumerate(holders, start=1))
    return InstructionFile(
        batch_no, bank_code, direction, AGENCY, "耕地地力保护补贴", "2026", AT, lines
    )


def a_bank(path: Path, holders: int = 5, **options: object) -> SandboxBank:
    bank = SandboxBank(path, clock=lambda: AT, **options)  # type: ignore[arg-type]
    bank.open_accounts(("ICBC", *holder(n), True) for n in range(1, holders + 1))
    return bank
