"""我的社保: the cardholder's social insurance on the portal (website and mobile browser) and the
kiosk — the records (item 29), paying a resident contribution for oneself or a family member or a
flexible worker's declaration (items 23, 30), enrolling as a resident or a flexible worker (item
22), printing the contribution certificate and the rights statement (items 27, 28) and, on the
portal only, transferring the relation out (item 24). The public verification of a printed
document is `insurance_verify`.

Every page that reads or changes the records is a card use through the cards door, recorded with
`SignedInCard` (the PIN opened the session). Paying asks for the PIN again (`PhysicalCard`);
before any order is raised the contribution is rehearsed and the PIN checked, so a refusal writes
nothing but the counted wrong PIN and the refused card use.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.holders import KIOSK_IDLE_SECONDS
from socialcard.bootstrap import Platform
from socialcard.cards.door import PhysicalCard, Presented, SignedInCard, admit_card
from socialcard.cards.errors import CardUseRefused
from socialcard.cards.models import Card
from socialcard.catalog.models import Channel
from socialcard.errors import DomainError, InvalidField, NotFound
from socialcard.http.cards import record_card_refusal
from socialcard.http.context import Context, PlatformDep, RequestContext
from socialcard.http.insurance import (
    ITEM_OF_DOCUMENT,
    VERIFY_PATH,
    audit_insurance,
    issue_pdf,
    pay_declaration,
    pay_resident_contribution,
    with_card,
)
from socialcard.insurance import declarations, enrolment, queries, resident, transfers
from socialcard.insurance.catalogue import (
    ITEM_DECLARE,
    ITEM_ENROL,
    ITEM_QUERY,
    ITEM_SELF_PAY,
    ITEM_TRANSFER,
)
from socialcard.insurance.documents import TITLES, format_code
from socialcard.insurance.errors import (
    KIND_LABELS,
    DeclarationNotFound,
)
from socialcard.insurance.models import (
    DeclarationStatus,
    DocumentKind,
    EnrolmentStatus,
    InsuranceDocument,
    MonthStatus,
)
from socialcard.insurance.schemes import (
    SCHEMES,
    SchemeCode,
)
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.masking import mask_name
from socialcard.payments import queries as payment_queries
from socialcard.payments.errors import ORDER_STATUS_LABELS, OrderNotFound
from socialcard.payments.models import OrderStatus
from socialcard.registry.queries import get_person
from socialcard.reports.insurance_documents import render_insurance_document
from socialcard.web.forms import see_other
from socialcard.web.insurance_overview import Overview, build_overview
from socialcard.web.insurance_self_service import (
    RECORD_CHANNELS,
    Door,
    EnrolPlan,
    base_range,
    check_region,
    enrol_plan,
    grades_of,
    pay_values,
    resident_plan,
    transfer_state,
    whole_number,
)
from socialcard.web.rendering import render_page

router = APIRouter()

T = TypeVar("T")
DOORS: Final[tuple[Door, ...]] = ("portal", "kiosk")
CHANNELS: Final[dict[str, Channel]] = {"portal": Channel.WEB, "kiosk": Channel.KIOSK}
PIN_PATTERN: Final = re.compile(r"\d{6}")

FIELD_LABELS: Final[dict[str, str]] = {
    "pin": "社保卡密码",
    "scheme": "险种",
    "year": "缴费年度",
    "grade": "缴费档次",
    "resident_id": "社会保障号码",
    "name": "姓名",
    "first_period": "起始月份",
    "last_period": "截止月份",
    "kind": "参保身份",
    "schemes": "参保险种",
    "wage": "月缴费基数",
    "first_year": "起始年度",
    "last_year": "截止年度",
    "document": "凭证种类",
    "region_code": "转入地行政区划代码",
    "region_name": "转入地名称",
}
# Domain fields as the forms name them.
FIELD_ALIASES: Final[dict[str, str]] = {"wage_minor": "wage", "amount_minor": "grade"}
# Refusals that concern a field although the error names none.
CODE_FIELDS: Final[dict[str, str]] = {
    "pin_incorrect": "pin",
    "pin_locked": "pin",
    "pin_change_required": "pin",
    "contribution_tier_invalid": "grade",
}
PAYMENT_OUTCOMES: Final[dict[str, str]] = {
    "paid": "已从社会保障卡银行账户扣款。",
    "failed": "银行未扣款。",
    "unknown": "银行暂未返回结果。系统将向银行查询后自动确认，结果以“我的社保”中的记录为准，"
    "请勿重复缴费。",
    "debiting": "扣款处理中。系统将向银行查询后自动确认，请勿重复缴费。",
    "created": "尚未缴费。",
    "refunded": "已全额退回原银行账户。",
}
DONE_NOTICES: Final[dict[str, str]] = {
    "enrolled": "参保登记已办理。",
    "declared": "申报已提交，请输入社保卡密码缴费。",
}


# -- errors shown on the form ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal shown on the form it concerns (`form`), naming the field when there is one."""

    form: str
    field: str | None
    message: str

    @property
    def text(self) -> str:
        label = FIELD_LABELS.get(self.field or "")
        return f"{label}：{self.message}" if label else self.message


def problem_of(form: str, error: DomainError) -> Problem:
    """Place a domain error on its form and field (or on the form as a whole)."""
    name = error.field if isinstance(error, InvalidField) else CODE_FIELDS.get(error.code)
    if name is None and not isinstance(error, CardUseRefused):
        detail = error.details.get("field")
        name = detail if isinstance(detail, str) else None
    if name is not None:
        name = FIELD_ALIASES.get(name, name)
    return Problem(form, name, error.message)


# -- common to every holder page ------------------------------------------------------------------


def _this_year(platform: Platform) -> int:
    return platform.clock.now().astimezone(SHANGHAI).year


def _card_number(platform: Platform, ctx: RequestContext) -> str:
    holder = ctx.require_holder()
    with platform.session() as session:
        return session.get_one(Card, holder.card_id).card_number


def _render(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    template: str,
    **values: object,
) -> Response:
    """A holder page with what every one of them shows: the door, the masked name, the kiosk's
    sign-out form and idle count, the way back. A refusal is shown on the page with status 200,
    as on every holder page (a browser logs any 4xx)."""
    holder = ctx.require_holder()
    with platform.session() as session:
        name = get_person(session, holder.person_id).name
    return render_page(
        request,
        template,
        status_code=200,
        door=door,
        kiosk=door == "kiosk",
        base=f"/{door}/insurance",
        home="/kiosk/menu" if door == "kiosk" else "/portal",
        holder_name=mask_name(name),
        holder_csrf=holder.csrf_token,
        idle_seconds=KIOSK_IDLE_SECONDS,
        **values,
    )


def _refused(
    request: Request, platform: Platform, ctx: RequestContext, door: Door, error: DomainError
) -> Response:
    """A card use the door refused (an item not opened here, a card reported lost): the reason,
    and the way back."""
    return _render(
        request,
        platform,
        ctx,
        door,
        "insurance/holder_message.html",
        title="暂不能办理",
        message=error.message,
    )


def _use(
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    item_no: int,
    effect: Callable[[Session, Presented], T],
) -> T:
    """One use of the signed-in holder's card for `item_no`, the effect in its transaction."""
    return with_card(
        platform,
        ctx,
        credential=SignedInCard(_card_number(platform, ctx)),
        item_no=item_no,
        channel=CHANNELS[door],
        effect=effect,
    )


def _check_pin(platform: Platform, ctx: RequestContext, door: Door, pin: str) -> PhysicalCard:
    """The PIN typed to pay, checked by the cards door before anything is ordered: a wrong PIN
    is counted and refused (with the refused use of item 30) and nothing else is written; a
    right one is checked again when the bank is asked."""
    if not PIN_PATTERN.fullmatch(pin):
        raise InvalidField("pin", "pin_format", "请输入 6 位数字密码。")
    credential = PhysicalCard(_card_number(platform, ctx), pin)
    at = platform.clock.now()
    try:
        with platform.session() as session:
            admit_card(
                session,
                platform.keys,
                platform.card_policy,
                credential=credential,
                item_no=ITEM_SELF_PAY,
                county_code=None,
                at=at,
            )
            session.rollback()
    except CardUseRefused as refusal:
        record_card_refusal(
            platform,
            ctx,
            refusal,
            item_no=ITEM_SELF_PAY,
            channel=CHANNELS[door],
            county_code=None,
            terminal_code=None,
            at=at,
        )
        raise
    return credential


# -- 我的社保 (item 29) --------------------------------------------------------------------------


def _overview_page(
    request: Request, platform: Platform, ctx: RequestContext, door: Door
) -> Response:
    at = platform.clock.now()

    def effect(session: Session, presented: Presented) -> Overview:
        return build_overview(session, presented.holder.id, at=at, kiosk=door == "kiosk")

    try:
        overview = _use(platform, ctx, door, ITEM_QUERY, effect)
    except CardUseRefused as refusal:
        return _refused(request, platform, ctx, door, refusal)
    return _render(
        request,
        platform,
        ctx,
        door,
        "insurance/holder_overview.html",
        overview=overview,
        done=DONE_NOTICES.get(request.query_params.get("done", "")),
    )


# -- paying (items 23, 30) ------------------------------------------------------------------------


def _pay_page(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    *,
    problem: Problem | None = None,
    entered: Mapping[str, str] | None = None,
) -> Response:
    holder = ctx.require_holder()
    with platform.session() as session:
        values = pay_values(session, holder.person_id, at=platform.clock.now())
    return _render(
        request,
        platform,
        ctx,
        door,
        "insurance/holder_pay.html",
        problem=problem,
        entered=dict(entered or {}),
        done=DONE_NOTICES.get(request.query_params.get("done", "")),
        **values,
    )


def _pay_resident(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    *,
    scheme: str,
    year: str,
    grade: str,
    family: bool,
    resident_id: str,
    name: str,
    pin: str,
) -> Response:
    form = "family" if family else f"own:{scheme}:{year}"
    try:
        plan = resident_plan(
            platform, ctx, scheme=scheme, year=year, grade=grade, family=family,
            resident_id=resident_id, name=name,
        )  # fmt: skip
        credential = _check_pin(platform, ctx, door, pin)
        _paid, order = pay_resident_contribution(
            platform,
            ctx,
            insured_person_id=plan.insured_id,
            scheme=plan.scheme,
            year=plan.year,
            amount_minor=plan.amount_minor,
            credential=credential,
            channel=CHANNELS[door],
        )
    except DomainError as error:
        entered = {"form": form, "scheme": scheme, "year": year, "grade": grade}
        if family:
            entered["name"] = name  # never the ID number: it is typed again
        return _pay_page(
            request, platform, ctx, door, problem=problem_of(form, error), entered=entered
        )
    return see_other(f"/{door}/insurance/payments/{order.order_no}")


def _declare(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    *,
    first_period: str,
    last_period: str,
) -> Response:
    """个人缴费申报 (item 23): the months, on the wage on record; paid next with the PIN."""
    try:
        first = whole_number(first_period, "first_period", "请选择起始月份。")
        last = whole_number(last_period, "last_period", "请选择截止月份。")

        def effect(session: Session, presented: Presented) -> str:
            made = declarations.declare_flexible(
                session,
                person_id=presented.holder.id,
                first_period=first,
                last_period=last,
                channel=RECORD_CHANNELS[door],
                at=platform.clock.now(),
            )
            audit_insurance(
                session, platform, ctx, "insurance.declared", "declaration",
                made.declaration_no, total_minor=made.total_minor,
            )  # fmt: skip
            return made.declaration_no

        _use(platform, ctx, door, ITEM_DECLARE, effect)
    except DomainError as error:
        entered = {"first_period": first_period, "last_period": last_period}
        return _pay_page(
            request, platform, ctx, door, problem=problem_of("declare", error), entered=entered
        )
    return see_other(f"/{door}/insurance/pay?done=declared#declarations")


def _pay_declared(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    declaration_no: str,
    pin: str,
) -> Response:
    """Pay one of the holder's own unpaid declarations with the PIN (item 30)."""
    try:
        with platform.session() as session:
            found = queries.get_declaration(session, declaration_no)
            if found.person_id != ctx.require_holder().person_id:
                raise DeclarationNotFound(declaration_no)
        credential = _check_pin(platform, ctx, door, pin)
        _paid, order = pay_declaration(
            platform,
            ctx,
            declaration_no=declaration_no,
            credential=credential,
            channel=CHANNELS[door],
        )
    except DomainError as error:
        return _pay_page(
            request, platform, ctx, door, problem=problem_of(f"declaration:{declaration_no}", error)
        )
    return see_other(f"/{door}/insurance/payments/{order.order_no}")


def _payment_page(
    request: Request, platform: Platform, ctx: RequestContext, door: Door, order_no: str
) -> Response:
    """The outcome of a payment: paid, failed with the bank's reason, or not known yet."""
    holder = ctx.require_holder()
    with platform.session() as session:
        order = payment_queries.get_order(session, order_no)
        if order.person_id != holder.person_id or order.item_no != ITEM_SELF_PAY:
            raise OrderNotFound(order_no)
        settled = False
        kind = order.reference.partition(":")[0]
        if kind == "declaration":
            declaration = queries.find_declaration_by_order(session, order_no)
            settled = declaration is not None and declaration.status is DeclarationStatus.PAID
        elif kind == "resident_contribution":
            found = resident.find_resident_by_order(session, order_no)
            settled = found is not None and found.status is MonthStatus.PAID
    return _render(
        request,
        platform,
        ctx,
        door,
        "insurance/holder_payment.html",
        order=order,
        status_label=ORDER_STATUS_LABELS[order.status.value],
        outcome=PAYMENT_OUTCOMES.get(order.status.value, ""),
        settled=settled,
        has_receipt=order.status in (OrderStatus.PAID, OrderStatus.REFUNDED),
    )


# -- enrolment (item 22) --------------------------------------------------------------------------


def _enrol_page(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    *,
    problem: Problem | None = None,
    entered: Mapping[str, object] | None = None,
    plan: EnrolPlan | None = None,
) -> Response:
    holder = ctx.require_holder()
    at = platform.clock.now()
    year = at.astimezone(SHANGHAI).year
    with platform.session() as session:
        current = [
            (SCHEMES[e.scheme].name, KIND_LABELS[e.kind.value])
            for e in queries.open_enrolments(session, holder.person_id)
            if e.status is EnrolmentStatus.ACTIVE
        ]
        grades = grades_of(session, SchemeCode.PENSION_RESIDENT, year)
        medical = grades_of(session, SchemeCode.MEDICAL_RESIDENT, year)[0].text
        allowed = base_range(session, declarations.current_period(at))
    return _render(
        request,
        platform,
        ctx,
        door,
        "insurance/holder_enrol.html",
        current=current,
        grades=grades,
        medical=medical,
        allowed=allowed,
        year=year,
        problem=problem,
        entered=dict(entered or {}),
        plan=plan,
    )


def _enrol_form(kind: str, grade: str, schemes: list[str] | None, wage: str) -> dict[str, object]:
    return {"kind": kind, "grade": grade, "schemes": list(schemes or []), "wage": wage}


def _enrol_check(
    request: Request, platform: Platform, ctx: RequestContext, door: Door, entered: dict[str, Any]
) -> Response:
    """The confirmation step: what will be recorded, before anything is."""
    try:
        plan = enrol_plan(platform, ctx.require_holder().person_id, door, **entered)
    except DomainError as error:
        return _enrol_page(
            request,
            platform,
            ctx,
            door,
            problem=problem_of(f"enrol:{entered['kind']}", error),
            entered=entered,
        )
    return _enrol_page(request, platform, ctx, door, entered=entered, plan=plan)


def _enrol_confirm(
    request: Request, platform: Platform, ctx: RequestContext, door: Door, entered: dict[str, Any]
) -> Response:
    """参保登记 confirmed: a card use of item 22, the enrolment in its transaction."""
    try:
        plan = enrol_plan(platform, ctx.require_holder().person_id, door, **entered)

        def effect(session: Session, presented: Presented) -> list[str]:
            done = enrolment.enrol(
                session, replace(plan.request, person_id=presented.holder.id),
                at=platform.clock.now(),
            )  # fmt: skip
            audit_insurance(
                session, platform, ctx, "insurance.enrolled", "person", presented.holder.id,
                kind=plan.request.kind.value, schemes=[e.scheme.value for e in done],
            )  # fmt: skip
            return [e.scheme.value for e in done]

        _use(platform, ctx, door, ITEM_ENROL, effect)
    except DomainError as error:
        return _enrol_page(
            request,
            platform,
            ctx,
            door,
            problem=problem_of(f"enrol:{entered['kind']}", error),
            entered=entered,
        )
    return see_other(f"/{door}/insurance?done=enrolled")


# -- documents (items 27, 28) ---------------------------------------------------------------------

PRINTABLE: Final = (DocumentKind.CONTRIBUTION_CERTIFICATE, DocumentKind.RIGHTS_STATEMENT)


def _verify_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + VERIFY_PATH


def _pdf(data: bytes, document_no: str, *, attachment: bool) -> Response:
    disposition = "attachment" if attachment else "inline"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{document_no}.pdf"',
            "Cache-Control": "no-store",
            "X-Frame-Options": "SAMEORIGIN",  # the kiosk's printing page shows it in a frame
        },
    )


def _documents_page(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    *,
    problem: Problem | None = None,
    entered: Mapping[str, str] | None = None,
) -> Response:
    year = _this_year(platform)
    return _render(
        request,
        platform,
        ctx,
        door,
        "insurance/holder_documents.html",
        years=list(range(year, year - 30, -1)),
        this_year=year,
        problem=problem,
        entered=dict(entered or {}),
    )


def _issue_document(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    door: Door,
    *,
    document: str,
    first_year: str,
    last_year: str,
    year: str,
) -> Response:
    """Issue the document (a card use of item 27 or 28) and hand it over: the portal downloads
    it, the kiosk shows its printing page."""
    try:
        kind = next((k for k in PRINTABLE if k.value == document), None)
        if kind is None:
            raise InvalidField("document", "printable", "请选择要打印的凭证。")
        this_year = _this_year(platform)
        if kind is DocumentKind.CONTRIBUTION_CERTIFICATE:
            first = whole_number(first_year, "first_year", "请选择起始年度。")
            last = whole_number(last_year, "last_year", "请选择截止年度。")
            if last > this_year:
                raise InvalidField("last_year", "past_or_current", "不能晚于本年度。")
            if first > last:
                raise InvalidField("first_year", "range", "不能晚于截止年度。")
        else:
            first, last = None, whole_number(year, "year", "请选择年度。")

        def effect(session: Session, presented: Presented) -> tuple[str, bytes]:
            issued = issue_pdf(
                platform,
                session,
                ctx,
                person_id=presented.holder.id,
                kind=kind,
                channel=RECORD_CHANNELS[door],
                base_url=str(request.base_url),
                year=last,
                first_year=first,
            )
            return issued.document.document_no, issued.pdf

        document_no, pdf = _use(platform, ctx, door, ITEM_OF_DOCUMENT[kind], effect)
    except DomainError as error:
        entered = {"first_year": first_year, "last_year": last_year, "year": year}
        return _documents_page(
            request, platform, ctx, door, problem=problem_of(document, error), entered=entered
        )
    if door == "portal":
        return _pdf(pdf, document_no, attachment=True)
    return see_other(f"/kiosk/insurance/documents/{document_no}")


class DocumentNotIssued(NotFound):
    """A document number that is not one of the signed-in holder's documents."""

    code = "insurance_document_not_found"

    def __init__(self, document_no: str) -> None:
        super().__init__(f"没有凭证 {document_no}。", document=document_no)


def _own_document(platform: Platform, ctx: RequestContext, document_no: str) -> InsuranceDocument:
    """One of the holder's own documents (anyone else's reads as not found)."""
    with platform.session() as session:
        found = session.scalars(
            select(InsuranceDocument).where(InsuranceDocument.document_no == document_no)
        ).first()
    if found is None or found.person_id != ctx.require_holder().person_id:
        raise DocumentNotIssued(document_no)
    return found


def _document_pdf(
    request: Request, platform: Platform, ctx: RequestContext, door: Door, document_no: str
) -> Response:
    """A document as issued, rendered again from what it said (a reprint is not a new use)."""
    document = _own_document(platform, ctx, document_no)
    with platform.session() as session:
        name = get_person(session, document.person_id).name
    pdf = render_insurance_document(document, holder_name=name, verify_url=_verify_url(request))
    return _pdf(pdf, document_no, attachment=door == "portal")


def _printing_page(
    request: Request, platform: Platform, ctx: RequestContext, document_no: str
) -> Response:
    """正在打印: the kiosk prints the document shown in the frame; the code is on screen too."""
    document = _own_document(platform, ctx, document_no)
    return _render(
        request,
        platform,
        ctx,
        "kiosk",
        "insurance/holder_printing.html",
        document_no=document.document_no,
        title=TITLES[document.kind],
        code=format_code(document.verification_code),
        verify_path=VERIFY_PATH,
    )


# -- relation transfer (item 24, portal only) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferDone:
    transfer_no: str
    region: str
    months: int
    pension_minor: int
    medical_minor: int
    document_no: str
    code: str
    data_name: str
    data_uri: str  # the data file for the receiving office, handed over once


def _transfer_page(
    request: Request,
    platform: Platform,
    ctx: RequestContext,
    *,
    step: str,
    problem: Problem | None = None,
    entered: Mapping[str, str] | None = None,
    done: TransferDone | None = None,
) -> Response:
    holder = ctx.require_holder()
    with platform.session() as session:
        state = transfer_state(session, holder.person_id)
    return _render(
        request,
        platform,
        ctx,
        "portal",
        "insurance/holder_transfer.html",
        step=step,
        state=state,
        problem=problem,
        entered=dict(entered or {}),
        done=done,
    )


def _transfer_out(
    request: Request, platform: Platform, ctx: RequestContext, region_code: str, region_name: str
) -> Response:
    """转出: a card use of item 24; the relation moves, the certificate is issued with it, and
    the page hands over the data file (it is produced once, with the transfer)."""
    entered = {"region_code": region_code, "region_name": region_name}
    try:
        code, name = check_region(region_code, region_name)

        def effect(session: Session, presented: Presented) -> TransferDone:
            at = platform.clock.now()
            moved = transfers.transfer_out(
                session, platform.keys, person_id=presented.holder.id, region_code=code,
                region_name=name, card_id=presented.card.id, channel="web", created_by=None,
                at=at,
            )  # fmt: skip
            transfer = moved.transfer
            audit_insurance(
                session, platform, ctx, "insurance.transferred_out", "insurance_transfer",
                transfer.transfer_no, region=code,
            )  # fmt: skip
            issued = issue_pdf(
                platform, session, ctx, person_id=presented.holder.id,
                kind=DocumentKind.TRANSFER_CERTIFICATE, channel="web",
                base_url=str(request.base_url), transfer=transfer,
            )  # fmt: skip
            return TransferDone(
                transfer_no=transfer.transfer_no,
                region=transfer.region_name,
                months=transfer.months,
                pension_minor=transfer.pension_account_minor,
                medical_minor=transfer.medical_account_minor,
                document_no=issued.document.document_no,
                code=format_code(issued.document.verification_code),
                data_name=f"{transfer.transfer_no}.json",
                data_uri="data:application/json;base64,"
                + base64.b64encode(moved.data_file).decode("ascii"),
            )

        done = _use(platform, ctx, "portal", ITEM_TRANSFER, effect)
    except DomainError as error:
        return _transfer_page(
            request, platform, ctx, step="form", problem=problem_of("transfer", error),
            entered=entered,
        )  # fmt: skip
    return _transfer_page(request, platform, ctx, step="done", done=done)


# -- the routes of both doors ---------------------------------------------------------------------

FormText = Annotated[str, Form()]


def _door_routes(door: Door) -> None:
    """Register the pages of one door: /portal/insurance/… or /kiosk/insurance/…."""
    base = f"/{door}/insurance"

    @router.get(base)
    def overview(request: Request, ctx: Context, platform: PlatformDep) -> Response:
        """我的社保: enrolments, ten years of months, accounts, resident years (item 29)."""
        return _overview_page(request, platform, ctx, door)

    @router.get(base + "/pay")
    def pay(request: Request, ctx: Context, platform: PlatformDep) -> Response:
        """缴费: resident years for oneself or a family member; a flexible worker's months."""
        return _pay_page(request, platform, ctx, door)

    @router.post(base + "/pay/resident")
    def pay_resident(
        request: Request,
        ctx: Context,
        platform: PlatformDep,
        scheme: FormText = "",
        year: FormText = "",
        grade: FormText = "",
        family: FormText = "",
        resident_id: FormText = "",
        name: FormText = "",
        pin: FormText = "",
    ) -> Response:
        return _pay_resident(
            request, platform, ctx, door, scheme=scheme, year=year, grade=grade,
            family=family == "1", resident_id=resident_id, name=name, pin=pin,
        )  # fmt: skip

    @router.post(base + "/declarations")
    def declare(
        request: Request,
        ctx: Context,
        platform: PlatformDep,
        first_period: FormText = "",
        last_period: FormText = "",
    ) -> Response:
        return _declare(
            request, platform, ctx, door, first_period=first_period, last_period=last_period
        )

    @router.post(base + "/declarations/{declaration_no}/pay")
    def pay_declared(
        declaration_no: str,
        request: Request,
        ctx: Context,
        platform: PlatformDep,
        pin: FormText = "",
    ) -> Response:
        return _pay_declared(request, platform, ctx, door, declaration_no, pin)

    @router.get(base + "/payments/{order_no}")
    def payment(order_no: str, request: Request, ctx: Context, platform: PlatformDep) -> Response:
        return _payment_page(request, platform, ctx, door, order_no)

    @router.get(base + "/enrol")
    def enrol_form(request: Request, ctx: Context, platform: PlatformDep) -> Response:
        """参保登记: as a resident or a flexible worker."""
        return _enrol_page(request, platform, ctx, door)

    @router.post(base + "/enrol")
    def enrol_check(
        request: Request,
        ctx: Context,
        platform: PlatformDep,
        kind: FormText = "",
        grade: FormText = "",
        schemes: Annotated[list[str] | None, Form()] = None,
        wage: FormText = "",
    ) -> Response:
        return _enrol_check(request, platform, ctx, door, _enrol_form(kind, grade, schemes, wage))

    @router.post(base + "/enrol/confirm")
    def enrol_confirm(
        request: Request,
        ctx: Context,
        platform: PlatformDep,
        kind: FormText = "",
        grade: FormText = "",
        schemes: Annotated[list[str] | None, Form()] = None,
        wage: FormText = "",
    ) -> Response:
        entered = _enrol_form(kind, grade, schemes, wage)
        return _enrol_confirm(request, platform, ctx, door, entered)

    @router.get(base + "/documents")
    def documents(request: Request, ctx: Context, platform: PlatformDep) -> Response:
        """打印: the contribution certificate (years) and the rights statement (a year)."""
        return _documents_page(request, platform, ctx, door)

    @router.post(base + "/documents")
    def issue_document(
        request: Request,
        ctx: Context,
        platform: PlatformDep,
        document: FormText = "",
        first_year: FormText = "",
        last_year: FormText = "",
        year: FormText = "",
    ) -> Response:
        return _issue_document(
            request, platform, ctx, door, document=document, first_year=first_year,
            last_year=last_year, year=year,
        )  # fmt: skip

    @router.get(base + "/documents/{document_no}.pdf")
    def document_pdf(
        document_no: str, request: Request, ctx: Context, platform: PlatformDep
    ) -> Response:
        return _document_pdf(request, platform, ctx, door, document_no)


for _door in DOORS:
    _door_routes(_door)


@router.get("/kiosk/insurance/documents/{document_no}")
def kiosk_printing(
    document_no: str, request: Request, ctx: Context, platform: PlatformDep
) -> Response:
    """正在打印 (after the .pdf route, which this path would otherwise swallow)."""
    return _printing_page(request, platform, ctx, document_no)


@router.get("/portal/insurance/transfers/{transfer_no}/data-file")
def transfer_file(transfer_no: str, ctx: Context, platform: PlatformDep) -> Response:
    """The holder's own transfer data file again, for the receiving office (a copy of what was
    sent, not a new transfer: no card use)."""
    with platform.session() as session:
        _transfer, data = transfers.transfer_data_file(
            session, platform.keys, transfer_no, person_id=ctx.require_holder().person_id
        )
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{transfer_no}.json"'},
    )


@router.get("/portal/insurance/transfer")
def transfer_form(request: Request, ctx: Context, platform: PlatformDep) -> Response:
    """关系转移: the receiving region; at the kiosk this is done at the counter or here."""
    return _transfer_page(request, platform, ctx, step="form")


@router.post("/portal/insurance/transfer")
def transfer_check(
    request: Request,
    ctx: Context,
    platform: PlatformDep,
    region_code: FormText = "",
    region_name: FormText = "",
) -> Response:
    """The confirmation step: what will move, before anything does."""
    entered = {"region_code": region_code, "region_name": region_name}
    try:
        check_region(region_code, region_name)
    except DomainError as error:
        return _transfer_page(
            request, platform, ctx, step="form", problem=problem_of("transfer", error),
            entered=entered,
        )  # fmt: skip
    return _transfer_page(request, platform, ctx, step="confirm", entered=entered)


@router.post("/portal/insurance/transfer/confirm")
def transfer_confirm(
    request: Request,
    ctx: Context,
    platform: PlatformDep,
    region_code: FormText = "",
    region_name: FormText = "",
) -> Response:
    return _transfer_out(request, platform, ctx, region_code, region_name)
