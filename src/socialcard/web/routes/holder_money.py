"""What a cardholder was paid (惠民资金查询): every subsidy, benefit and wage paid into the card's
bank account, with the programme, the paying department and the outcome — in the portal and at
the kiosk, behind the holder's card-and-PIN session."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from socialcard.access.notifications import list_messages
from socialcard.cards.models import PARTNER_BANKS
from socialcard.disbursement.errors import LINE_STATUS_LABELS
from socialcard.disbursement.queries import list_payments_received
from socialcard.http.context import Context, DbSession
from socialcard.kernel.masking import mask_name
from socialcard.registry.queries import get_person
from socialcard.web.rendering import render_page

router = APIRouter()


def _render(request: Request, ctx: Context, session: DbSession, *, kiosk: bool) -> Response:
    holder = ctx.require_holder()
    person = get_person(session, holder.person_id)
    payments = list_payments_received(session, holder.person_id, limit=100)
    paid_total = sum(p.amount_minor for p in payments if p.status.value == "paid")
    return render_page(
        request,
        "holders/benefits.html",
        kiosk=kiosk,
        holder_name=mask_name(person.name),
        payments=payments,
        paid_total=paid_total,
        messages=list_messages(session, holder.person_id, limit=10),
        banks=PARTNER_BANKS,
        labels=LINE_STATUS_LABELS,
        holder_csrf=holder.csrf_token,
    )


@router.get("/portal/benefits")
def portal_benefits(request: Request, ctx: Context, session: DbSession) -> Response:
    return _render(request, ctx, session, kiosk=False)


@router.get("/kiosk/benefits")
def kiosk_benefits(request: Request, ctx: Context, session: DbSession) -> Response:
    return _render(request, ctx, session, kiosk=True)
