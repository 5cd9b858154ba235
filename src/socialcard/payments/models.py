"""Payment tables: fee schedules (what a department charges), payment orders (one collection from
one holder's card account) and refunds (the money credited back).

An order's end-to-end id is written before the bank is called (the outbox rule), so whatever
happens after, the bank can be asked about exactly that instruction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.db import Base, UTCDateTime, enum_type
from socialcard.payments.errors import OrderTransitionNotAllowed, RefundTransitionNotAllowed

_ID = BigInteger().with_variant(Integer, "sqlite")


class FeeSchedule(Base):
    """A fee a department collects through the card (one of the catalogue's collection items)."""

    __tablename__ = "fee_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # "skill_appraisal"; account segment
    name: Mapped[str] = mapped_column(String(100))
    item_no: Mapped[int] = mapped_column(Integer)
    department_code: Mapped[str] = mapped_column(String(30))
    unit_name: Mapped[str] = mapped_column(String(60))  # the collecting unit, e.g. 市人事考试院
    # A fixed fee in fen; None when every order carries its own amount (tuition notices).
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Shipped examples until the department loads its own schedule; screens say so.
    is_example: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_from: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("amount_minor IS NULL OR amount_minor > 0", name="amount_positive"),
    )


class OrderStatus(StrEnum):
    """Where a payment order is. Stored as the lowercase value."""

    CREATED = "created"  # raised; waiting for the holder to pay with the card
    DEBITING = "debiting"  # money reserved, end-to-end id stored; the bank is being asked to debit
    PAID = "paid"  # the bank collected; the reservation is posted; terminal unless refunded
    FAILED = "failed"  # the bank refused or never executed; the reservation is released
    UNKNOWN = "unknown"  # no answer from the bank; settle_unknown_orders asks it what happened
    REFUNDED = "refunded"  # paid, then credited back in full; the collection is reversed


ORDER_TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = {
    OrderStatus.CREATED: frozenset({OrderStatus.DEBITING}),
    OrderStatus.DEBITING: frozenset({OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.UNKNOWN}),
    OrderStatus.UNKNOWN: frozenset({OrderStatus.PAID, OrderStatus.FAILED}),
    OrderStatus.PAID: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.FAILED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}

# Statuses whose debit the bank may have executed: the order's money is not settled yet.
OPEN_DEBIT: Final = frozenset({OrderStatus.DEBITING, OrderStatus.UNKNOWN})


class PaymentOrder(Base):
    __tablename__ = "payment_orders"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(20), unique=True)  # JF2026112900001
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("fee_schedules.id"))
    item_no: Mapped[int] = mapped_column(Integer)
    department_code: Mapped[str] = mapped_column(String(30))
    purpose: Mapped[str] = mapped_column(String(60))  # shown to the holder and on the receipt
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    income_account: Mapped[str] = mapped_column(String(120))  # ledger code credited
    reference: Mapped[str] = mapped_column(String(80))  # the caller's business object
    # Who raised it and under which key: the same (caller, key) never makes a second order.
    caller: Mapped[str] = mapped_column(String(60))
    idempotency_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[OrderStatus] = mapped_column(enum_type(OrderStatus, "order_status", length=12))
    # The debit: which card account, through which channel, under which end-to-end id.
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    bank_code: Mapped[str | None] = mapped_column(String(10))
    bank_account_masked: Mapped[str | None] = mapped_column(String(32))
    end_to_end_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    terminal_code: Mapped[str | None] = mapped_column(String(40))
    county_code: Mapped[str | None] = mapped_column(String(12))
    bank_reason_code: Mapped[str | None] = mapped_column(String(40))
    bank_reason_text: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    debit_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # paid or failed
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("caller", "idempotency_key", name="uq_payment_orders_caller_key"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_payment_orders_person", "person_id", "id"),
        Index("ix_payment_orders_status", "status", "debit_started_at"),
    )

    def start_debit(self, *, end_to_end_id: str, at: datetime) -> None:
        self._move_to(OrderStatus.DEBITING)
        self.end_to_end_id = end_to_end_id
        self.debit_started_at = at

    def mark_paid(self, *, at: datetime) -> None:
        self._move_to(OrderStatus.PAID)
        self.resolved_at = at

    def mark_failed(
        self, *, reason_code: str | None, reason_text: str | None, at: datetime
    ) -> None:
        self._move_to(OrderStatus.FAILED)
        self.bank_reason_code = reason_code
        self.bank_reason_text = reason_text
        self.resolved_at = at

    def mark_unknown(self) -> None:
        self._move_to(OrderStatus.UNKNOWN)

    def mark_refunded(self, *, at: datetime) -> None:
        self._move_to(OrderStatus.REFUNDED)
        self.refunded_at = at

    def _move_to(self, target: OrderStatus) -> None:
        if target not in ORDER_TRANSITIONS[self.status]:
            raise OrderTransitionNotAllowed(self.order_no, self.status.value, target.value)
        self.status = target


class RefundStatus(StrEnum):
    """Where a refund's credit to the holder's account is."""

    CREDITING = "crediting"  # end-to-end id stored; the bank is being asked to credit
    CREDITED = "credited"  # the bank credited the holder; the collection is reversed
    FAILED = "failed"  # the bank refused (or never executed it); the order stays paid
    UNKNOWN = "unknown"  # no answer; settle_unknown_orders asks the bank


REFUND_TRANSITIONS: Final[Mapping[RefundStatus, frozenset[RefundStatus]]] = {
    RefundStatus.CREDITING: frozenset(
        {RefundStatus.CREDITED, RefundStatus.FAILED, RefundStatus.UNKNOWN}
    ),
    RefundStatus.UNKNOWN: frozenset({RefundStatus.CREDITED, RefundStatus.FAILED}),
    RefundStatus.CREDITED: frozenset(),
    RefundStatus.FAILED: frozenset(),
}

OPEN_REFUND: Final = frozenset({RefundStatus.CREDITING, RefundStatus.UNKNOWN})


class PaymentRefund(Base):
    """One attempt to pay an order back in full (a refused attempt may be followed by another)."""

    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_orders.id"))
    attempt: Mapped[int] = mapped_column(Integer)  # 1, 2 … per order
    end_to_end_id: Mapped[str] = mapped_column(String(32), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))  # why the department refunds
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[RefundStatus] = mapped_column(
        enum_type(RefundStatus, "refund_status", length=12)
    )
    bank_reason_code: Mapped[str | None] = mapped_column(String(40))
    bank_reason_text: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("order_id", "attempt", name="uq_payment_refunds_order_attempt"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_payment_refunds_status", "status"),
    )

    def move_to(self, target: RefundStatus, *, at: datetime | None = None) -> None:
        if target not in REFUND_TRANSITIONS[self.status]:
            raise RefundTransitionNotAllowed(self.end_to_end_id, self.status.value, target.value)
        self.status = target
        if target in (RefundStatus.CREDITED, RefundStatus.FAILED):
            self.resolved_at = at
