"""The platform's record of its bank files: the outbox of send files, and the return files and
statements received, each kept byte for byte as audit evidence (DOMAIN §7, step 6)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.banks.errors import BankFileTransitionNotAllowed
from socialcard.banks.gateway import Direction
from socialcard.db import Base, UTCDateTime, enum_type


class BankFileKind(StrEnum):
    """Which exchange file a row holds."""

    SEND = "send"  # 送盘: instructions the platform sends
    RETURN = "return"  # 回盘: the bank's answer to a send file
    STATEMENT = "statement"  # 对账单: the bank's daily statement of the agency accounts


class BankFileStatus(StrEnum):
    """Where a file is in the exchange."""

    PREPARED = "prepared"  # stored, not yet known to be at the bank (the outbox)
    SENT = "sent"  # the bank took it, or said so when asked; never sent again
    RECEIVED = "received"  # a file that came from the bank (return, statement)


BANK_FILE_TRANSITIONS: Final[Mapping[BankFileStatus, frozenset[BankFileStatus]]] = {
    BankFileStatus.PREPARED: frozenset({BankFileStatus.SENT}),
    BankFileStatus.SENT: frozenset(),
    BankFileStatus.RECEIVED: frozenset(),
}


class BankFile(Base):
    __tablename__ = "bank_files"
    __table_args__ = (UniqueConstraint("bank_code", "batch_no", "kind"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    bank_code: Mapped[str] = mapped_column(String(10), index=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    batch_no: Mapped[str] = mapped_column(String(40))
    kind: Mapped[BankFileKind] = mapped_column(enum_type(BankFileKind, "bank_file_kind", length=10))
    direction: Mapped[Direction | None] = mapped_column(
        enum_type(Direction, "bank_direction", length=10)
    )
    encoding: Mapped[str] = mapped_column(String(10))
    # A city-wide file is megabytes: loaded when read, not with every look at a file's status
    # (a batch run looks at each of its files many times).
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))  # SM3 in hex, the house digest
    line_count: Mapped[int]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[BankFileStatus] = mapped_column(
        enum_type(BankFileStatus, "bank_file_status", length=10), index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def mark_sent(self, *, at: datetime) -> None:
        self._move_to(BankFileStatus.SENT)
        self.sent_at = at
        self.last_error = None

    def _move_to(self, target: BankFileStatus) -> None:
        if target not in BANK_FILE_TRANSITIONS[self.status]:
            raise BankFileTransitionNotAllowed(self.name, self.status.value, target.value)
        self.status = target
