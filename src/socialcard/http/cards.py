"""Card uses and card operations as every channel runs them: the two-step refusal recording of
the card-use door, and the audit record of each lifecycle operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from socialcard.access.audit import ANONYMOUS, AuditEvent, append_audit
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform
from socialcard.cards.door import Credential, Presented, present_card, record_refusal
from socialcard.cards.errors import CardUseRefused
from socialcard.cards.models import Card
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.http.context import RequestContext

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CardUseOutcome(Generic[T]):
    presented: Presented
    result: T | None


def audit_card(
    session: Session,
    platform: Platform,
    context: RequestContext | None,
    action: str,
    card: Card,
    *,
    result: AuditResult = AuditResult.SUCCESS,
    origin: str | None = None,
    **details: object,
) -> None:
    """One audit record for a card operation, naming the card by its internal id."""
    if context is not None:
        event = context.event(
            action, result, object_type="card", object_id=card.id, details=dict(details)
        )
    else:
        event = AuditEvent(
            actor=ANONYMOUS,
            action=action,
            result=result,
            object_type="card",
            object_id=str(card.id),
            origin=origin,
            request_id=None,
            details=dict(details),
        )
    append_audit(session, event, at=platform.clock.now())


def use_card(
    platform: Platform,
    context: RequestContext | None,
    *,
    credential: Credential,
    item_no: int,
    channel: Channel,
    county_code: str | None = None,
    terminal_code: str | None = None,
    effect: Callable[[Session, Presented], T] | None = None,
) -> CardUseOutcome[T]:
    """Present the card and run the business effect in one transaction. On a refusal, that
    transaction rolls back; the refusal (a wrong PIN counted, the refused use recorded, an audit
    record) is then committed on its own, and the refusal is raised to the caller."""
    at = platform.clock.now()
    with platform.session() as session:
        try:
            with transaction(session):
                presented = present_card(
                    session,
                    platform.keys,
                    platform.card_policy,
                    credential=credential,
                    item_no=item_no,
                    channel=channel,
                    county_code=county_code,
                    terminal_code=terminal_code,
                    at=at,
                )
                result = effect(session, presented) if effect is not None else None
            return CardUseOutcome(presented, result)
        except CardUseRefused as refusal:
            with transaction(session):
                record_refusal(
                    session,
                    platform.card_policy,
                    refusal,
                    item_no=item_no,
                    channel=channel,
                    county_code=county_code,
                    terminal_code=terminal_code,
                    at=at,
                )
                if refusal.card_id is not None:
                    card = session.get(Card, refusal.card_id)
                    if card is not None:
                        audit_card(
                            session,
                            platform,
                            context,
                            "card.use_refused",
                            card,
                            result=AuditResult.DENIED,
                            origin=terminal_code,
                            code=refusal.code,
                            item_no=item_no,
                            channel=channel.value,
                        )
            raise
