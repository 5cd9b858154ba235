"""Reads of payments: orders by number, a holder's payments, a department's orders, and the
facts a receipt prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.payments.errors import OrderNotFound, ReceiptNotAvailable
from socialcard.payments.models import FeeSchedule, OrderStatus, PaymentOrder, PaymentRefund
from socialcard.registry.models import Person


def find_order(session: Session, order_no: str) -> PaymentOrder | None:
    return session.scalars(select(PaymentOrder).where(PaymentOrder.order_no == order_no)).first()


def get_order(session: Session, order_no: str) -> PaymentOrder:
    order = find_order(session, order_no)
    if order is None:
        raise OrderNotFound(order_no)
    return order


def lock_order(session: Session, order_no: str) -> PaymentOrder:
    """The order, locked for the rest of the transaction (SELECT … FOR UPDATE on PostgreSQL;
    SQLite's write transaction is already exclusive) and read fresh."""
    order = session.scalars(
        select(PaymentOrder)
        .where(PaymentOrder.order_no == order_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if order is None:
        raise OrderNotFound(order_no)
    return order


def find_order_by_key(
    session: Session, *, caller: str, idempotency_key: str
) -> PaymentOrder | None:
    """The order a caller raised under a key (to show it again after a lost answer)."""
    return session.scalars(
        select(PaymentOrder).where(
            PaymentOrder.caller == caller, PaymentOrder.idempotency_key == idempotency_key
        )
    ).first()


def list_orders_for_holder(
    session: Session,
    person_id: int,
    *,
    statuses: list[OrderStatus] | None = None,
    limit: int = 50,
) -> list[PaymentOrder]:
    """The holder's payment orders, newest first ("我的缴费")."""
    stmt = (
        select(PaymentOrder)
        .where(PaymentOrder.person_id == person_id)
        .order_by(PaymentOrder.id.desc())
        .limit(limit)
    )
    if statuses:
        stmt = stmt.where(PaymentOrder.status.in_([s.value for s in statuses]))
    return list(session.scalars(stmt))


def list_orders(
    session: Session,
    *,
    department_code: str | None = None,
    statuses: list[OrderStatus] | None = None,
    limit: int = 100,
) -> list[PaymentOrder]:
    """Orders newest first, of one department (or all) and some statuses (or all)."""
    stmt = select(PaymentOrder).order_by(PaymentOrder.id.desc()).limit(limit)
    if department_code is not None:
        stmt = stmt.where(PaymentOrder.department_code == department_code)
    if statuses:
        stmt = stmt.where(PaymentOrder.status.in_([s.value for s in statuses]))
    return list(session.scalars(stmt))


def list_refunds(session: Session, order: PaymentOrder) -> list[PaymentRefund]:
    return list(
        session.scalars(
            select(PaymentRefund)
            .where(PaymentRefund.order_id == order.id)
            .order_by(PaymentRefund.attempt)
        )
    )


def find_schedule_of(session: Session, order: PaymentOrder) -> FeeSchedule | None:
    return session.get(FeeSchedule, order.schedule_id) if order.schedule_id else None


@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    """What a payment receipt prints, all of it already masked."""

    order_no: str
    payer_name: str
    resident_id_masked: str
    item_no: int
    purpose: str
    unit_name: str
    department_code: str
    amount_minor: int
    paid_at: datetime
    bank_code: str
    bank_account_masked: str
    end_to_end_id: str
    status: OrderStatus
    refunded_at: datetime | None


def get_receipt_facts(session: Session, order_no: str) -> ReceiptFacts:
    """The facts of a paid order's receipt; ReceiptNotAvailable before the bank collected."""
    order = get_order(session, order_no)
    if order.status not in (OrderStatus.PAID, OrderStatus.REFUNDED) or order.resolved_at is None:
        raise ReceiptNotAvailable(order_no)
    person = session.get_one(Person, order.person_id)
    schedule = find_schedule_of(session, order)
    return ReceiptFacts(
        order_no=order.order_no,
        payer_name=person.name,
        resident_id_masked=person.resident_id_masked,
        item_no=order.item_no,
        purpose=order.purpose,
        unit_name=schedule.unit_name if schedule else "",
        department_code=order.department_code,
        amount_minor=order.amount_minor,
        paid_at=order.resolved_at,
        bank_code=order.bank_code or "",
        bank_account_masked=order.bank_account_masked or "",
        end_to_end_id=order.end_to_end_id or "",
        status=order.status,
        refunded_at=order.refunded_at,
    )
