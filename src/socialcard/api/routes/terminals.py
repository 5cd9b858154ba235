"""Terminals: admission by the system administrator, and the signed calls admitted terminals make
(card uses through the card-use door, card reads, PIN changes, bank-account activation).

Terminal calls are authenticated by their signature (access.terminals), never by a token; the
policy file names them "terminal:<operation>" and each terminal kind may do only its operations.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Header
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from socialcard.access import terminals
from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult, Terminal, TerminalKind
from socialcard.api.routes import api_router
from socialcard.bootstrap import Platform
from socialcard.cards import card_areas
from socialcard.cards import queries as card_queries
from socialcard.cards import services as card_services
from socialcard.cards.door import CheckedCard, ElectronicCard, PhysicalCard
from socialcard.cards.errors import CardUseRefused
from socialcard.cards.models import Card
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.errors import InvalidField
from socialcard.http.cards import audit_card, present_in, record_card_refusal, view_card
from socialcard.http.cards import change_pin as change_pin_counted
from socialcard.http.context import (
    Context,
    DbSession,
    PlatformDep,
    RequestContext,
    TerminalIdentity,
)
from socialcard.http.idempotency import run_once
from socialcard.kernel.crypto import hmac_sm3
from socialcard.kernel.masking import mask_card_number, mask_name

router = api_router("/terminals", "terminals")
signed = api_router("/terminal", "terminal calls (signed)")

CHANNEL_OF_KIND = {
    TerminalKind.COUNTER: Channel.COUNTER,
    TerminalKind.KIOSK: Channel.KIOSK,
    TerminalKind.HOSPITAL: Channel.HOSPITAL,
    TerminalKind.PHARMACY: Channel.PHARMACY,
    TerminalKind.BANK: Channel.BANK,
    TerminalKind.VILLAGE_AGENT: Channel.COUNTER,
}
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


class TerminalIn(BaseModel):
    terminal_code: str = Field(description="4–40 of A–Z, 0–9 and -")
    kind: TerminalKind
    name: str = Field(min_length=1, max_length=100)
    county_code: str = Field(pattern=r"^\d{6}$")
    location: str = Field(min_length=1, max_length=200)
    institution_id: int | None = None
    bank_code: str | None = Field(default=None, description="the partner bank (bank terminals)")


class TerminalOut(BaseModel):
    terminal_code: str
    kind: str
    kind_label: str
    name: str
    county_code: str
    location: str
    status: str
    key_version: int


class AdmissionOut(TerminalOut):
    terminal_key: str = Field(description="hex SM4 key: load it into the terminal, shown once")


def _out(terminal: Terminal) -> TerminalOut:
    return TerminalOut(
        terminal_code=terminal.terminal_code,
        kind=terminal.kind.value,
        kind_label=terminals.TERMINAL_KIND_LABELS[terminal.kind],
        name=terminal.name,
        county_code=terminal.county_code,
        location=terminal.location,
        status=terminal.status.value,
        key_version=terminal.key_version,
    )


def _audit(
    session: Session, platform: Platform, ctx: RequestContext, action: str, code: str
) -> None:
    append_audit(
        session,
        ctx.event(action, AuditResult.SUCCESS, object_type="terminal", object_id=code),
        at=platform.clock.now(),
    )


@router.get("", response_model=list[TerminalOut])
def list_terminals(ctx: Context, session: DbSession) -> list[TerminalOut]:
    """Every registered terminal with its admission status."""
    ctx.require_principal()
    return [_out(t) for t in terminals.list_terminals(session)]


@router.post("", response_model=TerminalOut, status_code=201)
def register_terminal(
    body: TerminalIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> TerminalOut:
    """Register a terminal (not yet admitted)."""
    with transaction(session):
        terminal = terminals.register_terminal(
            session,
            terminal_code=body.terminal_code,
            kind=body.kind,
            name=body.name,
            county_code=body.county_code,
            location=body.location,
            institution_id=body.institution_id,
            bank_code=body.bank_code,
            at=platform.clock.now(),
        )
        _audit(session, platform, ctx, "terminal.register", terminal.terminal_code)
    return _out(terminal)


@router.post("/{terminal_code}/admission", response_model=AdmissionOut)
def admit_terminal(
    terminal_code: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> AdmissionOut:
    """Admit (入网) the terminal and issue a fresh key; a re-admission rotates the key."""
    with transaction(session):
        key = terminals.admit_terminal(
            session,
            platform.keys,
            terminal_code=terminal_code,
            staff_id=ctx.require_principal().staff_id,
            at=platform.clock.now(),
        )
        terminal = terminals.get_terminal(session, terminal_code)
        _audit(session, platform, ctx, "terminal.admit", terminal.terminal_code)
    return AdmissionOut(**_out(terminal).model_dump(), terminal_key=key.hex())


@router.post("/{terminal_code}/suspension", response_model=TerminalOut)
def suspend_terminal(
    terminal_code: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> TerminalOut:
    """Stop the terminal at once; every call it makes is refused until it is admitted again."""
    with transaction(session):
        terminal = terminals.suspend_terminal(
            session, terminal_code=terminal_code, at=platform.clock.now()
        )
        _audit(session, platform, ctx, "terminal.suspend", terminal.terminal_code)
    return _out(terminal)


@router.post("/{terminal_code}/revocation", response_model=TerminalOut)
def revoke_terminal(
    terminal_code: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> TerminalOut:
    """Remove the terminal for good."""
    with transaction(session):
        terminal = terminals.revoke_terminal(
            session, terminal_code=terminal_code, at=platform.clock.now()
        )
        _audit(session, platform, ctx, "terminal.revoke", terminal.terminal_code)
    return _out(terminal)


# -- signed terminal calls ---------------------------------------------------------------------


class CardCredentialIn(BaseModel):
    kind: Literal["card"] = "card"
    card_number: str = Field(min_length=9, max_length=12)
    pin: str | None = Field(default=None, description="typed on the PIN pad; counters may omit")


class EcardCredentialIn(BaseModel):
    kind: Literal["ecard"]
    token: str = Field(min_length=10, max_length=80)
    payment: bool = False


class CardUseIn(BaseModel):
    item_no: int = Field(ge=1, le=999)
    credential: CardCredentialIn | EcardCredentialIn = Field(discriminator="kind")


class HolderOut(BaseModel):
    name_masked: str
    resident_id_masked: str


class CardUseOut(BaseModel):
    use_id: int
    item_no: int
    card_number_masked: str
    holder: HolderOut
    one_time_credential: str = Field(description="names this accepted use in follow-up calls")


@signed.post("/card-uses", response_model=CardUseOut)
def present_card_at_terminal(
    body: CardUseIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Present a card (chip + PIN, or a clerk-checked card at a counter terminal) or an
    electronic-card code for one use of a catalogue item. Refusals carry the door's codes
    (card_reported_lost, pin_incorrect, item_not_opened, …) and are recorded too."""
    terminal = ctx.require_terminal()
    credential: PhysicalCard | CheckedCard | ElectronicCard
    given = body.credential
    if isinstance(given, EcardCredentialIn):
        credential = ElectronicCard(given.token, payment=given.payment)
    elif given.pin is not None:
        credential = PhysicalCard(given.card_number, given.pin)
    elif terminal.kind is TerminalKind.COUNTER:
        credential = CheckedCard(given.card_number)
    else:
        raise InvalidField("credential.pin", "required", "该终端须由持卡人输入密码。")

    at = platform.clock.now()
    channel = CHANNEL_OF_KIND[terminal.kind]

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        presented = present_in(
            session,
            platform,
            credential=credential,
            item_no=body.item_no,
            channel=channel,
            county_code=terminal.county_code,
            terminal_code=terminal.terminal_code,
            at=at,
        )
        session.flush()
        proof = hmac_sm3(platform.keys.index_key, f"use:{presented.use.id}".encode()).hex()[:24]
        return 200, CardUseOut(
            use_id=presented.use.id,
            item_no=body.item_no,
            card_number_masked=mask_card_number(presented.card.card_number),
            holder=HolderOut(
                name_masked=mask_name(presented.holder.name),
                resident_id_masked=presented.holder.resident_id_masked,
            ),
            one_time_credential=f"{presented.use.id}.{proof}",
        ).model_dump()

    try:
        if idempotency_key is None:  # a use without a key is simply not replay-safe
            with platform.session() as session, transaction(session):
                status, payload = operation(session)
            response = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        else:
            status, response = run_once(
                platform,
                ctx,
                key=idempotency_key,
                route="POST /terminal/card-uses",
                body=body.model_dump(),
                operation=operation,
            )
    except CardUseRefused as refusal:
        record_card_refusal(
            platform,
            ctx,
            refusal,
            item_no=body.item_no,
            channel=channel,
            county_code=terminal.county_code,
            terminal_code=terminal.terminal_code,
            at=at,
        )
        raise
    return Response(response, status_code=status, media_type="application/json")


class CardReadIn(BaseModel):
    card_number: str = Field(min_length=9, max_length=12)


class CardStatusOut(BaseModel):
    card_number_masked: str
    status: str
    status_label: str
    bank_account_activated: bool
    pin_locked: bool


@signed.post("/cards/read", response_model=CardStatusOut)
def read_card(
    body: CardReadIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> CardStatusOut:
    """The card's status as a terminal may show it (masked; no holder data)."""
    ctx.require_terminal()
    return _status_out(card_queries.get_card(session, body.card_number), platform)


def _status_out(card: Card, platform: Platform) -> CardStatusOut:
    view = view_card(card, at=platform.clock.now(), policy=platform.card_policy)
    return CardStatusOut(
        card_number_masked=mask_card_number(card.card_number),
        status=view.status,
        status_label=view.status_label,
        bank_account_activated=view.bank_account_activated,
        pin_locked=view.pin_locked,
    )


class PinChangeIn(BaseModel):
    card_number: str = Field(min_length=9, max_length=12)
    old_pin: str
    new_pin: str


def _handling_at(terminal: TerminalIdentity, platform: Platform) -> card_services.Handling:
    """A card operation made at this terminal, now."""
    return card_services.Handling(
        channel=CHANNEL_OF_KIND[terminal.kind].value,
        at=platform.clock.now(),
        terminal_code=terminal.terminal_code,
        region_code=terminal.county_code,
    )


@signed.post("/cards/pin-change", status_code=204)
def change_pin(body: PinChangeIn, ctx: Context, platform: PlatformDep) -> None:
    """The holder changes the PIN on the terminal's pad (a wrong old PIN counts as a failure)."""
    terminal = ctx.require_terminal()
    handling = _handling_at(terminal, platform)
    change_pin_counted(
        platform,
        ctx,
        card_number=body.card_number,
        old_pin=body.old_pin,
        new_pin=body.new_pin,
        handling=handling,
    )


class BankActivationIn(BaseModel):
    card_number: str = Field(min_length=9, max_length=12)


@signed.post("/cards/bank-activation", response_model=CardStatusOut)
def activate_bank_account(
    body: BankActivationIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> CardStatusOut:
    """A partner bank tells the platform that the holder activated the card's bank account at its
    branch (银行账户激活). Repeating the notice changes nothing."""
    terminal = ctx.require_terminal()
    with transaction(session):
        bank_code = terminals.get_terminal(session, terminal.terminal_code).bank_code or ""
        card = card_services.activate_bank_account(
            session,
            card_number=body.card_number,
            bank_code=bank_code,
            handling=card_services.Handling(
                channel="bank",
                at=platform.clock.now(),
                terminal_code=terminal.terminal_code,
                region_code=terminal.county_code,
            ),
        )
        audit_card(session, platform, ctx, "card.bank_account_activated", card)
    return _status_out(card, platform)


class AreaWriteIn(BaseModel):
    card_number: str = Field(min_length=9, max_length=12)
    area: str = Field(pattern="^DF0[1-4]$")
    file_id: str = Field(pattern="^EF0[5-7]$")
    record_no: int = Field(ge=1, le=254)
    value_hex: str = Field(pattern="^([0-9A-Fa-f]{2}){1,200}$")
    challenge_hex: str = Field(pattern="^[0-9A-Fa-f]{16}$")


class AreaWriteOut(BaseModel):
    mac_hex: str = Field(description="append to the UPDATE RECORD command (04 DC …)")


class AreaWriteConfirmIn(BaseModel):
    card_number: str = Field(min_length=9, max_length=12)
    area: str = Field(pattern="^DF0[1-4]$")
    file_id: str = Field(pattern="^EF0[5-7]$")
    record_no: int = Field(ge=1, le=254)


@signed.post("/cards/area-writes", response_model=AreaWriteOut)
def prepare_area_write(
    body: AreaWriteIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> AreaWriteOut:
    """写卡: the MAC for writing one record into a usable card's data area after the card's
    challenge; the platform records what the card should now hold."""
    terminal = ctx.require_terminal()
    with transaction(session):
        mac = card_areas.prepare_area_write(
            session,
            platform.keys,
            card_number=body.card_number,
            area=body.area,
            file_id=body.file_id,
            record_no=body.record_no,
            value=bytes.fromhex(body.value_hex),
            challenge=bytes.fromhex(body.challenge_hex),
            terminal_code=terminal.terminal_code,
            at=platform.clock.now(),
        )
    return AreaWriteOut(mac_hex=mac.hex().upper())


@signed.post("/cards/area-writes/confirm", status_code=204)
def confirm_area_write(
    body: AreaWriteConfirmIn, ctx: Context, session: DbSession, platform: PlatformDep
) -> None:
    """The card answered 9000 to the write: the platform marks the record written."""
    terminal = ctx.require_terminal()
    with transaction(session):
        record = card_areas.confirm_area_write(
            session,
            card_number=body.card_number,
            area=body.area,
            file_id=body.file_id,
            record_no=body.record_no,
            terminal_code=terminal.terminal_code,
            at=platform.clock.now(),
        )
        card = session.get(Card, record.card_id)
        assert card is not None
        audit_card(
            session,
            platform,
            ctx,
            "card.area_written",
            card,
            area=body.area,
            file_id=body.file_id,
            record_no=body.record_no,
        )


class PaymentsQueryIn(BaseModel):
    card_number: str = Field(min_length=9, max_length=12)
    pin: str = Field(min_length=6, max_length=6)


class ReceivedPaymentOut(BaseModel):
    paid_at: datetime | None
    programme: str
    department_code: str
    period: str
    amount_minor: int
    status: str
    bank_code: str | None
    reason: str | None


@signed.post("/payments/received", response_model=list[ReceivedPaymentOut])
def payments_received(
    body: PaymentsQueryIn, ctx: Context, platform: PlatformDep
) -> list[ReceivedPaymentOut]:
    """惠民资金查询 at a bank's or the city's self-service terminal: the holder inserts the card
    and enters the PIN; the answer lists what was paid into the card's account (a wrong PIN is
    counted like anywhere else)."""
    from socialcard.cards.door import check_pin, check_usable
    from socialcard.disbursement.queries import list_payments_received
    from socialcard.http.cards import count_wrong_pin

    terminal = ctx.require_terminal()
    handling = _handling_at(terminal, platform)
    try:
        with platform.session() as session, transaction(session):
            card = card_queries.get_card(session, body.card_number)
            card_services.refresh_card(session, card, platform.card_policy, handling.at)
            check_usable(card)
            check_pin(card, platform.keys, platform.card_policy, body.pin)
            payments = list_payments_received(session, card.person_id, limit=100)
            audit_card(session, platform, ctx, "card.payments_queried", card, count=len(payments))
    except CardUseRefused as refusal:
        count_wrong_pin(platform, refusal, handling)
        raise
    return [
        ReceivedPaymentOut(
            paid_at=p.paid_at,
            programme=p.programme,
            department_code=p.department_code,
            period=p.period,
            amount_minor=p.amount_minor,
            status=p.status.value,
            bank_code=p.bank_code,
            reason=p.reason,
        )
        for p in payments
    ]
