"""Bank-account activation (银行账户激活) as the partner banks report it: the holder activated
the card's account at a branch, and the bank's activation feed says so. Reading the feed moves a
cursor; a notice read twice (a duplicated delivery) changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from socialcard.banks.gateway import BankGateway
from socialcard.cards.models import IN_HAND, BankNoticeCursor, Card
from socialcard.cards.services import Handling, activate_bank_account, bank_account_index
from socialcard.kernel.crypto import KeyRing

ACTIVATION_FEED = "bank_activations"


@dataclass(frozen=True, slots=True)
class ActivationSync:
    notices: int
    activated: int
    unknown: int  # no card in hand with that account (a cancelled card, another system's card)


def sync_bank_activations(
    sessions: sessionmaker[Session], keys: KeyRing, gateway: BankGateway, *, at: datetime
) -> ActivationSync:
    """Apply the activation notices after the cursor, then move it (one transaction; the feed
    is read outside it)."""
    with sessions() as session:
        cursor = session.get(BankNoticeCursor, ACTIVATION_FEED)
        after = cursor.last_notice_id if cursor else 0
    notices = gateway.fetch_activations(after)
    activated = unknown = 0
    with sessions() as session, session.begin():
        cursor = session.get(BankNoticeCursor, ACTIVATION_FEED, with_for_update=True)
        if cursor is None:
            cursor = BankNoticeCursor(feed=ACTIVATION_FEED, last_notice_id=0, updated_at=at)
            session.add(cursor)
        for notice in sorted(notices, key=lambda n: n.notice_id):
            if notice.notice_id <= cursor.last_notice_id:
                continue  # delivered again, or read by a concurrent sync
            index = bank_account_index(keys, notice.bank_code, notice.account_number)
            card = session.scalars(
                select(Card).where(
                    Card.bank_account_index == index,
                    Card.bank_code == notice.bank_code,
                    Card.status.in_(IN_HAND),
                )
            ).first()
            if card is None:
                unknown += 1
            else:
                if card.bank_account_activated_at is None:
                    activated += 1
                activate_bank_account(
                    session,
                    card_number=card.card_number,
                    bank_code=notice.bank_code,
                    handling=Handling(channel="bank", at=notice.activated_at),
                )
            cursor.last_notice_id = notice.notice_id
            cursor.updated_at = at
    return ActivationSync(len(notices), activated, unknown)
