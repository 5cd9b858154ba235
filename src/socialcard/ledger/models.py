"""Ledger tables: accounts, transfers (append-only) and the balance rows of floored accounts.

A transfer is one debit account, one credit account and a positive amount of fen. Its phase says
how it moves balances: `single` posts at once; `pending` reserves; later `post` and `void`
transfers (pointing at the pending one through `pending_id`) resolve it once: at most one post
and one void per reservation (unique index), together never more than it (a trigger; decision
0011) — a bank file's reservation posts what the bank paid and voids the rest.
Corrections are `single` transfers of kind `reversal` pointing at what they undo (`reverses_id`,
unique). Nothing is ever updated or deleted: the ORM guard below and a database trigger refuse it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from socialcard.db import Base, UTCDateTime, enum_type

_ID = BigInteger().with_variant(Integer, "sqlite")


class NormalSide(StrEnum):
    """The side on which an account's balance grows."""

    DEBIT = "debit"  # assets and spending: bank clearing, receivables
    CREDIT = "credit"  # funds, budgets, personal accounts, income


class TransferKind(StrEnum):
    """Why money moved. Every transfer has exactly one kind."""

    FUNDING = "funding"  # the finance bureau puts money into a programme's budget
    PAYOUT_RESERVED = "payout_reserved"  # pending: set aside for a line of a bank send file
    PAYOUT_CONFIRMED = "payout_confirmed"  # posts the reservation: the bank says paid
    PAYOUT_RELEASED = "payout_released"  # voids the reservation: the bank rejected the line
    COLLECTION_RESERVED = "collection_reserved"  # pending: a debit instruction is on its way
    COLLECTION_CONFIRMED = "collection_confirmed"  # the bank collected from the holder
    COLLECTION_RELEASED = "collection_released"  # the bank could not collect
    COLLECTION_REFUNDED = "collection_refunded"  # money paid back to the holder
    CONTRIBUTION_RECEIVED = "contribution_received"  # a contribution reaches a scheme's fund
    ACCOUNT_CREDITED = "account_credited"  # the fund credits a person's personal account
    SUBSIDY_RECEIVED = "subsidy_received"  # the treasury's subsidy of a resident contribution
    INTEREST_CREDITED = "interest_credited"  # the pension account's yearly interest
    RELATION_TRANSFERRED = "relation_transferred"  # an insurance relation moved to/from a region
    BALANCE_MIGRATED = "balance_migrated"  # a balance carried over from a legacy system
    CLAIM_APPROVED = "claim_approved"
    ADJUSTMENT = "adjustment"  # an approved manual correction between two accounts
    REVERSAL = "reversal"  # undoes an earlier transfer, which stays on record


class TransferPhase(StrEnum):
    SINGLE = "single"  # posted at once
    PENDING = "pending"  # reserved; moves pending balances only
    POST = "post"  # resolves a pending transfer: the amount moves to posted
    VOID = "void"  # resolves a pending transfer: the reservation is released


POSTING_PHASES = frozenset({TransferPhase.SINGLE, TransferPhase.POST})


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    normal_side: Mapped[NormalSide] = mapped_column(enum_type(NormalSide, "normal_side", length=8))
    # Must not go below zero on its normal side (a budget, a personal account). Only such
    # accounts keep a balance row, locked by every transfer that touches them.
    has_floor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerTransfer(Base):
    __tablename__ = "ledger_transfers"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    # Chosen by the caller from the business act ("pay:123:reserve"): a retry is a no-op.
    transfer_key: Mapped[str] = mapped_column(String(80), unique=True)
    # Transfers of one business act share the journal key and commit together.
    journal_key: Mapped[str] = mapped_column(String(80), index=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[TransferKind] = mapped_column(enum_type(TransferKind, "transfer_kind", length=24))
    phase: Mapped[TransferPhase] = mapped_column(
        enum_type(TransferPhase, "transfer_phase", length=8)
    )
    pending_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    reference: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_sided"),
        CheckConstraint(
            "(phase IN ('post', 'void')) = (pending_id IS NOT NULL)", name="resolution_points"
        ),
        Index("ix_ledger_transfers_debit", "debit_account_id", "id"),
        Index("ix_ledger_transfers_credit", "credit_account_id", "id"),
        # A reservation is resolved by at most one post and one void (their sum never exceeds it:
        # a trigger, migration 0015), and a transfer is reversed once. Partial, so that the many
        # transfers that are neither skip both indexes.
        Index(
            "ux_ledger_transfers_pending_phase",
            "pending_id",
            "phase",
            unique=True,
            postgresql_where=text("pending_id IS NOT NULL"),
            sqlite_where=text("pending_id IS NOT NULL"),
        ),
        Index(
            "ux_ledger_transfers_reverses",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
    )


class LedgerBalance(Base):
    """Running totals of a floored account, updated in the transaction of every transfer that
    touches it (under a row lock); `ledger verify` recomputes them from the transfers."""

    __tablename__ = "ledger_balances"

    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), primary_key=True)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TransferImmutable(RuntimeError):
    """A programming error: code tried to change or delete a ledger transfer."""


@event.listens_for(Session, "before_flush")
def _refuse_transfer_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LedgerTransfer) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise TransferImmutable("ledger transfers are append-only")
