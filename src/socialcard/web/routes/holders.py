"""The cardholder's doors: the resident portal (website and mobile: my card, temporary loss
report, the electronic card's QR code) and the kiosk (insert card, PIN, a menu of what is opened
in this county, automatic sign-out). Holders sign in with card and PIN (the portal also asks for
the ID number); every wrong PIN counts toward the lock."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from socialcard.access.holders import KIOSK_IDLE_SECONDS, end_holder_session, start_holder_session
from socialcard.access.verification import CodeRefused, check_code, count_wrong_try, issue_code
from socialcard.bootstrap import Platform
from socialcard.cards import queries as card_queries
from socialcard.cards import services as card_services
from socialcard.cards.door import sign_in_holder
from socialcard.cards.ecard import issue_ecard_token
from socialcard.cards.errors import CardUseRefused
from socialcard.cards.models import PARTNER_BANKS, ApplicationReason, Card, CardStatus
from socialcard.cards.services import Handling, LossReportKind, effective_status
from socialcard.catalog import queries as catalog_queries
from socialcard.catalog.models import USAGE_KIND_LABELS, OpeningStatus
from socialcard.db import transaction
from socialcard.errors import DomainError, InvalidField
from socialcard.http.cards import audit_card, change_pin, count_wrong_pin, view_card
from socialcard.http.context import HOLDER_COOKIE, Context, DbSession, PlatformDep, RequestContext
from socialcard.kernel.clock import local_today
from socialcard.kernel.masking import mask_name
from socialcard.kernel.resident_id import InvalidResidentId, ResidentId
from socialcard.registry.household.rules import normalise_phone
from socialcard.registry.models import PersonStatus
from socialcard.registry.queries import find_person_by_resident_id, get_person
from socialcard.registry.services import phone_index as registry_phone_index
from socialcard.registry.services import resident_id_index
from socialcard.web.forms import see_other
from socialcard.web.rendering import render_page

router = APIRouter()

PORTAL_NOTICES = {
    "reported": (
        "已临时挂失。本卡及电子社保卡已在所有渠道停用；请在有效期内到服务窗口办理正式挂失或补卡。"
    ),
    "cancelled": "已解除临时挂失，本卡恢复使用。",
    "signed_out": "您已安全退出。",
    "replacement": (
        "换卡申请已受理。请携带身份证件到任一服务窗口采集照片；新卡发放前旧卡可继续使用。"
    ),
}


def _sign_in(
    platform: Platform,
    *,
    channel: str,
    card_number: str,
    pin: str,
    resident_id: str | None,
) -> str:
    """Check card and PIN; a session token, or a DomainError (a wrong PIN is counted first)."""
    index = None
    if resident_id is not None:
        try:
            number = ResidentId.parse(resident_id, today=local_today(platform.clock))
        except InvalidResidentId as error:
            raise InvalidField("resident_id", "resident_id", "社会保障号码格式不正确。") from error
        index = resident_id_index(platform.keys, number)
    at = platform.clock.now()
    with platform.session() as session:
        try:
            with transaction(session):
                card = sign_in_holder(
                    session,
                    platform.keys,
                    platform.card_policy,
                    card_number=card_number,
                    pin=pin,
                    resident_id_index=index,
                    at=at,
                    allow_reported=channel == "portal",
                )
                started = start_holder_session(
                    session, person_id=card.person_id, card_id=card.id, channel=channel, at=at
                )
                return started.token
        except CardUseRefused as refusal:
            session.rollback()
            count_wrong_pin(
                platform,
                refusal,
                Handling(channel="web" if channel == "portal" else channel, at=at),
            )
            raise


def _signed_in(response: Response, token: str, platform: Platform, channel: str) -> Response:
    response.set_cookie(
        HOLDER_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=platform.settings.secure_cookies,
        path="/",
        max_age=None if channel == "portal" else KIOSK_IDLE_SECONDS * 4,
    )
    return response


def _sign_out(platform: Platform, ctx: RequestContext, target: str) -> Response:
    holder = ctx.require_holder()
    with platform.session() as session, transaction(session):
        end_holder_session(session, session_id=holder.session_id, at=platform.clock.now())
    response = see_other(target)
    response.delete_cookie(HOLDER_COOKIE, path="/")
    return response


def _holder_card(session: Session, ctx: RequestContext) -> Card:
    holder = ctx.require_holder()
    card = session.get(Card, holder.card_id)
    assert card is not None
    return card


# -- the resident portal -----------------------------------------------------------------------


@router.get("/portal")
def portal(request: Request, ctx: Context, session: DbSession, platform: PlatformDep) -> Response:
    """Signed out: what the portal offers and the sign-in form. Signed in: my card."""
    notice = PORTAL_NOTICES.get(request.query_params.get("done", ""))
    if ctx.holder is None or ctx.holder.channel != "portal":
        return render_page(request, "holders/portal_sign_in.html", error=None, notice=notice)
    card = _holder_card(session, ctx)
    person = get_person(session, card.person_id)
    status = effective_status(card, platform.card_policy, platform.clock.now())
    return render_page(
        request,
        "holders/portal_home.html",
        holder_name=mask_name(person.name),
        resident_id=person.resident_id_masked,
        card=view_card(card, at=platform.clock.now(), policy=platform.card_policy),
        may_report=status in (CardStatus.ISSUED, CardStatus.ACTIVE),
        may_cancel_report=status is CardStatus.REPORTED_TEMPORARY,
        may_replace=status in (CardStatus.ISSUED, CardStatus.ACTIVE)
        and card_queries.find_card_in_pipeline(session, card.person_id) is None,
        pipeline=_pipeline_view(session, platform, card.person_id),
        has_ecard=status is CardStatus.ACTIVE,
        notice=notice,
        holder_csrf=ctx.holder.csrf_token,
    )


@router.post("/portal/sign-in")
def portal_sign_in(
    request: Request,
    platform: PlatformDep,
    resident_id: Annotated[str, Form()] = "",
    card_number: Annotated[str, Form()] = "",
    pin: Annotated[str, Form()] = "",
) -> Response:
    if not resident_id.strip() or not card_number.strip() or not pin:
        # Nothing to check: not an attempt, so no PIN failure is counted.
        return render_page(
            request,
            "holders/portal_sign_in.html",
            error="请填写社会保障号码、卡号和密码。",
            notice=None,
            status_code=422,
        )
    try:
        token = _sign_in(
            platform, channel="portal", card_number=card_number, pin=pin, resident_id=resident_id
        )
    except DomainError as error:
        return render_page(
            request,
            "holders/portal_sign_in.html",
            error=error.message,
            notice=None,
            status_code=200,  # the form again, with the reason (a browser logs any 4xx)
        )
    return _signed_in(see_other("/portal"), token, platform, "portal")


@router.post("/portal/sign-out")
def portal_sign_out(ctx: Context, platform: PlatformDep) -> Response:
    return _sign_out(platform, ctx, "/portal?done=signed_out")


@router.post("/portal/loss-report")
def portal_report_loss(ctx: Context, session: DbSession, platform: PlatformDep) -> Response:
    """临时挂失 online: from this moment the card and its electronic card are refused everywhere."""
    with transaction(session):
        card = _holder_card(session, ctx)
        card_services.report_loss(
            session,
            platform.card_policy,
            card_number=card.card_number,
            kind=LossReportKind.TEMPORARY,
            handling=Handling(channel="web", at=platform.clock.now()),
        )
        audit_card(session, platform, ctx, "card.report_temporary", card)
    return see_other("/portal?done=reported")


@router.post("/portal/loss-report/cancel")
def portal_cancel_report(ctx: Context, session: DbSession, platform: PlatformDep) -> Response:
    """The card was found: cancel the temporary report."""
    with transaction(session):
        card = _holder_card(session, ctx)
        card_services.cancel_loss_report(
            session,
            platform.card_policy,
            card_number=card.card_number,
            handling=Handling(channel="web", at=platform.clock.now()),
        )
        audit_card(session, platform, ctx, "card.cancel_report", card)
    return see_other("/portal?done=cancelled")


def _pipeline_view(
    session: Session, platform: Platform, person_id: int
) -> dict[str, object] | None:
    new = card_queries.find_card_in_pipeline(session, person_id)
    if new is None:
        return None
    return view_card(new, at=platform.clock.now(), policy=platform.card_policy).as_dict()


@router.post("/portal/replacement")
def portal_apply_for_replacement(
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """换卡申请 online (damage, expiry, new generation): the photo is taken at a counter; the old
    card keeps working until the new one is handed over."""
    try:
        chosen = ApplicationReason(reason)
    except ValueError as error:
        raise InvalidField("reason", "replacement_reason", "请选择换卡原因。") from error
    with transaction(session):
        card = _holder_card(session, ctx)
        new = card_services.replace_card(
            session,
            platform.keys,
            platform.card_policy,
            card_number=card.card_number,
            reason=chosen,
            handling=Handling(channel="web", at=platform.clock.now()),
            photo_collected=False,
        )
        audit_card(session, platform, ctx, "card.replace", new)
    return see_other("/portal?done=replacement")


def _ecard_code(platform: Platform, card: Card) -> tuple[str, str, int]:
    status = effective_status(card, platform.card_policy, platform.clock.now())
    if status is not CardStatus.ACTIVE:
        raise InvalidField(
            "card", "usable", "社会保障卡不可用（挂失、未启用或已注销），电子社保卡同时停用。"
        )
    token, expires_at = issue_ecard_token(
        platform.keys, platform.card_policy, card=card, at=platform.clock.now()
    )
    image = segno.make(token, error="m").svg_data_uri(scale=6, border=2)
    return image, expires_at.isoformat(), platform.card_policy.ecard_token_seconds


@router.get("/portal/ecard")
def ecard_page(
    request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """电子社保卡: a QR code that a hospital, pharmacy or kiosk scans; it renews itself."""
    card = _holder_card(session, ctx)
    person = get_person(session, card.person_id)
    try:
        image, expires_at, seconds = _ecard_code(platform, card)
    except InvalidField as error:
        return render_page(
            request,
            "holders/ecard.html",
            error=error.message,
            image=None,
            holder_name=mask_name(person.name),
            seconds=0,
            expires_at="",
        )
    return render_page(
        request,
        "holders/ecard.html",
        error=None,
        image=image,
        expires_at=expires_at,
        seconds=seconds,
        holder_name=mask_name(person.name),
    )


@router.get("/portal/ecard/code")
def ecard_code(ctx: Context, session: DbSession, platform: PlatformDep) -> JSONResponse:
    """A fresh code for the page to show (the old one stays valid until it expires)."""
    card = _holder_card(session, ctx)
    image, expires_at, seconds = _ecard_code(platform, card)
    return JSONResponse(
        {"image": image, "expires_at": expires_at, "seconds": seconds},
        headers={"Cache-Control": "no-store"},
    )


# -- applying for a first card online --------------------------------------------------------

APPLICATION_PURPOSE = "card_application"
SENT_NOTICE = "如信息无误，验证码已发送至您在户籍登记的手机，5 分钟内有效。"


@router.get("/portal/apply")
def apply_page(request: Request, platform: PlatformDep) -> Response:
    """申领: ID number, name and the registered phone; a code confirms it is the person."""
    return render_page(
        request,
        "holders/portal_apply.html",
        step="identify",
        error=None if platform.sms else "网上申领暂未开通，请携带身份证件到服务窗口办理。",
        notice=None,
        banks=PARTNER_BANKS,
        code_id=None,
    )


@router.post("/portal/apply/code")
def apply_send_code(
    request: Request,
    session: DbSession,
    platform: PlatformDep,
    resident_id: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    """Send a code when ID number, name and registered phone match a living resident without a
    card. The answer is the same whether or not they match (nobody learns who is registered)."""
    code_id: int | None = None
    if platform.sms is None:
        raise InvalidField("resident_id", "online_application", "网上申领暂未开通。")
    try:
        number = ResidentId.parse(resident_id, today=local_today(platform.clock))
    except InvalidResidentId:
        return render_page(
            request,
            "holders/portal_apply.html",
            step="identify",
            notice=None,
            banks=PARTNER_BANKS,
            error="社会保障号码格式不正确。",
            code_id=None,
            status_code=200,
        )
    normalised = normalise_phone(phone) or ""
    with transaction(session):
        person = find_person_by_resident_id(session, platform.keys, number)
        if (
            person is not None
            and person.status is PersonStatus.LIVING
            and person.name == name.strip()
            and person.phone_index is not None
            and person.phone_index == registry_phone_index(platform.keys, normalised)
            and card_queries.find_card_in_hand(session, person.id) is None
            and card_queries.find_card_in_pipeline(session, person.id) is None
        ):
            code_id = issue_code(
                session,
                platform.keys,
                platform.sms,
                purpose=APPLICATION_PURPOSE,
                person_id=person.id,
                phone=normalised,
                at=platform.clock.now(),
            )
    return render_page(
        request,
        "holders/portal_apply.html",
        step="confirm",
        notice=SENT_NOTICE,
        error=None,
        banks=PARTNER_BANKS,
        code_id=code_id or 0,
    )


@router.post("/portal/apply/confirm")
def apply_confirm(
    request: Request,
    ctx: Context,
    platform: PlatformDep,
    code_id: Annotated[int, Form()] = 0,
    code: Annotated[str, Form()] = "",
    bank_code: Annotated[str, Form()] = "",
) -> Response:
    """The code is right: the application is made (the photo is taken at a counter)."""
    if bank_code not in PARTNER_BANKS:
        return render_page(
            request,
            "holders/portal_apply.html",
            step="confirm",
            notice=None,
            error="请选择合作银行。",
            banks=PARTNER_BANKS,
            code_id=code_id,
        )
    at = platform.clock.now()
    with platform.session() as session:
        try:
            with transaction(session):
                person_id = check_code(
                    session,
                    platform.keys,
                    code_id=code_id,
                    purpose=APPLICATION_PURPOSE,
                    code=code,
                    at=at,
                )
                card = card_services.apply_for_card(
                    session,
                    platform.keys,
                    platform.card_policy,
                    person_id=person_id,
                    bank_code=bank_code,
                    handling=Handling(channel="web", at=at),
                )
                audit_card(session, platform, ctx, "card.apply", card)
                number = card.card_number
        except DomainError as error:
            session.rollback()
            if isinstance(error, CodeRefused) and error.wrong_try:
                with transaction(session):  # the wrong try counts
                    count_wrong_try(session, code_id=code_id)
            return render_page(
                request,
                "holders/portal_apply.html",
                step="confirm",
                notice=None,
                error=error.message,
                banks=PARTNER_BANKS,
                code_id=code_id,
            )
    return render_page(
        request,
        "holders/portal_apply.html",
        step="done",
        notice=None,
        error=None,
        banks=PARTNER_BANKS,
        code_id=None,
        card_number=number,
    )


# -- the kiosk -----------------------------------------------------------------------------------


@router.get("/kiosk")
def kiosk(request: Request, ctx: Context) -> Response:
    """插卡: the reader fills the card number; the holder types the PIN."""
    if ctx.holder is not None and ctx.holder.channel == "kiosk":
        return see_other("/kiosk/menu")
    return render_page(request, "holders/kiosk_sign_in.html", error=None)


@router.post("/kiosk/sign-in")
def kiosk_sign_in(
    request: Request,
    platform: PlatformDep,
    card_number: Annotated[str, Form()] = "",
    pin: Annotated[str, Form()] = "",
) -> Response:
    if not card_number.strip() or not pin:
        return render_page(
            request, "holders/kiosk_sign_in.html", error="请插卡并输入密码。", status_code=422
        )
    try:
        token = _sign_in(
            platform, channel="kiosk", card_number=card_number, pin=pin, resident_id=None
        )
    except DomainError as error:
        return render_page(
            request, "holders/kiosk_sign_in.html", error=error.message, status_code=200
        )
    return _signed_in(see_other("/kiosk/menu"), token, platform, "kiosk")


@router.get("/kiosk/menu")
def kiosk_menu(
    request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The holder's card and what is opened in the card's county for self-service, by kind."""
    card = _holder_card(session, ctx)
    person = get_person(session, card.person_id)
    today = local_today(platform.clock)
    county = person.residence_county_code
    statuses = catalog_queries.statuses_on(session, today)
    opened = [
        item
        for item in catalog_queries.list_items(session)
        if OpeningStatus.OPENED
        in (statuses.get((item.item_no, county or "")), statuses.get((item.item_no, "431100")))
        and item.usage_kind.value in ("query", "credential")
    ]
    groups: dict[str, list[object]] = {}
    for item in opened:
        groups.setdefault(USAGE_KIND_LABELS[item.usage_kind], []).append(item)
    return render_page(
        request,
        "holders/kiosk_menu.html",
        holder_name=mask_name(person.name),
        card=view_card(card, at=platform.clock.now(), policy=platform.card_policy),
        groups=groups,
        idle_seconds=KIOSK_IDLE_SECONDS,
        holder_csrf=ctx.require_holder().csrf_token,
        notice=request.query_params.get("done"),
        error=None,
    )


@router.post("/kiosk/sign-out")
def kiosk_sign_out(ctx: Context, platform: PlatformDep) -> Response:
    return _sign_out(platform, ctx, "/kiosk")


@router.post("/kiosk/pin")
def kiosk_change_pin(
    ctx: Context,
    platform: PlatformDep,
    old_pin: Annotated[str, Form()] = "",
    new_pin: Annotated[str, Form()] = "",
) -> Response:
    """Change the PIN with the old one (a wrong old PIN counts toward the lock)."""
    holder = ctx.require_holder()
    with platform.session() as session:
        card = session.get(Card, holder.card_id)
        assert card is not None
        number = card.card_number
    try:
        change_pin(
            platform,
            ctx,
            card_number=number,
            old_pin=old_pin,
            new_pin=new_pin,
            handling=Handling(channel="kiosk", at=platform.clock.now()),
        )
    except DomainError:
        return see_other("/kiosk/menu?done=pin_refused")
    return see_other("/kiosk/menu?done=pin_changed")
