"""Catalogue tables: items, openings (history), card uses (append-only)."""

from __future__ import annotations

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.db import Base, JSONType, UTCDateTime, enum_type, statement_checked_key


class UsageKind(StrEnum):
    """How the card is used for an item (the catalogue's five kinds)."""

    CREDENTIAL = "credential"  # 电子凭证: the card proves who you are at a counter or terminal
    RECORD = "record"  # 信息记录: the card's data areas carry a record
    QUERY = "query"  # 自助查询: self-service query and printing
    SETTLEMENT = "settlement"  # 就医结算服务: medical settlement
    MONEY = "money"  # 缴费和待遇领取: payments and benefit receipts through the bank account


USAGE_KIND_LABELS: Final = {
    UsageKind.CREDENTIAL: "电子凭证",
    UsageKind.RECORD: "信息记录",
    UsageKind.QUERY: "自助查询",
    UsageKind.SETTLEMENT: "就医结算服务",
    UsageKind.MONEY: "缴费和待遇领取",
}


class CatalogItem(Base):
    """One item of a catalogue version, as the plan's appendix lists it."""

    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_version: Mapped[str] = mapped_column(String(40))
    item_no: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(60))
    usage_kind: Mapped[UsageKind] = mapped_column(enum_type(UsageKind, "usage_kind", length=20))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    responsible_units: Mapped[list[str]] = mapped_column(JSONType)
    planned_completion: Mapped[str] = mapped_column(String(60))
    planned_from_on: Mapped[date | None] = mapped_column(Date)
    planned_to_on: Mapped[date | None] = mapped_column(Date)
    by_ministry_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("catalog_version", "item_no", name="uq_catalog_items_version_item"),
    )


class OpeningStatus(StrEnum):
    """Whether an item is available in a region from a date on."""

    OPENED = "opened"  # 开通: residents of the region can use the item with their card
    SUSPENDED = "suspended"  # 暂停: temporarily unavailable (outage, policy pause)
    CLOSED = "closed"  # 关闭: withdrawn; may be opened again later


# No row yet means "not opened". Any status may follow any other; a repeat is refused.
OPENING_TRANSITIONS: Final = {
    None: frozenset({OpeningStatus.OPENED}),
    OpeningStatus.OPENED: frozenset({OpeningStatus.SUSPENDED, OpeningStatus.CLOSED}),
    OpeningStatus.SUSPENDED: frozenset({OpeningStatus.OPENED, OpeningStatus.CLOSED}),
    OpeningStatus.CLOSED: frozenset({OpeningStatus.OPENED}),
}


class ItemOpening(Base):
    """One change of an item's status in one region, effective from a date. Append-only: the
    status on a date is the latest change effective on or before it."""

    __tablename__ = "item_openings"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_no: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    status: Mapped[OpeningStatus] = mapped_column(
        enum_type(OpeningStatus, "opening_status", length=20)
    )
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_item_openings_item_region", "item_no", "region_code", "effective_on"),
    )


class Channel(StrEnum):
    """Where the card was presented."""

    COUNTER = "counter"  # 窗口
    KIOSK = "kiosk"  # 自助服务一体机
    WEB = "web"  # 网站
    MOBILE = "mobile"  # 手机
    BANK = "bank"  # 银行网点或渠道
    HOSPITAL = "hospital"  # 定点医疗机构
    PHARMACY = "pharmacy"  # 定点零售药店


class UseOutcome(StrEnum):
    """How a presentation of the card ended."""

    SUCCESS = "success"  # the business effect happened
    REFUSED = "refused"  # the card, the item or the holder was refused; refusal_code says why


class CardUse(Base):
    """One use of the card for one catalogue item. Append-only; written in the same transaction
    as the business effect it records."""

    __tablename__ = "card_uses"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    item_no: Mapped[int] = mapped_column(Integer)
    # Checked per statement on PostgreSQL: a return file writes a million uses at once.
    person_id: Mapped[int] = mapped_column(statement_checked_key("persons.id"))
    card_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel", length=20))
    terminal_code: Mapped[str | None] = mapped_column(String(40))
    county_code: Mapped[str | None] = mapped_column(statement_checked_key("regions.code"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[UseOutcome] = mapped_column(enum_type(UseOutcome, "use_outcome", length=20))
    refusal_code: Mapped[str | None] = mapped_column(String(60))
    details: Mapped[dict[str, object]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        Index("ix_card_uses_person", "person_id", "id"),
        Index("ix_card_uses_item_time", "item_no", "used_at"),
    )


USER_TALLY_SHARDS: Final = 8


class ItemYearUser(Base):
    """A holder who used an item successfully in a calendar year (Asia/Shanghai), with the day of
    the first such use: the membership behind the distinct-user tallies (decision 0008)."""

    __tablename__ = "item_year_users"

    item_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    first_used_on: Mapped[date] = mapped_column(Date)


class ItemUserTally(Base):
    """How many holders made their first successful use of an item in the year on a day. Split in
    shards (person id modulo USER_TALLY_SHARDS) so that concurrent first uses of a popular item do
    not queue on one row. Users of an item from 1 January to D = the sum of the year's rows up to
    D."""

    __tablename__ = "item_user_tallies"

    item_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_used_on: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    users: Mapped[int] = mapped_column(Integer)
