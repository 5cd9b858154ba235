"""Payment pages: the counter takes a fee for a person (the clerk picks the schedule, the holder
inserts the card and types the PIN), the department refunds in full, and the holder's "我的缴费"
on the portal and the kiosk lists their orders, pays a pending one with the PIN and prints the
receipt. A double click finds the order already being debited: the bank is called once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access.holders import KIOSK_IDLE_SECONDS
from socialcard.bootstrap import Platform
from socialcard.cards.door import PhysicalCard
from socialcard.cards.models import PARTNER_BANKS, Card
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.errors import DomainError, InvalidField
from socialcard.http.context import Context, DbSession, PlatformDep, RequestContext
from socialcard.http.idempotency import caller_of
from socialcard.http.payments import audit_payment, refund_in_department, take_payment
from socialcard.http.persons import check_person_scope
from socialcard.kernel.clock import local_today
from socialcard.kernel.masking import mask_name
from socialcard.kernel.money import Money
from socialcard.kernel.resident_id import InvalidResidentId, ResidentId
from socialcard.payments import queries
from socialcard.payments import services as payments
from socialcard.payments.errors import ORDER_STATUS_LABELS, REFUND_STATUS_LABELS, OrderNotFound
from socialcard.payments.models import OrderStatus, PaymentOrder
from socialcard.payments.schedules import list_fee_schedules
from socialcard.registry.queries import find_person_by_resident_id, get_person
from socialcard.reports.payment_receipt import payment_receipt_of, render_payment_receipt
from socialcard.web.forms import see_other
from socialcard.web.rendering import render_page

router = APIRouter()

OUTCOME_NOTICES = {
    "paid": "缴费成功，已从社会保障卡银行账户扣款。",
    "failed": "缴费未成功，未扣款。",
    "unknown": "银行暂未返回结果，系统将向银行查询后自动确认，请勿重复缴费。",
    "debiting": "扣款处理中，请稍后刷新查看结果。",
    "refunded": "已全额退回原银行账户。",
}


def _yuan(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def _order_view(order: PaymentOrder) -> dict[str, object]:
    return {
        "order_no": order.order_no,
        "purpose": order.purpose,
        "item_no": order.item_no,
        "department_code": order.department_code,
        "amount": _yuan(order.amount_minor),
        "status": order.status.value,
        "status_label": ORDER_STATUS_LABELS[order.status.value],
        "reason": order.bank_reason_text,
        "bank": PARTNER_BANKS.get(order.bank_code or "", order.bank_code or ""),
        "account": order.bank_account_masked or "",
        "created_at": order.created_at,
        "resolved_at": order.resolved_at,
        "payable": order.status is OrderStatus.CREATED,
        "has_receipt": order.status in (OrderStatus.PAID, OrderStatus.REFUNDED),
    }


def _pdf(data: bytes, order_no: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{order_no}.pdf"'},
    )


# -- the counter ---------------------------------------------------------------------------------


def _counter_page(
    request: Request,
    session: Session,
    ctx: RequestContext,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    principal = ctx.require_principal()
    orders = queries.list_orders(session, department_code=None, limit=20)
    return render_page(
        request,
        "payments/counter.html",
        schedules=list_fee_schedules(session),
        orders=[_order_view(o) for o in orders],
        form_token=uuid.uuid4().hex,
        error=error,
        clerk=principal.display_name,
        status_code=status_code,
    )


@router.get("/payments")
def counter(request: Request, ctx: Context, session: DbSession) -> Response:
    """窗口收费: find the person, pick the fee; then the holder pays with card and PIN."""
    return _counter_page(request, session, ctx)


@router.post("/payments/orders")
def raise_order(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    resident_id: Annotated[str, Form()] = "",
    schedule_code: Annotated[str, Form()] = "",
    amount_yuan: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
) -> Response:
    """The clerk raises the order; the form's token makes a double submit one order."""
    try:
        try:
            number = ResidentId.parse(resident_id.strip(), today=local_today(platform.clock))
        except InvalidResidentId as error:
            raise InvalidField("resident_id", "resident_id", "社会保障号码格式不正确。") from error
        try:
            amount = Money.yuan(amount_yuan.strip()) if amount_yuan.strip() else None
        except (ArithmeticError, ValueError) as error:
            raise InvalidField("amount_yuan", "amount", "金额格式不正确。") from error
        with transaction(session):
            person = find_person_by_resident_id(session, platform.keys, number)
            if person is None:
                raise InvalidField("resident_id", "registered", "未找到该人员的登记信息。")
            check_person_scope(ctx.require_principal(), person)
            order = payments.create_order(
                session,
                person_id=person.id,
                schedule_code=schedule_code,
                amount=amount,
                reference=reference.strip() or f"counter:{form_token[:16]}",
                caller=caller_of(ctx),
                idempotency_key=f"web-{form_token[:60]}" if form_token else uuid.uuid4().hex,
                at=platform.clock.now(),
            )
            audit_payment(session, platform, ctx, "payment.create", order.order_no)
            order_no = order.order_no
    except DomainError as error:
        session.rollback()
        return _counter_page(request, session, ctx, error=error.message, status_code=422)
    return see_other(f"/payments/orders/{order_no}")


def _order_page(
    request: Request, session: Session, ctx: RequestContext, order_no: str, *,
    error: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    order = queries.get_order(session, order_no)
    person = get_person(session, order.person_id)
    principal = ctx.require_principal()
    done = request.query_params.get("done", "")
    return render_page(
        request,
        "payments/order.html",
        order=_order_view(order),
        payer_name=mask_name(person.name),
        payer_id=person.resident_id_masked,
        refunds=[
            {
                "end_to_end_id": r.end_to_end_id,
                "status_label": REFUND_STATUS_LABELS[r.status.value],
                "reason": r.reason,
                "bank_reason": r.bank_reason_text,
                "created_at": r.created_at,
            }
            for r in queries.list_refunds(session, order)
        ],
        may_refund=order.status is OrderStatus.PAID
        and principal.department_code == order.department_code,
        outcome=OUTCOME_NOTICES.get(done),
        error=error,
        status_code=status_code,
    )


@router.get("/payments/orders/{order_no}")
def order_page(order_no: str, request: Request, ctx: Context, session: DbSession) -> Response:
    return _order_page(request, session, ctx, order_no)


@router.post("/payments/orders/{order_no}/pay")
def counter_pay(
    order_no: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    card_number: Annotated[str, Form()] = "",
    pin: Annotated[str, Form()] = "",
) -> Response:
    """The holder's card in the counter's reader and the PIN on its pad."""
    try:
        order = take_payment(
            platform,
            ctx,
            order_no=order_no,
            credential=PhysicalCard(card_number.strip(), pin),
            channel=Channel.COUNTER,
        )
    except DomainError as error:
        return _order_page(request, session, ctx, order_no, error=error.message, status_code=422)
    return see_other(f"/payments/orders/{order_no}?done={order.status.value}")


@router.post("/payments/orders/{order_no}/refund")
def counter_refund(
    order_no: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """全额退费 by the order's department, audited."""
    try:
        if not reason.strip():
            raise InvalidField("reason", "required", "请填写退费原因。")
        refund = refund_in_department(platform, ctx, order_no=order_no, reason=reason.strip())
    except DomainError as error:
        return _order_page(request, session, ctx, order_no, error=error.message, status_code=422)
    done = "refunded" if refund.status.value == "credited" else refund.status.value
    return see_other(f"/payments/orders/{order_no}?done={done}")


@router.get("/payments/orders/{order_no}/receipt.pdf")
def counter_receipt(
    order_no: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    data = render_payment_receipt(payment_receipt_of(session, platform.keys, order_no))
    with transaction(session):
        audit_payment(session, platform, ctx, "payment.receipt", order_no)
    return _pdf(data, order_no)


# -- the holder's doors: "我的缴费" on the portal and the kiosk ----------------------------------


def _holder_page(
    request: Request, session: Session, ctx: RequestContext, door: str, *,
    error: str | None = None,
) -> Response:  # fmt: skip
    holder = ctx.require_holder()
    card = session.get_one(Card, holder.card_id)
    person = get_person(session, holder.person_id)
    orders = queries.list_orders_for_holder(session, holder.person_id)
    return render_page(
        request,
        "payments/holder.html",
        door=door,
        holder_name=mask_name(person.name),
        card_number=card.card_number,
        orders=[_order_view(o) for o in orders],
        holder_csrf=holder.csrf_token,
        outcome=OUTCOME_NOTICES.get(request.query_params.get("done", "")),
        error=error,
        idle_seconds=KIOSK_IDLE_SECONDS,
    )


def _holder_order(session: Session, ctx: RequestContext, order_no: str) -> PaymentOrder:
    """The order, when it is the signed-in holder's own (anyone else's reads as not found)."""
    order = queries.get_order(session, order_no)
    if order.person_id != ctx.require_holder().person_id:
        raise OrderNotFound(order_no)
    return order


def _holder_pay(
    request: Request, session: Session, platform: Platform, ctx: RequestContext, door: str,
    order_no: str, pin: str,
) -> Response:  # fmt: skip
    holder = ctx.require_holder()
    try:
        _holder_order(session, ctx, order_no)
        card = session.get_one(Card, holder.card_id)
        number = card.card_number
        session.rollback()
        order = take_payment(
            platform,
            ctx,
            order_no=order_no,
            credential=PhysicalCard(number, pin),
            channel=Channel.KIOSK if door == "kiosk" else Channel.WEB,
        )
    except DomainError as error:
        session.rollback()
        return _holder_page(request, session, ctx, door, error=error.message)
    return see_other(f"/{door}/payments?done={order.status.value}")


def _holder_receipt(
    session: Session, platform: Platform, ctx: RequestContext, order_no: str
) -> Response:
    _holder_order(session, ctx, order_no)
    return _pdf(
        render_payment_receipt(payment_receipt_of(session, platform.keys, order_no)), order_no
    )


@router.get("/portal/payments")
def portal_payments(request: Request, ctx: Context, session: DbSession) -> Response:
    """我的缴费: every order, pending ones payable with the card's PIN, receipts of the paid."""
    return _holder_page(request, session, ctx, "portal")


@router.post("/portal/payments/{order_no}/pay")
def portal_pay(
    order_no: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    pin: Annotated[str, Form()] = "",
) -> Response:
    return _holder_pay(request, session, platform, ctx, "portal", order_no, pin)


@router.get("/portal/payments/{order_no}/receipt.pdf")
def portal_receipt(
    order_no: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    return _holder_receipt(session, platform, ctx, order_no)


@router.get("/kiosk/payments")
def kiosk_payments(request: Request, ctx: Context, session: DbSession) -> Response:
    return _holder_page(request, session, ctx, "kiosk")


@router.post("/kiosk/payments/{order_no}/pay")
def kiosk_pay(
    order_no: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    pin: Annotated[str, Form()] = "",
) -> Response:
    return _holder_pay(request, session, platform, ctx, "kiosk", order_no, pin)


@router.get("/kiosk/payments/{order_no}/receipt.pdf")
def kiosk_receipt(
    order_no: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    return _holder_receipt(session, platform, ctx, order_no)
