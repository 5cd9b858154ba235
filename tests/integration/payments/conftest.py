"""Payment fixtures: the shipped fee schedules, a strict sandbox bank, funded holders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.cards.models import Card
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.ledger import queries as ledger_queries
from socialcard.payments import services as payments
from socialcard.payments.models import PaymentOrder
from socialcard.payments.schedules import ensure_fee_schedules
from socialcard.payments.services import Payer
from tests.money_support import Holder

CALLER = "test:counter"


@dataclass(frozen=True)
class Funded:
    holder: Holder
    payer: Payer


@pytest.fixture
def fees(platform: Platform) -> Iterator[Platform]:
    """The platform with the shipped example fee schedules; the books are proven at the end."""
    with platform.session() as session, transaction(session):
        ensure_fee_schedules(session, platform.clock.now())
    yield platform
    with platform.session() as session:
        report = ledger_queries.verify_ledger(session)
    assert report.ok, report.problems


@pytest.fixture
def bank(tmp_path: Path) -> SandboxBank:
    """A strict sandbox bank: it deduplicates nothing and counts every execution."""
    return SandboxBank(tmp_path / "bank.sqlite3", strict=True)


def payer_of(platform: Platform, holder: Holder, channel: Channel = Channel.COUNTER) -> Payer:
    with platform.session() as session:
        card_id = session.scalars(
            select(Card.id).where(Card.card_number == holder.card_number)
        ).one()
    return Payer(person_id=holder.person_id, card_id=card_id, channel=channel, county_code="431124")


def open_at_bank(
    bank: SandboxBank, holder: Holder, *, deposit: int = 100_000, activated: bool = True
) -> None:
    bank.open_account(
        holder.bank_code, holder.account, holder.name, holder.resident_id, activated=activated
    )
    if deposit:
        bank.deposit(holder.bank_code, holder.account, deposit)


def order_for(
    platform: Platform, holder: Holder, *, key: str, schedule: str = "personnel_exam"
) -> str:
    with platform.session() as session, transaction(session):
        order = payments.create_order(
            session,
            person_id=holder.person_id,
            schedule_code=schedule,
            reference=f"exam:{key}",
            caller=CALLER,
            idempotency_key=key,
            at=platform.clock.now(),
        )
        return order.order_no


def order_row(platform: Platform, order_no: str) -> PaymentOrder:
    with platform.session() as session:
        return session.scalars(select(PaymentOrder).where(PaymentOrder.order_no == order_no)).one()
