"""Cards for staff and partner systems: applications, the counter's operations, card history,
production batches. Every unsafe call takes an Idempotency-Key header."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, File, Header, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from socialcard.api.routes import api_router
from socialcard.bootstrap import Platform
from socialcard.cards import production, queries
from socialcard.cards.models import PARTNER_BANKS, Card, CardEvent, ProductionBatch
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.http.cards import (
    CardAction,
    act_on_card,
    apply_at_counter,
    audit_batch,
    audit_card,
    batch_handling,
    view_card,
)
from socialcard.http.context import Context, DbSession, PlatformDep
from socialcard.http.idempotency import run_once
from socialcard.http.persons import check_person_scope
from socialcard.registry.queries import get_person

router = api_router("/cards", "cards")

RETURN_FILE_BYTES_MAX = 50 << 20
IDEMPOTENCY = Header(
    default=None,
    alias="Idempotency-Key",
    description="8–80 characters; the same key and body again replays the first response",
)


class CardOut(BaseModel):
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


class CardEventOut(BaseModel):
    kind: str
    status_after: str
    at: datetime
    channel: str
    staff_id: int | None
    terminal_code: str | None
    region_code: str | None
    note: str | None


class ApplicationIn(BaseModel):
    person_id: int
    bank_code: str = Field(description="partner bank: " + ", ".join(PARTNER_BANKS))
    photo_collected: bool = False


class ActionIn(BaseModel):
    new_pin: str | None = Field(default=None, description="activation and PIN reset")
    reason: str | None = Field(
        default=None,
        max_length=200,
        description="replacement: damage, expiry or new_generation; cancellation: free text",
    )


class BatchIn(BaseModel):
    bank_code: str
    encoding: str = Field(default="gbk", pattern="^(gbk|utf-8)$")


class BatchOut(BaseModel):
    batch_no: str
    bank_code: str
    status: str
    card_count: int
    produced_count: int
    failed_count: int
    created_at: datetime
    returned_at: datetime | None


def _card_out(card: Card, platform: Platform) -> dict[str, Any]:
    return view_card(card, at=platform.clock.now(), policy=platform.card_policy).as_dict()


def _event_out(event: CardEvent) -> CardEventOut:
    return CardEventOut(
        kind=event.kind.value,
        status_after=event.status_after.value,
        at=event.at,
        channel=event.channel,
        staff_id=event.staff_id,
        terminal_code=event.terminal_code,
        region_code=event.region_code,
        note=event.note,
    )


def _batch_out(batch: ProductionBatch) -> BatchOut:
    return BatchOut(
        batch_no=batch.batch_no,
        bank_code=batch.bank_code,
        status=batch.status.value,
        card_count=batch.card_count,
        produced_count=batch.produced_count,
        failed_count=batch.failed_count,
        created_at=batch.created_at,
        returned_at=batch.returned_at,
    )


@router.post("/applications", response_model=CardOut, status_code=201)
def apply_for_card(
    body: ApplicationIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: str | None = IDEMPOTENCY,
) -> Response:
    """Apply for a resident's first card (申领)."""

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        card = apply_at_counter(
            session,
            platform,
            ctx,
            person_id=body.person_id,
            bank_code=body.bank_code,
            photo_collected=body.photo_collected,
        )
        session.flush()
        return 201, _card_out(card, platform)

    status, response = run_once(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /cards/applications",
        body=body.model_dump(),
        operation=operation,
    )
    return Response(response, status_code=status, media_type="application/json")


def _action_route(action: CardAction, summary: str) -> None:
    path = "/{card_number}/" + action.value.replace("_", "-")

    def handler(
        card_number: str,
        ctx: Context,
        platform: PlatformDep,
        body: Annotated[ActionIn, Body(default_factory=ActionIn)],
        idempotency_key: str | None = IDEMPOTENCY,
    ) -> Response:
        given = body

        def operation(session: Session) -> tuple[int, dict[str, Any]]:
            card = act_on_card(
                session,
                platform,
                ctx,
                card_number=card_number,
                action=action,
                new_pin=given.new_pin,
                reason=given.reason,
            )
            session.flush()
            return 200, _card_out(card, platform)

        status, response = run_once(
            platform,
            ctx,
            key=idempotency_key,
            route=f"POST /cards/{card_number}/{action.value}",
            body=given.model_dump(),
            operation=operation,
        )
        return Response(response, status_code=status, media_type="application/json")

    handler.__name__ = f"card_{action.value}"
    handler.__doc__ = summary
    router.add_api_route(path, handler, methods=["POST"], response_model=CardOut, summary=summary)


for _action, _summary in (
    (CardAction.COLLECT, "Photo and data collected (采集): the application can be produced."),
    (CardAction.ISSUE, "Hand the produced card to its holder (发放); retires a replaced card."),
    (CardAction.ACTIVATE, "Activate the social-security function with a new PIN (启用)."),
    (CardAction.REPORT_TEMPORARY, "Temporary loss report (临时挂失): refused everywhere at once."),
    (CardAction.REPORT_FORMAL, "Formal loss report in person (正式挂失)."),
    (CardAction.CANCEL_REPORT, "Cancel a loss report (解挂)."),
    (CardAction.REISSUE, "Reissue after loss (补卡): the old card is dead; returns the new card."),
    (CardAction.REPLACE, "Replace (换卡: damage, expiry, new generation); returns the new card."),
    (CardAction.CANCEL, "Cancel the card for good (注销)."),
    (CardAction.RESET_PIN, "Reset and unblock the PIN after an identity check (重置密码)."),
):
    _action_route(_action, _summary)


@router.post("/batches", response_model=BatchOut, status_code=201)
def create_batch(
    body: BatchIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: str | None = IDEMPOTENCY,
) -> Response:
    """Put the collected applications of one partner bank into a production batch; the send
    file is then downloaded from /batches/{batch_no}/send-file."""
    if body.bank_code not in PARTNER_BANKS:
        raise InvalidField("bank_code", "partner_bank", "请选择合作银行。")

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        sent = production.create_production_batch(
            session,
            platform.keys,
            platform.card_policy,
            bank_code=body.bank_code,
            handling=batch_handling(platform, ctx),
            encoding=body.encoding,
        )
        audit_batch(
            session,
            platform,
            ctx,
            "card.batch_created",
            sent.batch.batch_no,
            cards=sent.batch.card_count,
        )
        return 201, _batch_out(sent.batch).model_dump(mode="json")

    status, response = run_once(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /cards/batches",
        body=body.model_dump(),
        operation=operation,
    )
    return Response(response, status_code=status, media_type="application/json")


@router.get("/batches/{batch_no}/send-file")
def download_send_file(
    batch_no: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The batch's send file, rendered again from the cards (same SM3 as when it was created)."""
    with transaction(session):
        batch = queries.get_batch(session, batch_no)
        data = production.render_batch_send_file(
            session, platform.keys, platform.card_policy, batch
        )
        audit_batch(
            session, platform, ctx, "card.batch_send_file", batch.batch_no, cards=batch.card_count
        )
    return Response(
        data,
        media_type="text/plain; charset=gbk",
        headers={"Content-Disposition": f'attachment; filename="ZK_{batch.batch_no}.txt"'},
    )


@router.post("/batches/{batch_no}/return-file", response_model=BatchOut)
async def upload_return_file(
    batch_no: str,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    file: UploadFile = File(...),
) -> BatchOut:
    """Apply the factory's and bank's return file: all lines or none (problems listed). The same
    file again changes nothing."""
    content = await file.read(RETURN_FILE_BYTES_MAX + 1)
    if len(content) > RETURN_FILE_BYTES_MAX:
        raise InvalidField("file", "size", "回盘文件不能超过 50 MB。")
    with transaction(session):
        batch = production.apply_production_return(
            session,
            platform.keys,
            batch_no=batch_no,
            content=content,
            handling=batch_handling(platform, ctx),
        )
        audit_batch(
            session, platform, ctx, "card.batch_returned", batch.batch_no, cards=batch.card_count
        )
    return _batch_out(batch)


@router.get("/batches", response_model=list[BatchOut])
def list_batches(ctx: Context, session: DbSession) -> list[BatchOut]:
    """The latest production batches."""
    ctx.require_principal()
    return [_batch_out(b) for b in queries.list_batches(session)]


@router.get("/{card_number}", response_model=CardOut)
def get_card(card_number: str, ctx: Context, session: DbSession, platform: PlatformDep) -> CardOut:
    """One card (bank account masked, never the PIN)."""
    with transaction(session):
        card = queries.get_card(session, card_number)
        check_person_scope(ctx.require_principal(), get_person(session, card.person_id))
        audit_card(session, platform, ctx, "card.view", card)
    return CardOut(**_card_out(card, platform))


@router.get("/{card_number}/events", response_model=list[CardEventOut])
def list_card_events(
    card_number: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> list[CardEventOut]:
    """Everything that happened to the card: who, where, when, through which channel."""
    with transaction(session):
        card = queries.get_card(session, card_number)
        check_person_scope(ctx.require_principal(), get_person(session, card.person_id))
        events = queries.list_card_events(session, card.id)
        audit_card(session, platform, ctx, "card.view", card)
    return [_event_out(e) for e in events]
