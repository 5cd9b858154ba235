"""Telling holders: a message log (holder_messages) behind a notification port. Areas write
messages in their own transaction (set-based for a batch's return file); `deliver_messages`
sends the undelivered ones through the SMS gateway port in chunks, outside those transactions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from socialcard.access.models import HolderMessage
from socialcard.access.verification import SmsGateway

logger = logging.getLogger(__name__)


def record_message(
    session: Session, *, person_id: int, kind: str, text: str, reference: str, at: datetime
) -> HolderMessage:
    message = HolderMessage(
        person_id=person_id, kind=kind, text=text[:300], reference=reference[:80], created_at=at
    )
    session.add(message)
    return message


def record_messages_from(session: Session, rows: Select[Any], *, kind: str, at: datetime) -> None:
    """Many messages at once: `rows` selects (person_id, text, reference)."""
    source = rows.subquery()
    session.execute(
        insert(HolderMessage).from_select(
            ["person_id", "kind", "text", "reference", "created_at"],
            select(source.c[0], literal(kind), source.c[1], source.c[2], literal(at)),
        )
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    sent: int
    without_phone: int


def deliver_messages(
    sessions: sessionmaker[Session],
    sms: SmsGateway | None,
    phones_of: Callable[[Session, list[int]], dict[int, str]],
    *,
    at: datetime,
    chunk: int = 1000,
) -> Delivery:
    """Send undelivered messages by SMS, a chunk per transaction; a holder without a phone on
    record (or a platform without an SMS adapter) still sees them in the portal. `phones_of` maps
    person ids to phone numbers (the registry answers it; access does not read persons)."""
    sent = without = 0
    last_id = 0
    while True:
        # Read a chunk, then send with no transaction open (an SMS provider can be slow), then
        # record what went out. A crash between sending and recording sends a message again on
        # the next run (at least once), never loses one.
        with sessions() as session:
            messages = [
                (m.id, m.person_id, m.text)
                for m in session.scalars(
                    select(HolderMessage)
                    .where(HolderMessage.delivered_at.is_(None), HolderMessage.id > last_id)
                    .order_by(HolderMessage.id)
                    .limit(chunk)
                )
            ]
            if not messages:
                return Delivery(sent, without)
            phones = phones_of(session, sorted({person for _, person, _ in messages}))
        outcomes: dict[int, str] = {}
        for message_id, person_id, text in messages:
            last_id = message_id
            phone = phones.get(person_id)
            if sms is None or phone is None:
                outcomes[message_id] = "no_phone"
                without += 1
                continue
            try:
                sms.send(phone, text, at=at)
            except Exception:  # one failed message must not stop the others; retried next run
                logger.exception("SMS to holder %s failed", person_id)
                continue
            outcomes[message_id] = "sms"
            sent += 1
        with sessions() as session, session.begin():
            for message_id, delivery in outcomes.items():
                session.execute(
                    update(HolderMessage)
                    .where(HolderMessage.id == message_id)
                    .values(delivery=delivery, delivered_at=at)
                )


def list_messages(session: Session, person_id: int, *, limit: int = 20) -> list[HolderMessage]:
    return list(
        session.scalars(
            select(HolderMessage)
            .where(HolderMessage.person_id == person_id)
            .order_by(HolderMessage.id.desc())
            .limit(limit)
        )
    )
