"""Cardholder sessions (持卡人会话): the resident portal and the kiosk. The card and PIN are
checked by the cards area; this module only keeps the session. Kiosk sessions end after
KIOSK_IDLE_SECONDS without a request (the page also signs out by itself)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.errors import SessionExpired
from socialcard.access.models import HolderSession
from socialcard.kernel.crypto import sm3_hex

IDLE: Final = {"portal": timedelta(minutes=15), "kiosk": timedelta(seconds=90)}
ABSOLUTE: Final = {"portal": timedelta(hours=2), "kiosk": timedelta(minutes=10)}
KIOSK_IDLE_SECONDS: Final = int(IDLE["kiosk"].total_seconds())


@dataclass(frozen=True, slots=True)
class StartedHolderSession:
    token: str
    csrf_token: str


def start_holder_session(
    session: Session, *, person_id: int, card_id: int, channel: str, at: datetime
) -> StartedHolderSession:
    if channel not in IDLE:
        raise ValueError(f"unknown holder channel {channel}")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        HolderSession(
            token_hash=sm3_hex(token.encode()),
            csrf_token=csrf,
            person_id=person_id,
            card_id=card_id,
            channel=channel,
            created_at=at,
            last_seen_at=at,
        )
    )
    session.flush()
    return StartedHolderSession(token=token, csrf_token=csrf)


def resume_holder_session(session: Session, *, token: str, at: datetime) -> HolderSession:
    """The live session of a cookie, touched; SessionExpired when unknown, ended or timed out."""
    row = session.scalars(
        select(HolderSession).where(HolderSession.token_hash == sm3_hex(token.encode()))
    ).first()
    if row is None or row.ended_at is not None:
        raise SessionExpired()
    if at - row.last_seen_at > IDLE[row.channel] or at - row.created_at > ABSOLUTE[row.channel]:
        row.ended_at = at
        raise SessionExpired()
    row.last_seen_at = at
    return row


def end_holder_session(session: Session, *, session_id: int, at: datetime) -> None:
    row = session.get(HolderSession, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = at
