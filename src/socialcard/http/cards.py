"""Card uses and card operations as every channel runs them: the two-step refusal recording of
the card-use door, and the audit record of each lifecycle operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from socialcard.access.audit import ANONYMOUS, AuditEvent, append_audit
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform
from socialcard.cards import queries as card_queries
from socialcard.cards import services as card_services
from socialcard.cards.door import Credential, Presented, present_card, record_refusal
from socialcard.cards.errors import STATUS_LABELS, CardUseRefused
from socialcard.cards.models import PARTNER_BANKS, ApplicationReason, Card
from socialcard.cards.policy import CardPolicy
from socialcard.cards.services import Handling, LossReportKind
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.errors import DomainError, InvalidField
from socialcard.http.context import RequestContext
from socialcard.http.persons import check_person_scope
from socialcard.registry.models import Person
from socialcard.registry.queries import get_person

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


def present_in(
    session: Session,
    platform: Platform,
    *,
    credential: Credential,
    item_no: int,
    channel: Channel,
    county_code: str | None,
    terminal_code: str | None,
    at: datetime,
) -> Presented:
    """The card-use door in the caller's transaction (the business effect joins it)."""
    return present_card(
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


def record_card_refusal(
    platform: Platform,
    context: RequestContext | None,
    refusal: CardUseRefused,
    *,
    item_no: int,
    channel: Channel,
    county_code: str | None,
    terminal_code: str | None,
    at: datetime,
) -> None:
    """After the refused transaction rolled back: count a wrong PIN, record the refused use and
    audit the refusal, committed on their own."""
    with platform.session() as session, transaction(session):
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
        card = session.get(Card, refusal.card_id) if refusal.card_id is not None else None
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
    transaction rolls back; the refusal is then recorded on its own (record_card_refusal) and
    raised to the caller."""
    at = platform.clock.now()
    try:
        with platform.session() as session, transaction(session):
            presented = present_in(
                session,
                platform,
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
        record_card_refusal(
            platform,
            context,
            refusal,
            item_no=item_no,
            channel=channel,
            county_code=county_code,
            terminal_code=terminal_code,
            at=at,
        )
        raise


class CardAction(StrEnum):
    """The counter's card operations; each is one audited call of a cards service."""

    COLLECT = "collect"
    ISSUE = "issue"
    ACTIVATE = "activate"
    REPORT_TEMPORARY = "report_temporary"
    REPORT_FORMAL = "report_formal"
    CANCEL_REPORT = "cancel_report"
    REISSUE = "reissue"
    REPLACE = "replace"
    CANCEL = "cancel"
    RESET_PIN = "reset_pin"


ACTION_LABELS: dict[CardAction, str] = {
    CardAction.COLLECT: "采集完成",
    CardAction.ISSUE: "发卡",
    CardAction.ACTIVATE: "启用社保功能",
    CardAction.REPORT_TEMPORARY: "临时挂失",
    CardAction.REPORT_FORMAL: "正式挂失",
    CardAction.CANCEL_REPORT: "解除挂失",
    CardAction.REISSUE: "补卡",
    CardAction.REPLACE: "换卡",
    CardAction.CANCEL: "注销",
    CardAction.RESET_PIN: "重置密码",
}


def staff_handling(platform: Platform, context: RequestContext, person: Person) -> Handling:
    principal = context.require_principal()
    region = principal.scope_region_code
    if principal.is_city_wide and person.residence_county_code:
        region = person.residence_county_code
    return Handling(
        channel="counter", at=platform.clock.now(), staff_id=principal.staff_id, region_code=region
    )


def apply_at_counter(
    session: Session,
    platform: Platform,
    context: RequestContext,
    *,
    person_id: int,
    bank_code: str,
    photo_collected: bool,
) -> Card:
    """A first card applied for at the counter (scope-checked, audited)."""
    if bank_code not in PARTNER_BANKS:
        raise InvalidField("bank_code", "partner_bank", "请选择合作银行。")
    person = get_person(session, person_id)
    check_person_scope(context.require_principal(), person)
    card = card_services.apply_for_card(
        session,
        platform.keys,
        platform.card_policy,
        person_id=person.id,
        bank_code=bank_code,
        handling=staff_handling(platform, context, person),
        photo_collected=photo_collected,
    )
    audit_card(session, platform, context, "card.apply", card, bank=bank_code)
    return card


def act_on_card(
    session: Session,
    platform: Platform,
    context: RequestContext,
    *,
    card_number: str,
    action: CardAction,
    new_pin: str | None = None,
    reason: str | None = None,
) -> Card:
    """One counter operation on a card (scope-checked, audited). Returns the card the operation
    leaves the holder with (the new card for a reissue or a replacement)."""
    card = card_queries.get_card(session, card_number)
    person = get_person(session, card.person_id)
    check_person_scope(context.require_principal(), person)
    handling = staff_handling(platform, context, person)
    policy, keys = platform.card_policy, platform.keys
    number = card.card_number
    result: Card
    if action is CardAction.COLLECT:
        result = card_services.collect_card_data(session, card_number=number, handling=handling)
    elif action is CardAction.ISSUE:
        result = card_services.issue_card(session, policy, card_number=number, handling=handling)
    elif action is CardAction.ACTIVATE:
        result = card_services.activate_card(
            session, keys, policy, card_number=number, new_pin=new_pin, handling=handling
        )
    elif action in (CardAction.REPORT_TEMPORARY, CardAction.REPORT_FORMAL):
        kind = (
            LossReportKind.FORMAL
            if action is CardAction.REPORT_FORMAL
            else LossReportKind.TEMPORARY
        )
        result = card_services.report_loss(
            session, policy, card_number=number, kind=kind, handling=handling
        )
    elif action is CardAction.CANCEL_REPORT:
        result = card_services.cancel_loss_report(
            session, policy, card_number=number, handling=handling
        )
    elif action is CardAction.REISSUE:
        result = card_services.reissue_card(
            session, keys, policy, card_number=number, handling=handling
        )
    elif action is CardAction.REPLACE:
        try:
            why = ApplicationReason(reason or "")
        except ValueError as error:
            raise InvalidField(
                "reason", "replacement_reason", "换卡原因只能是损坏、到期或换发新一代卡。"
            ) from error
        result = card_services.replace_card(
            session, keys, policy, card_number=number, reason=why, handling=handling
        )
    elif action is CardAction.CANCEL:
        result = card_services.cancel_card(
            session, card_number=number, reason=(reason or "本人申请")[:200], handling=handling
        )
    else:
        result = card_services.reset_pin(
            session, keys, card_number=number, new_pin=new_pin or "", handling=handling
        )
    audit_card(
        session,
        platform,
        context,
        f"card.{action.value}",
        card,
        new_card=result.card_number if result.id != card.id else None,
    )
    return result


@dataclass(frozen=True, slots=True)
class CardView:
    """A card as staff and holders see it: never the bank account or the PIN."""

    card_number: str
    card_uid: str | None
    status: str
    status_label: str
    generation: int
    bank_code: str
    bank_name: str
    bank_account_masked: str | None
    bank_account_activated: bool
    issuing_region_code: str
    applied_at: str
    issued_on: str | None
    expires_on: str | None
    pin_locked: bool
    replaces_card_id: int | None

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def view_card(card: Card, *, at: datetime, policy: CardPolicy) -> CardView:
    status = card_services.effective_status(card, policy, at)
    return CardView(
        card_number=card.card_number,
        card_uid=card.card_uid,
        status=status.value,
        status_label=STATUS_LABELS[status.value],
        generation=card.generation,
        bank_code=card.bank_code,
        bank_name=PARTNER_BANKS.get(card.bank_code, card.bank_code),
        bank_account_masked=card.bank_account_masked,
        bank_account_activated=card.bank_account_activated_at is not None,
        issuing_region_code=card.issuing_region_code,
        applied_at=card.applied_at.isoformat(),
        issued_on=card.issued_on.isoformat() if card.issued_on else None,
        expires_on=card.expires_on.isoformat() if card.expires_on else None,
        pin_locked=card.pin_locked_at is not None,
        replaces_card_id=card.replaces_card_id,
    )


def batch_handling(platform: Platform, context: RequestContext) -> Handling:
    """A production-batch operation by the signed-in staff member."""
    principal = context.require_principal()
    return Handling(
        channel="counter",
        at=platform.clock.now(),
        staff_id=principal.staff_id,
        region_code=principal.scope_region_code,
    )


def audit_batch(
    session: Session,
    platform: Platform,
    context: RequestContext,
    action: str,
    batch_no: str,
    **details: object,
) -> None:
    append_audit(
        session,
        context.event(
            action,
            AuditResult.SUCCESS,
            object_type="production_batch",
            object_id=batch_no,
            details=dict(details),
        ),
        at=platform.clock.now(),
    )


def count_wrong_pin(platform: Platform, error: DomainError, handling: Handling) -> None:
    """After a refused PIN check rolled back: count the wrong PIN in a transaction of its own, so
    that no channel can guess for free."""
    if isinstance(error, CardUseRefused) and error.pin_failed and error.card_id is not None:
        with platform.session() as session, transaction(session):
            card_services.record_pin_failure(
                session, platform.card_policy, card_id=error.card_id, handling=handling
            )


def change_pin(
    platform: Platform,
    context: RequestContext,
    *,
    card_number: str,
    old_pin: str,
    new_pin: str,
    handling: Handling,
) -> Card:
    """The holder changes the PIN with the old one (kiosk page, terminal pad); audited. A wrong
    old PIN is counted before the refusal is raised."""
    try:
        with platform.session() as session, transaction(session):
            card = card_services.change_pin(
                session,
                platform.keys,
                platform.card_policy,
                card_number=card_number,
                old_pin=old_pin,
                new_pin=new_pin,
                handling=handling,
            )
            audit_card(session, platform, context, "card.pin_changed", card)
            return card
    except CardUseRefused as refusal:
        count_wrong_pin(platform, refusal, handling)
        raise
