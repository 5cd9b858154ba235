"""Payments for counters and partner systems: the fee schedules, raising an order, paying it with
the holder's card and PIN, the full refund, an order's state and its receipt. Every unsafe call
takes an Idempotency-Key header (RELIABILITY A2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from socialcard.api.routes import api_router
from socialcard.cards.door import PhysicalCard
from socialcard.catalog.models import Channel
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.idempotency import caller_of, run_once, run_once_around_calls
from socialcard.http.payments import order_json, refund_in_department, refund_json, take_payment
from socialcard.kernel.money import Money
from socialcard.payments import queries
from socialcard.payments import services as payments
from socialcard.payments.schedules import list_fee_schedules
from socialcard.reports.payment_receipt import payment_receipt_of, render_payment_receipt

router = api_router("/payments", "payments")
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="the same key and body replays the first answer"),
]


class ScheduleOut(BaseModel):
    code: str
    name: str
    item_no: int
    department_code: str
    unit_name: str
    amount_minor: int | None = Field(description="None: the amount comes with each order")
    is_example: bool
    effective_from: str


class OrderIn(BaseModel):
    """Under a fee schedule, or directly for a catalogue item (item_no, department, purpose)."""

    person_id: int
    reference: str = Field(min_length=1, max_length=80, description="the caller's business object")
    schedule_code: str | None = None
    amount_minor: int | None = Field(default=None, gt=0, description="fen")
    item_no: int | None = Field(default=None, ge=1, le=111)
    department_code: str | None = Field(default=None, max_length=30)
    purpose: str | None = Field(default=None, max_length=60)

    @model_validator(mode="after")
    def _one_way(self) -> OrderIn:
        if self.schedule_code is None and self.item_no is None:
            raise ValueError("give schedule_code, or item_no with department_code and purpose")
        return self


class PayIn(BaseModel):
    card_number: str = Field(min_length=1, max_length=20)
    pin: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


class RefundIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


@router.get("/schedules", response_model=list[ScheduleOut])
def schedules(session: DbSession, _ctx: Context) -> list[ScheduleOut]:
    """The fee schedules in force (shipped ones are examples until a department loads its own)."""
    return [
        ScheduleOut(
            code=s.code,
            name=s.name,
            item_no=s.item_no,
            department_code=s.department_code,
            unit_name=s.unit_name,
            amount_minor=s.amount_minor,
            is_example=s.is_example,
            effective_from=s.effective_from.isoformat(),
        )
        for s in list_fee_schedules(session)
    ]


@router.post("/orders", status_code=201)
def create(
    body: OrderIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Raise a payment order; the holder pays it with the card (…/pay)."""

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        order = payments.create_order(
            session,
            person_id=body.person_id,
            reference=body.reference,
            caller=caller_of(ctx),
            idempotency_key=str(idempotency_key),
            at=platform.clock.now(),
            schedule_code=body.schedule_code,
            amount=Money(body.amount_minor) if body.amount_minor is not None else None,
            item_no=body.item_no,
            department_code=body.department_code,
            purpose=body.purpose,
        )
        session.flush()
        return 201, order_json(order)

    status, text = run_once(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /payments/orders",
        body=body.model_dump(),
        operation=operation,
    )
    return Response(text, status_code=status, media_type="application/json")


@router.get("/orders")
def list_for_person(
    session: DbSession, _ctx: Context, person_id: Annotated[int, Query()]
) -> list[dict[str, Any]]:
    """A person's payment orders, newest first."""
    return [order_json(o) for o in queries.list_orders_for_holder(session, person_id)]


@router.get("/orders/{order_no}")
def show(order_no: str, session: DbSession, _ctx: Context) -> dict[str, Any]:
    order = queries.get_order(session, order_no)
    shown = order_json(order)
    shown["refunds"] = [refund_json(r) for r in queries.list_refunds(session, order)]
    return shown


@router.post("/orders/{order_no}/pay")
def pay(
    order_no: str,
    body: PayIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The holder pays with card and PIN at the counter: one debit whatever is retried. 200 with
    the order paid or failed (with the bank's reason); 202 while the bank's answer is unknown."""

    def operation() -> tuple[int, dict[str, Any]]:
        order = take_payment(
            platform,
            ctx,
            order_no=order_no,
            credential=PhysicalCard(body.card_number, body.pin),
            channel=Channel.COUNTER,
        )
        return (202 if order.status.value in ("unknown", "debiting") else 200), order_json(order)

    # The PIN never reaches the stored request hash in a form that could be guessed offline.
    hashed = {
        "card_number": body.card_number,
        "pin": platform.keys.blind_index("idempotency_pin", f"{body.card_number}:{body.pin}"),
    }
    status, text = run_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /payments/orders/{order_no}/pay",
        body=hashed,
        operation=operation,
    )
    return Response(text, status_code=status, media_type="application/json")


@router.post("/orders/{order_no}/refund")
def refund(
    order_no: str,
    body: RefundIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Pay the order back in full to the card account (the order's department only)."""

    def operation() -> tuple[int, dict[str, Any]]:
        made = refund_in_department(platform, ctx, order_no=order_no, reason=body.reason)
        return (202 if made.status.value in ("unknown", "crediting") else 200), refund_json(made)

    status, text = run_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /payments/orders/{order_no}/refund",
        body=body.model_dump(),
        operation=operation,
    )
    return Response(text, status_code=status, media_type="application/json")


@router.get("/orders/{order_no}/receipt.pdf")
def receipt(order_no: str, session: DbSession, platform: PlatformDep, _ctx: Context) -> Response:
    """The payment receipt (PDF, Chinese) of a paid order."""
    data = render_payment_receipt(payment_receipt_of(session, platform.keys, order_no))
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{order_no}.pdf"'},
    )
