"""Card tables: one row per physical card from application to its end, the event history of every
card, production batches, number series, and electronic-card tokens already used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.cards.errors import CardTransitionNotAllowed
from socialcard.db import Base, JSONType, UTCDateTime, enum_type


class CardStatus(StrEnum):
    """Where a physical card is in its life. Stored as the lowercase value."""

    APPLIED = "applied"  # application accepted; photo or data still to collect
    DATA_COLLECTED = "data_collected"  # photo and data complete; waiting for a production batch
    IN_PRODUCTION = "in_production"  # sent to the card factory and the partner bank in a batch
    PRODUCED = "produced"  # personalised; at the outlet waiting for the holder
    ISSUED = "issued"  # in the holder's hands; social-security function not activated yet
    ACTIVE = "active"  # activated: usable on every channel
    REPORTED_TEMPORARY = "reported_temporary"  # 临时挂失: refused everywhere; lapses after N days
    REPORTED_FORMAL = "reported_formal"  # 正式挂失 (in person): refused until cancelled or reissued
    REPLACED = "replaced"  # superseded by a reissued or replacement card; dead forever
    CANCELLED = "cancelled"  # death, move away, withdrawn application; dead forever
    PRODUCTION_FAILED = "production_failed"  # the factory or the bank could not make it; dead


CARD_TRANSITIONS: Final[Mapping[CardStatus, frozenset[CardStatus]]] = {
    CardStatus.APPLIED: frozenset({CardStatus.DATA_COLLECTED, CardStatus.CANCELLED}),
    CardStatus.DATA_COLLECTED: frozenset({CardStatus.IN_PRODUCTION, CardStatus.CANCELLED}),
    CardStatus.IN_PRODUCTION: frozenset(
        {CardStatus.PRODUCED, CardStatus.PRODUCTION_FAILED, CardStatus.CANCELLED}
    ),
    CardStatus.PRODUCED: frozenset({CardStatus.ISSUED, CardStatus.CANCELLED}),
    CardStatus.ISSUED: frozenset(
        {
            CardStatus.ACTIVE,
            CardStatus.REPORTED_TEMPORARY,
            CardStatus.REPORTED_FORMAL,
            CardStatus.REPLACED,
            CardStatus.CANCELLED,
        }
    ),
    CardStatus.ACTIVE: frozenset(
        {
            CardStatus.REPORTED_TEMPORARY,
            CardStatus.REPORTED_FORMAL,
            CardStatus.REPLACED,
            CardStatus.CANCELLED,
        }
    ),
    CardStatus.REPORTED_TEMPORARY: frozenset(
        {
            CardStatus.ACTIVE,
            CardStatus.ISSUED,
            CardStatus.REPORTED_FORMAL,
            CardStatus.REPLACED,
            CardStatus.CANCELLED,
        }
    ),
    CardStatus.REPORTED_FORMAL: frozenset(
        {CardStatus.ACTIVE, CardStatus.ISSUED, CardStatus.REPLACED, CardStatus.CANCELLED}
    ),
    CardStatus.REPLACED: frozenset(),
    CardStatus.CANCELLED: frozenset(),
    CardStatus.PRODUCTION_FAILED: frozenset(),
}

# At most one card of a person in each group (partial unique indexes below).
IN_HAND: Final = frozenset(
    {
        CardStatus.ISSUED,
        CardStatus.ACTIVE,
        CardStatus.REPORTED_TEMPORARY,
        CardStatus.REPORTED_FORMAL,
    }
)
IN_PIPELINE: Final = frozenset(
    {
        CardStatus.APPLIED,
        CardStatus.DATA_COLLECTED,
        CardStatus.IN_PRODUCTION,
        CardStatus.PRODUCED,
    }
)
DEAD: Final = frozenset({CardStatus.REPLACED, CardStatus.CANCELLED, CardStatus.PRODUCTION_FAILED})
REPORTED: Final = frozenset({CardStatus.REPORTED_TEMPORARY, CardStatus.REPORTED_FORMAL})


# The partner banks of the financial card (DOMAIN §2.8: Hunan's cooperating banks; which of them
# serve Yongzhou is UNCERTAIN, so the list is data the city confirms).
PARTNER_BANKS = {
    "ICBC": "中国工商银行",
    "ABC": "中国农业银行",
    "BOC": "中国银行",
    "CCB": "中国建设银行",
    "PSBC": "中国邮政储蓄银行",
    "HNRCU": "湖南省农村信用社",
    "BOHN": "湖南银行",
}


def _in(statuses: frozenset[CardStatus]) -> str:
    return "status IN (" + ", ".join(f"'{s.value}'" for s in sorted(statuses)) + ")"


class ApplicationReason(StrEnum):
    """Why a card was applied for."""

    FIRST = "first"  # the person's first card
    REISSUE = "reissue"  # 补卡: the previous card was lost
    DAMAGE = "damage"  # 换卡: damaged
    EXPIRY = "expiry"  # 换卡: expired or about to
    NEW_GENERATION = "new_generation"  # 换卡: to a third-generation card
    AFTER_FAILURE = "after_failure"  # the previous production failed


class Card(Base):
    """A physical social security card. The bank account number is never stored in clear."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    card_number: Mapped[str] = mapped_column(String(9), unique=True)
    # 卡识别码: issuing region + D156 + serial, known once the factory has written the chip.
    card_uid: Mapped[str | None] = mapped_column(String(32), unique=True)
    generation: Mapped[int] = mapped_column(Integer)
    spec_version: Mapped[str] = mapped_column(String(8))
    issuing_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    bank_code: Mapped[str] = mapped_column(String(10))
    bank_account_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    bank_account_masked: Mapped[str | None] = mapped_column(String(32))
    # Keyed HMAC-SM3 of the account number: finds the card of a bank's activation notice.
    bank_account_index: Mapped[str | None] = mapped_column(String(64), index=True)
    bank_account_activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    atr: Mapped[str | None] = mapped_column(String(64))
    box_location: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[CardStatus] = mapped_column(enum_type(CardStatus, "card_status", length=24))
    reason: Mapped[ApplicationReason] = mapped_column(
        enum_type(ApplicationReason, "application_reason", length=20)
    )
    replaces_card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    application_channel: Mapped[str] = mapped_column(String(20))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    photo_collected: Mapped[bool] = mapped_column(Boolean, default=False)
    production_batch_id: Mapped[int | None] = mapped_column(ForeignKey("production_batches.id"))
    produced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)  # None: long-term (3rd generation)
    issued_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))
    # HMAC-SM3 of card number and PIN under the index key: never the PIN, never a plain hash.
    pin_hash: Mapped[str] = mapped_column(String(64))
    pin_is_initial: Mapped[bool] = mapped_column(Boolean, default=True)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index(
            "ux_cards_one_in_hand",
            "person_id",
            unique=True,
            sqlite_where=text(_in(IN_HAND)),
            postgresql_where=text(_in(IN_HAND)),
        ),
        Index(
            "ux_cards_one_in_pipeline",
            "person_id",
            unique=True,
            sqlite_where=text(_in(IN_PIPELINE)),
            postgresql_where=text(_in(IN_PIPELINE)),
        ),
        # A holder's cards by person: the partial indexes above serve only a query that spells
        # their predicate out as literals, which bound parameters are not (migration 0019).
        Index("ix_cards_person", "person_id", "id"),
        Index("ix_cards_status_bank", "status", "bank_code"),
        Index("ix_cards_issuing_region", "issuing_region_code", "status"),
    )
    # Optimistic check as a backstop to the holder lock: an UPDATE of a card someone else changed
    # since we read it fails instead of overwriting.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def is_usable(self) -> bool:
        return self.status is CardStatus.ACTIVE

    @property
    def is_pin_locked(self) -> bool:
        return self.pin_locked_at is not None

    def move_to(self, target: CardStatus) -> None:
        """The one place a card's status changes."""
        if target not in CARD_TRANSITIONS[self.status]:
            raise CardTransitionNotAllowed(self.card_number, self.status.value, target.value)
        self.status = target


class CardEventKind(StrEnum):
    """What happened to a card."""

    APPLIED = "applied"
    DATA_COLLECTED = "data_collected"
    SENT_TO_PRODUCTION = "sent_to_production"
    PRODUCED = "produced"
    PRODUCTION_FAILED = "production_failed"
    ISSUED = "issued"
    ACTIVATED = "activated"
    LOSS_REPORTED_TEMPORARY = "loss_reported_temporary"
    LOSS_REPORTED_FORMAL = "loss_reported_formal"
    LOSS_REPORT_CANCELLED = "loss_report_cancelled"
    LOSS_REPORT_LAPSED = "loss_report_lapsed"
    REPLACED = "replaced"  # on the old card, naming the new one
    CANCELLED = "cancelled"
    PIN_CHANGED = "pin_changed"
    PIN_FAILED = "pin_failed"
    PIN_LOCKED = "pin_locked"
    PIN_RESET = "pin_reset"
    BANK_ACCOUNT_ACTIVATED = "bank_account_activated"


class CardEvent(Base):
    """Every event of every card: who, where, when, through which channel. Append-only."""

    __tablename__ = "card_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[CardEventKind] = mapped_column(
        enum_type(CardEventKind, "card_event_kind", length=30)
    )
    status_after: Mapped[CardStatus] = mapped_column(
        enum_type(CardStatus, "card_event_status", length=24)
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(Integer)
    terminal_code: Mapped[str | None] = mapped_column(String(40))
    region_code: Mapped[str | None] = mapped_column(String(6))
    note: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, object]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_card_events_card", "card_id", "id"),)


class CardNumberSeries(Base):
    """The next card number to hand out in a series (docs/cards.md, "Card numbers")."""

    __tablename__ = "card_number_series"

    letter: Mapped[str] = mapped_column(String(1), primary_key=True)
    next_serial: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class BatchStatus(StrEnum):
    """A production batch's progress."""

    SENT = "sent"  # the send file went to the card factory and the bank
    RETURNED = "returned"  # the return file was applied: every card produced or failed


BATCH_TRANSITIONS: Final[Mapping[BatchStatus, frozenset[BatchStatus]]] = {
    BatchStatus.SENT: frozenset({BatchStatus.RETURNED}),
    BatchStatus.RETURNED: frozenset(),
}


class ProductionBatch(Base):
    """Cards sent together to the card factory and one partner bank."""

    __tablename__ = "production_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(30), unique=True)
    bank_code: Mapped[str] = mapped_column(String(10))
    status: Mapped[BatchStatus] = mapped_column(enum_type(BatchStatus, "batch_status", length=20))
    card_count: Mapped[int] = mapped_column(Integer)
    produced_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    file_encoding: Mapped[str] = mapped_column(String(8), default="gbk")
    send_file_sm3: Mapped[str] = mapped_column(String(64))
    return_file_sm3: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(Integer)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def move_to(self, target: BatchStatus) -> None:
        if target not in BATCH_TRANSITIONS[self.status]:
            raise CardTransitionNotAllowed(self.batch_no, self.status.value, target.value)
        self.status = target


class UsedEcardToken(Base):
    """An electronic-card token already redeemed for a payment use (single use)."""

    __tablename__ = "used_ecard_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardAreaRecord(Base):
    """One record of an on-card data area (DF01–DF04): what the platform says the card should
    hold (`expected_value`, set when a terminal asks for the write's MAC) and what a terminal
    confirmed it wrote (`written_value`)."""

    __tablename__ = "card_area_records"

    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), primary_key=True)
    area: Mapped[str] = mapped_column(String(4), primary_key=True)
    file_id: Mapped[str] = mapped_column(String(4), primary_key=True)
    record_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    expected_value: Mapped[str] = mapped_column(String(512))  # hex
    written_value: Mapped[str | None] = mapped_column(String(512))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    written_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminal_code: Mapped[str | None] = mapped_column(String(40))


class BankNoticeCursor(Base):
    """How far the platform has read a bank feed (activation notices): the last notice applied.
    Notices are idempotent, so a feed read twice changes nothing."""

    __tablename__ = "bank_notice_cursors"

    feed: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_notice_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
