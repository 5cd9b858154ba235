"""What the API and the web pages share for payments: admitting the holder's card through the
cards door for the order's item, paying, refunding within the order's department, the audit
record of each, and the order as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform
from socialcard.cards.door import Credential, admit_card
from socialcard.cards.errors import CardUseRefused
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.http.cards import record_card_refusal
from socialcard.http.context import RequestContext
from socialcard.payments import queries
from socialcard.payments.errors import (
    ORDER_STATUS_LABELS,
    REFUND_STATUS_LABELS,
    NotOrderDepartment,
    PayerNotOrderHolder,
)
from socialcard.payments.models import PaymentOrder, PaymentRefund
from socialcard.payments.services import Payer, pay_order, refund_order


def audit_payment(
    session: Session,
    platform: Platform,
    context: RequestContext,
    action: str,
    order_no: str,
    *,
    result: AuditResult = AuditResult.SUCCESS,
    **details: object,
) -> None:
    event = context.event(
        action, result, object_type="payment_order", object_id=order_no, details=dict(details)
    )
    append_audit(session, event, at=platform.clock.now())


def admit_payer(
    platform: Platform,
    context: RequestContext,
    *,
    order_no: str,
    credential: Credential,
    channel: Channel,
    terminal_code: str | None = None,
    county_code: str | None = None,
) -> Payer:
    """Check the holder's card for the order's item (card, PIN, usable, item opened) in a
    transaction of its own; the use itself is recorded when the bank collects. A refusal is
    recorded (a wrong PIN counts) and raised."""
    at = platform.clock.now()
    with platform.session() as session:
        item_no = queries.get_order(session, order_no).item_no
    try:
        with platform.session() as session, transaction(session):
            admitted = admit_card(
                session,
                platform.keys,
                platform.card_policy,
                credential=credential,
                item_no=item_no,
                county_code=county_code,
                at=at,
            )
            if admitted.holder.id != queries.get_order(session, order_no).person_id:
                raise PayerNotOrderHolder(order_no)
            return Payer(
                person_id=admitted.holder.id,
                card_id=admitted.card.id,
                channel=channel,
                county_code=admitted.county_code,
                terminal_code=terminal_code,
            )
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


def take_payment(
    platform: Platform,
    context: RequestContext,
    *,
    order_no: str,
    credential: Credential,
    channel: Channel,
    terminal_code: str | None = None,
) -> PaymentOrder:
    """Admit the card, debit the order once through the bank, audit the outcome."""
    payer = admit_payer(
        platform,
        context,
        order_no=order_no,
        credential=credential,
        channel=channel,
        terminal_code=terminal_code,
    )
    order = pay_order(
        platform.sessions,
        platform.keys,
        platform.bank,
        order_no,
        payer=payer,
        at=platform.clock.now(),
    )
    with platform.session() as session, transaction(session):
        audit_payment(
            session,
            platform,
            context,
            "payment.pay",
            order_no,
            status=order.status.value,
            amount_minor=order.amount_minor,
            channel=channel.value,
        )
    return order


def refund_in_department(
    platform: Platform, context: RequestContext, *, order_no: str, reason: str
) -> PaymentRefund:
    """A full refund by the order's department: no checker needed (never more than was paid),
    audited with who asked and why."""
    principal = context.require_principal()
    with platform.session() as session:
        order = queries.get_order(session, order_no)
        if order.department_code != principal.department_code:
            raise NotOrderDepartment(order_no, order.department_code)
    refund = refund_order(
        platform.sessions,
        platform.keys,
        platform.bank,
        order_no,
        reason=reason,
        requested_by=principal.staff_id,
        at=platform.clock.now(),
    )
    with platform.session() as session, transaction(session):
        audit_payment(
            session,
            platform,
            context,
            "payment.refund",
            order_no,
            refund=refund.end_to_end_id,
            status=refund.status.value,
            amount_minor=refund.amount_minor,
            reason=reason,
        )
    return refund


def order_json(order: PaymentOrder) -> dict[str, Any]:
    """The order as the API shows it (no plaintext identifiers)."""
    return {
        "order_no": order.order_no,
        "person_id": order.person_id,
        "item_no": order.item_no,
        "department_code": order.department_code,
        "purpose": order.purpose,
        "amount_minor": order.amount_minor,
        "reference": order.reference,
        "status": order.status.value,
        "status_label": ORDER_STATUS_LABELS[order.status.value],
        "bank_code": order.bank_code,
        "bank_account_masked": order.bank_account_masked,
        "end_to_end_id": order.end_to_end_id,
        "bank_reason_code": order.bank_reason_code,
        "bank_reason_text": order.bank_reason_text,
        "created_at": order.created_at.isoformat(),
        "resolved_at": order.resolved_at.isoformat() if order.resolved_at else None,
        "refunded_at": order.refunded_at.isoformat() if order.refunded_at else None,
    }


def refund_json(refund: PaymentRefund) -> dict[str, Any]:
    return {
        "end_to_end_id": refund.end_to_end_id,
        "attempt": refund.attempt,
        "amount_minor": refund.amount_minor,
        "reason": refund.reason,
        "status": refund.status.value,
        "status_label": REFUND_STATUS_LABELS[refund.status.value],
        "bank_reason_code": refund.bank_reason_code,
        "bank_reason_text": refund.bank_reason_text,
        "created_at": refund.created_at.isoformat(),
        "resolved_at": refund.resolved_at.isoformat() if refund.resolved_at else None,
    }
