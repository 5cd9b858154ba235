"""The counter's card pages: a holder's cards on the person page, one card with its history and
the operations its status allows, the issuance receipt (PDF), and production batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.bootstrap import Platform
from socialcard.cards import production, queries, sandbox_factory
from socialcard.cards.errors import STATUS_LABELS
from socialcard.cards.models import (
    DEAD,
    PARTNER_BANKS,
    Card,
    CardEvent,
    CardStatus,
)
from socialcard.cards.services import effective_status
from socialcard.db import transaction
from socialcard.errors import DomainError, InvalidField
from socialcard.http.cards import (
    ACTION_LABELS,
    CardAction,
    act_on_card,
    apply_at_counter,
    audit_batch,
    audit_card,
    batch_handling,
    view_card,
)
from socialcard.http.context import Context, DbSession, PlatformDep, RequestContext
from socialcard.http.persons import check_person_scope
from socialcard.kernel.crypto import sm3_hex
from socialcard.kernel.masking import mask_name
from socialcard.registry.queries import get_person
from socialcard.reports.card_receipt import CardReceipt, render_card_receipt
from socialcard.web.forms import FormErrors, see_other
from socialcard.web.rendering import refused_page, render_page

router = APIRouter()

EVENT_LABELS = {
    "applied": "申领",
    "data_collected": "采集完成",
    "sent_to_production": "送制",
    "produced": "制卡完成",
    "production_failed": "制卡失败",
    "issued": "发放",
    "activated": "启用",
    "loss_reported_temporary": "临时挂失",
    "loss_reported_formal": "正式挂失",
    "loss_report_cancelled": "解除挂失",
    "loss_report_lapsed": "临时挂失到期自动解除",
    "replaced": "被新卡取代",
    "cancelled": "注销",
    "pin_changed": "修改密码",
    "pin_failed": "密码错误",
    "pin_locked": "密码锁定",
    "pin_reset": "重置密码",
    "bank_account_activated": "银行账户激活",
}
CHANNEL_LABELS = {
    "counter": "窗口",
    "kiosk": "自助机",
    "web": "网站",
    "mobile": "手机",
    "phone": "电话",
    "bank": "银行",
    "hospital": "医院",
    "pharmacy": "药店",
    "batch": "批量",
    "system": "系统",
}
REPLACEMENT_REASONS = {"damage": "卡片损坏", "expiry": "有效期满", "new_generation": "换发第三代卡"}
BATCH_NOTICES = {
    "created": "已生成制卡批次，请下载送盘文件交制卡厂和合作银行。",
    "returned": "回盘文件已处理。",
}


def actions_for(status: CardStatus) -> list[CardAction]:
    """The operations the card's status allows, in the order a clerk needs them."""
    if status in DEAD:
        return []
    by_status = {
        CardStatus.APPLIED: [CardAction.COLLECT],
        CardStatus.PRODUCED: [CardAction.ISSUE],
        CardStatus.ISSUED: [
            CardAction.ACTIVATE,
            CardAction.REPORT_TEMPORARY,
            CardAction.REPORT_FORMAL,
            CardAction.REPLACE,
        ],
        CardStatus.ACTIVE: [
            CardAction.REPORT_TEMPORARY,
            CardAction.REPORT_FORMAL,
            CardAction.RESET_PIN,
            CardAction.REPLACE,
        ],
        CardStatus.REPORTED_TEMPORARY: [
            CardAction.CANCEL_REPORT,
            CardAction.REPORT_FORMAL,
            CardAction.REISSUE,
        ],
        CardStatus.REPORTED_FORMAL: [CardAction.CANCEL_REPORT, CardAction.REISSUE],
    }
    return by_status.get(status, [])


@dataclass(frozen=True, slots=True)
class EventRow:
    at: object
    label: str
    channel: str
    place: str
    note: str


def _event_rows(events: list[CardEvent]) -> list[EventRow]:
    return [
        EventRow(
            at=e.at,
            label=EVENT_LABELS.get(e.kind.value, e.kind.value),
            channel=CHANNEL_LABELS.get(e.channel, e.channel),
            place=e.terminal_code or e.region_code or "",
            note=e.note or "",
        )
        for e in reversed(events)
    ]


def holder_cards(session: Session, platform: Platform, person_id: int) -> list[dict[str, object]]:
    """The person page's card panel: every card of the holder, newest first."""
    now = platform.clock.now()
    return [
        view_card(c, at=now, policy=platform.card_policy).as_dict()
        for c in queries.list_cards_for_holder(session, person_id)
    ]


def _render_card(
    request: Request,
    session: Session,
    platform: Platform,
    card: Card,
    *,
    errors: FormErrors | None = None,
    done: str | None = None,
) -> Response:
    person = get_person(session, card.person_id)
    status = effective_status(card, platform.card_policy, platform.clock.now())
    return render_page(
        request,
        "cards/card.html",
        card=view_card(card, at=platform.clock.now(), policy=platform.card_policy),
        holder_name=mask_name(person.name),
        holder_id=person.id,
        holder_resident_id=person.resident_id_masked,
        actions=[(a.value, ACTION_LABELS[a]) for a in actions_for(status)],
        may_cancel=status not in DEAD,
        events=_event_rows(queries.list_card_events(session, card.id)),
        reasons=REPLACEMENT_REASONS,
        errors=errors or FormErrors(),
        done=done,
        status_code=errors.status_code if errors else 200,
    )


def _open_card(session: Session, ctx: RequestContext, card_number: str) -> Card:
    card = queries.get_card(session, card_number)
    check_person_scope(ctx.require_principal(), get_person(session, card.person_id))
    return card


# -- production batches --------------------------------------------------------------------------


@router.get("/cards/batches")
def batches_page(
    request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """Production batches, the applications waiting per bank, and the sandbox factory (not in
    production)."""
    ctx.require_principal()
    waiting = queries.count_collected_by_bank(session)
    return render_page(
        request,
        "cards/batches.html",
        batches=queries.list_batches(session),
        waiting=[(code, PARTNER_BANKS.get(code, code), count) for code, count in waiting.items()],
        banks=PARTNER_BANKS,
        status_labels=STATUS_LABELS,
        sandbox=platform.settings.environment != "production",
        notice=BATCH_NOTICES.get(request.query_params.get("done", "")),
    )


@router.post("/cards/batches")
def create_batch(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    bank_code: Annotated[str, Form()] = "",
) -> Response:
    try:
        with transaction(session):
            sent = production.create_production_batch(
                session,
                platform.keys,
                platform.card_policy,
                bank_code=bank_code,
                handling=batch_handling(platform, ctx),
            )
            audit_batch(session, platform, ctx, "card.batch_created", sent.batch.batch_no)
    except DomainError as error:
        session.rollback()
        return refused_page(request, error, back="/cards/batches")
    return see_other("/cards/batches?done=created")


@router.get("/cards/batches/{batch_no}/send-file")
def send_file(batch_no: str, ctx: Context, session: DbSession, platform: PlatformDep) -> Response:
    with transaction(session):
        batch = queries.get_batch(session, batch_no)
        data = production.render_batch_send_file(
            session, platform.keys, platform.card_policy, batch
        )
        audit_batch(session, platform, ctx, "card.batch_send_file", batch.batch_no)
    return Response(
        data,
        media_type="text/plain; charset=gbk",
        headers={"Content-Disposition": f'attachment; filename="ZK_{batch_no}.txt"'},
    )


@router.post("/cards/batches/{batch_no}/return-file")
async def return_file(
    batch_no: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    content = await file.read(50 << 20)
    return _apply_return(request, session, platform, ctx, batch_no, content)


@router.post("/cards/batches/{batch_no}/sandbox")
def run_sandbox(
    batch_no: str, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The sandbox card factory makes the batch at once (demo and test systems only)."""
    if platform.settings.environment == "production":
        raise InvalidField("batch_no", "sandbox", "生产环境没有模拟制卡厂。")
    with transaction(session):
        batch = queries.get_batch(session, batch_no)
        data = production.render_batch_send_file(
            session, platform.keys, platform.card_policy, batch
        )
    seed = int(sm3_hex(batch_no.encode())[:8], 16)  # one batch, one outcome, however often run
    returned = sandbox_factory.produce(data, at=platform.clock.now(), seed=seed)
    return _apply_return(request, session, platform, ctx, batch_no, returned)


def _apply_return(
    request: Request,
    session: Session,
    platform: Platform,
    ctx: RequestContext,
    batch_no: str,
    content: bytes,
) -> Response:
    try:
        with transaction(session):
            production.apply_production_return(
                session,
                platform.keys,
                batch_no=batch_no,
                content=content,
                handling=batch_handling(platform, ctx),
            )
            audit_batch(session, platform, ctx, "card.batch_returned", batch_no)
    except DomainError as error:
        session.rollback()
        return refused_page(request, error, back="/cards/batches")
    return see_other("/cards/batches?done=returned")


# -- one card ---------------------------------------------------------------------------------


@router.get("/cards/{card_number}")
def card_page(
    card_number: str, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """One card: status, bank account (masked), history, and the operations now possible."""
    with transaction(session):
        card = _open_card(session, ctx, card_number)
        audit_card(session, platform, ctx, "card.view", card)
    done = request.query_params.get("done", "")
    labels = {action.value: label for action, label in ACTION_LABELS.items()}
    labels["apply"] = "申领"
    return _render_card(request, session, platform, card, done=labels.get(done))


@router.post("/persons/{person_id}/cards")
def apply_for_card(
    person_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    bank_code: Annotated[str, Form()] = "",
    photo_collected: Annotated[str, Form()] = "",
) -> Response:
    """申领 at the counter; back to the person page with the new card."""
    try:
        with transaction(session):
            card = apply_at_counter(
                session,
                platform,
                ctx,
                person_id=person_id,
                bank_code=bank_code,
                photo_collected=photo_collected == "yes",
            )
            number = card.card_number
    except DomainError as error:
        session.rollback()
        return refused_page(request, error, back=f"/persons/{person_id}")
    return see_other(f"/cards/{number}?done=apply")


@router.post("/cards/{card_number}/actions/{action}")
def act(
    card_number: str,
    action: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    new_pin: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """One counter operation; the page comes back with the result or the reason it was refused."""
    try:
        chosen = CardAction(action)
    except ValueError:
        chosen = None
    try:
        if chosen is None or chosen is CardAction.CANCEL:
            raise InvalidField("action", "known_action", "没有这项业务。")
        with transaction(session):
            result = act_on_card(
                session,
                platform,
                ctx,
                card_number=card_number,
                action=chosen,
                new_pin=new_pin or None,
                reason=reason or None,
            )
            number = result.card_number
    except DomainError as error:
        session.rollback()
        card = _open_card(session, ctx, card_number)
        return _render_card(request, session, platform, card, errors=FormErrors.of(error))
    return see_other(f"/cards/{number}?done={chosen.value}")


@router.post("/cards/{card_number}/cancel")
def cancel(
    card_number: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """注销 by hand (deaths and moves are cancelled from the registry)."""
    try:
        if not reason.strip():
            raise InvalidField("reason", "required", "请填写注销原因。")
        with transaction(session):
            act_on_card(
                session,
                platform,
                ctx,
                card_number=card_number,
                action=CardAction.CANCEL,
                reason=reason.strip(),
            )
    except DomainError as error:
        session.rollback()
        card = _open_card(session, ctx, card_number)
        return _render_card(request, session, platform, card, errors=FormErrors.of(error))
    return see_other(f"/cards/{card_number}?done=cancel")


@router.get("/cards/{card_number}/receipt.pdf")
def receipt(card_number: str, ctx: Context, session: DbSession, platform: PlatformDep) -> Response:
    """领卡回执: printed at issuance for the holder to sign."""
    with transaction(session):
        card = _open_card(session, ctx, card_number)
        if card.issued_on is None:
            raise InvalidField("card_number", "issued", "该卡尚未发放，没有领卡回执。")
        person = get_person(session, card.person_id)
        principal = ctx.require_principal()
        data = render_card_receipt(
            CardReceipt(
                holder_name=person.name,
                resident_id_masked=person.resident_id_masked,
                card_number=card.card_number,
                card_uid=card.card_uid or "",
                bank_name=PARTNER_BANKS.get(card.bank_code, card.bank_code),
                bank_account_masked=card.bank_account_masked or "",
                issued_on=card.issued_on,
                issued_region_code=card.issued_region_code or "",
                clerk=principal.display_name,
                printed_at=platform.clock.now(),
                verification=platform.keys.blind_index("card_receipt", card.card_number)[
                    :12
                ].upper(),
            )
        )
        audit_card(session, platform, ctx, "card.view", card, receipt=True)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="receipt-{card.card_number}.pdf"'},
    )
