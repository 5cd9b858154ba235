"""Social insurance for employers' systems, counters and banks: enrolments (item 22), employer
and back-payment declarations (item 23) with the transfer recorded when it arrives, a person's
records (item 29), relation transfers (item 24), certificates and rights statements (items 27,
28) with their public verification. Every unsafe call takes an Idempotency-Key (A2). An
employer's agent acts for its own employer and its own employees only."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Header
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.models import TerminalKind
from socialcard.api.routes import api_router
from socialcard.api.routes.terminals import CHANNEL_OF_KIND
from socialcard.cards.door import CheckedCard, PhysicalCard, Presented
from socialcard.catalog.models import Channel
from socialcard.errors import InvalidField
from socialcard.http.context import Context, DbSession, PlatformDep, RequestContext
from socialcard.http.idempotency import json_once, json_once_around_calls
from socialcard.http.insurance import (
    ITEM_OF_DOCUMENT,
    audit_insurance,
    cancel_declaration,
    change_enrolment_status,
    declaration_json,
    declare_back_payment,
    declare_employer_month,
    employer_in_scope,
    enrol_for_employer,
    enrol_holder_with_card,
    enrolment_in_scope,
    enrolment_json,
    issue_for,
    leave_employer,
    month_json,
    overview_json,
    pay_declaration,
    pay_resident_contribution,
    record_employer_payment,
    refuse_agents,
    render_pdf,
    resident_json,
    transfer_file_response,
    transfer_in_with_card,
    transfer_out_with_card,
    visible_declaration,
    visible_person,
    with_card,
    with_holder_card,
)
from socialcard.http.payments import order_json
from socialcard.insurance import declarations, enrolment, queries
from socialcard.insurance.card_records import enrolment_records
from socialcard.insurance.catalogue import (
    ITEM_DECLARE,
    ITEM_QUERY,
    ITEM_RECORD,
)
from socialcard.insurance.documents import find_document, format_code
from socialcard.insurance.errors import NotEnrolled
from socialcard.insurance.models import DocumentKind, EnrolmentKind, InsuranceDocument
from socialcard.insurance.parameters import list_rules
from socialcard.insurance.schemes import SchemeCode
from socialcard.kernel.resident_id import ResidentId
from socialcard.registry.models import Employer
from socialcard.registry.queries import find_person_by_resident_id, get_person

router = api_router("/insurance", "insurance")
public = api_router("/verify", "verification")
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="the same key and body replays the first answer"),
]
Period = Annotated[int, Field(ge=199001, le=210012, description="yyyymm")]


def _person_in_scope(session: Session, ctx: RequestContext, person_id: int) -> int:
    """An employer's agent sees only people enrolled (now or before) through its employer; staff
    only people within their county scope (as on the staff pages)."""
    return visible_person(session, ctx, person_id).id


def _resolve_person(
    session: Session, platform: Any, person_id: int | None, resident_id: str | None
) -> int:
    if person_id is not None:
        return get_person(session, person_id).id
    if resident_id is None:
        raise InvalidField("person_id", "required", "须提供 person_id 或 resident_id。")
    try:
        parsed = ResidentId.parse(resident_id)
    except ValueError:
        raise InvalidField("resident_id", "gb11643", "社会保障号码不合规（GB 11643）。") from None
    person = find_person_by_resident_id(session, platform.keys, parsed)
    if person is None:
        raise InvalidField("resident_id", "registered", "该人员不在户籍登记中，请先到窗口核实。")
    return person.id


# -- parameters, employers --------------------------------------------------------------------


@router.get("/parameters")
def parameters(session: DbSession, _ctx: Context) -> list[dict[str, Any]]:
    """Every version of the contribution parameters (shipped ones are examples)."""
    return [
        {
            "scheme": r.scheme.value,
            "effective_from": r.effective_from.isoformat(),
            "base_floor_minor": r.base_floor_minor,
            "base_ceiling_minor": r.base_ceiling_minor,
            "employer_rate_bp": r.employer_rate_bp,
            "individual_rate_bp": r.individual_rate_bp,
            "account_rate_bp": r.account_rate_bp,
            "flexible_rate_bp": r.flexible_rate_bp,
            "tiers_minor": r.tiers,
            "is_example": r.is_example,
            "source": r.source,
        }
        for r in list_rules(session)
    ]


@router.get("/employers/{employer_id}")
def employer(employer_id: int, session: DbSession, ctx: Context) -> dict[str, Any]:
    """The employer's insured employees, headcount by status and latest declarations."""
    employer_in_scope(ctx, employer_id)
    found = session.get(Employer, employer_id)
    if found is None:
        raise InvalidField("employer_id", "known_employer", "没有这个参保单位。")
    return {
        "employer_id": found.id,
        "name": found.name,
        "headcount": queries.employer_headcount(session, employer_id),
        "employees": [
            enrolment_json(e) | {"person_id": e.person_id}
            for e in queries.employer_employees(session, employer_id)
        ],
        "declarations": [
            declaration_json(d) for d in queries.list_declarations(session, employer_id=employer_id)
        ],
    }


# -- enrolment (item 22) ------------------------------------------------------------------------


class EnrolIn(BaseModel):
    person_id: int | None = None
    resident_id: str | None = Field(default=None, description="instead of person_id")
    kind: EnrolmentKind
    started_on: date
    employer_id: int | None = None
    wage_minor: int | None = Field(default=None, gt=0, description="monthly wage or yearly grade")
    schemes: list[SchemeCode] = Field(default_factory=list, description="default: all of kind")
    card_number: str | None = Field(
        default=None, description="individuals enrol with the card the clerk checked (item 22)"
    )


@router.post("/enrolments", status_code=201)
def enrol(
    body: EnrolIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Enrol a person: an employer enrols its employee; an individual (flexible worker,
    resident) enrols in person with the card."""
    if body.kind is EnrolmentKind.EMPLOYEE:
        employer_in_scope(ctx, body.employer_id or 0)
    else:
        refuse_agents(ctx, "单位经办员只能办理本单位职工参保。")

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        person_id = _resolve_person(session, platform, body.person_id, body.resident_id)
        done = enrol_for_employer(
            platform,
            session,
            ctx,
            person_id=person_id,
            employer_id=body.employer_id,
            started_on=body.started_on,
            wage_minor=body.wage_minor,
            channel="api",
            schemes=tuple(body.schemes),
        )
        session.flush()
        return 201, {"person_id": person_id, "enrolments": [enrolment_json(e) for e in done]}

    def by_card() -> tuple[int, dict[str, Any]]:
        if body.card_number is None:
            raise InvalidField("card_number", "required", "个人参保须出示社保卡。")
        enrolled = enrol_holder_with_card(
            platform,
            ctx,
            person_id=body.person_id,
            card_number=body.card_number,
            kind=body.kind,
            started_on=body.started_on,
            wage_minor=body.wage_minor,
            schemes=tuple(body.schemes),
        )
        return 201, {
            "person_id": enrolled.person_id,
            "enrolments": [enrolment_json(e) for e in enrolled.enrolments],
        }

    if body.kind is EnrolmentKind.EMPLOYEE:
        return json_once(
            platform,
            ctx,
            key=idempotency_key,
            route="POST /insurance/enrolments",
            body=body.model_dump(mode="json"),
            operation=operation,
        )

    return json_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /insurance/enrolments",
        body=body.model_dump(mode="json"),
        operation=by_card,
    )


class EndIn(BaseModel):
    action: Literal["suspend", "resume", "terminate"]
    on: date | None = None
    reason: str = Field(default="", max_length=100)


@router.post("/enrolments/{enrolment_id}/status")
def change_enrolment(
    enrolment_id: int,
    body: EndIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """暂停缴费 / 恢复 / 终止参保."""

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        enrolment_in_scope(ctx, enrolment.get_enrolment_for_update(session, enrolment_id))
        at = platform.clock.now()
        on = body.on or at.date()
        if body.action != "resume" and not body.reason.strip():
            raise InvalidField("reason", "required", "请填写原因。")
        changed = change_enrolment_status(
            platform,
            session,
            ctx,
            enrolment_id,
            action=body.action,
            on=on,
            reason=body.reason,
            at=at,
        )
        session.flush()
        return 200, enrolment_json(changed)

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /insurance/enrolments/{enrolment_id}/status",
        body=body.model_dump(mode="json"),
        operation=operation,
    )


class DepartureIn(BaseModel):
    person_id: int
    on: date


@router.post("/employers/{employer_id}/departures")
def departure(
    employer_id: int,
    body: DepartureIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """减员: the employee left; their enrolments through this employer are suspended."""
    employer_in_scope(ctx, employer_id)

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        left = leave_employer(
            platform, session, ctx, person_id=body.person_id, employer_id=employer_id, on=body.on
        )
        session.flush()
        return 200, {"enrolments": [enrolment_json(e) for e in left]}

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /insurance/employers/{employer_id}/departures",
        body=body.model_dump(mode="json"),
        operation=operation,
    )


# -- declarations (item 23) ---------------------------------------------------------------------


class WageIn(BaseModel):
    person_id: int
    wage_minor: int = Field(gt=0)


class DeclarationIn(BaseModel):
    employer_id: int
    period: Period
    wages: list[WageIn] = Field(default_factory=list, description="wages that changed")


class BackPaymentIn(BaseModel):
    employer_id: int
    person_id: int
    first_period: Period
    last_period: Period
    wage_minor: int = Field(gt=0)


class PaymentIn(BaseModel):
    paid_minor: int = Field(gt=0)
    bank_reference: str = Field(min_length=1, max_length=40)


@router.post("/declarations", status_code=201)
def declare(
    body: DeclarationIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """The employer's monthly declaration for every employee enrolled through it."""
    employer_in_scope(ctx, body.employer_id)

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        made = declare_employer_month(
            platform,
            session,
            ctx,
            employer_id=body.employer_id,
            period=body.period,
            wages={w.person_id: w.wage_minor for w in body.wages},
            channel="api",
        )
        session.flush()
        return 201, declaration_json(made)

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /insurance/declarations",
        body=body.model_dump(mode="json"),
        operation=operation,
    )


@router.post("/declarations/back-payments", status_code=201)
def back_payment(
    body: BackPaymentIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """补缴: an employee's months the employer missed."""
    employer_in_scope(ctx, body.employer_id)

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        made = declare_back_payment(
            platform,
            session,
            ctx,
            employer_id=body.employer_id,
            person_id=body.person_id,
            first_period=body.first_period,
            last_period=body.last_period,
            wage_minor=body.wage_minor,
            channel="api",
        )
        session.flush()
        return 201, declaration_json(made)

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /insurance/declarations/back-payments",
        body=body.model_dump(mode="json"),
        operation=operation,
    )


class FlexibleIn(BaseModel):
    card_number: str = Field(min_length=1, max_length=20, description="the card the clerk checked")
    first_period: Period
    last_period: Period


@router.post("/declarations/flexible", status_code=201)
def declare_flexible(
    body: FlexibleIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """个人缴费申报 (item 23): a flexible worker declares their own months with the card at the
    counter; they pay it with …/card-payment."""
    refuse_agents(ctx, "单位经办员不能办理个人缴费申报。")

    def by_card() -> tuple[int, dict[str, Any]]:
        def effect(session: Session, presented: Presented) -> tuple[int, dict[str, Any]]:
            made = declarations.declare_flexible(
                session,
                person_id=presented.holder.id,
                first_period=body.first_period,
                last_period=body.last_period,
                channel="counter",
                at=platform.clock.now(),
            )
            audit_insurance(
                session,
                platform,
                ctx,
                "insurance.declared",
                "declaration",
                made.declaration_no,
                total_minor=made.total_minor,
            )
            session.flush()
            return 201, declaration_json(made)

        return with_card(
            platform,
            ctx,
            credential=CheckedCard(body.card_number),
            item_no=ITEM_DECLARE,
            channel=Channel.COUNTER,
            effect=effect,
        )

    return json_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /insurance/declarations/flexible",
        body=body.model_dump(mode="json"),
        operation=by_card,
    )


@router.get("/declarations/{declaration_no}")
def declaration(declaration_no: str, session: DbSession, ctx: Context) -> dict[str, Any]:
    found = visible_declaration(session, ctx, declaration_no)
    shown = declaration_json(found)
    shown["lines"] = [
        month_json(m) | {"person_id": m.person_id}
        for m in queries.declaration_months(session, found.id)
    ]
    return shown


@router.post("/declarations/{declaration_no}/payment")
def record_payment(
    declaration_no: str,
    body: PaymentIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The employer's transfer arrived in the fund's income account (from the bank statement):
    the declaration is paid in full, once; a different amount is refused."""
    refuse_agents(ctx, "到账由社保经办机构按银行对账确认。")

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        paid = record_employer_payment(
            platform,
            session,
            ctx,
            declaration_no,
            paid_minor=body.paid_minor,
            bank_reference=body.bank_reference,
        )
        session.flush()
        return 200, declaration_json(paid)

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /insurance/declarations/{declaration_no}/payment",
        body=body.model_dump(mode="json"),
        operation=operation,
    )


@router.post("/declarations/{declaration_no}/cancel")
def cancel(
    declaration_no: str, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Withdraw an unpaid declaration."""

    def operation(session: Session) -> tuple[int, dict[str, Any]]:
        visible_declaration(session, ctx, declaration_no)
        done = cancel_declaration(platform, session, ctx, declaration_no)
        session.flush()
        return 200, declaration_json(done)

    return json_once(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /insurance/declarations/{declaration_no}/cancel",
        body={},
        operation=operation,
    )


class CardPayIn(BaseModel):
    card_number: str = Field(min_length=1, max_length=20)
    pin: str = Field(pattern=r"^\d{6}$")


class ResidentPayIn(CardPayIn):
    scheme: Literal["pension_resident", "medical_resident"]
    year: int = Field(ge=2000, le=2100)
    insured_person_id: int | None = Field(
        default=None, description="a family member; default the card's holder"
    )
    amount_minor: int | None = Field(default=None, gt=0, description="the pension grade")


def _pin_hashed(platform: Any, body: CardPayIn) -> dict[str, Any]:
    """The request as hashed for the idempotency record: never the PIN itself."""
    shown = body.model_dump(mode="json")
    shown["pin"] = platform.keys.blind_index("idempotency_pin", f"{body.card_number}:{body.pin}")
    return shown


def _paid_status(order: Any) -> int:
    return 202 if order.status.value in ("unknown", "debiting") else 200


@router.post("/declarations/{declaration_no}/card-payment")
def pay_declaration_by_card(
    declaration_no: str,
    body: CardPayIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A flexible worker pays their declaration at the counter with card and PIN (item 30): one
    debit whatever is retried; 202 while the bank's answer is unknown."""

    def operation() -> tuple[int, dict[str, Any]]:
        declaration, order = pay_declaration(
            platform,
            ctx,
            declaration_no=declaration_no,
            credential=PhysicalCard(body.card_number, body.pin),
            channel=Channel.COUNTER,
        )
        return _paid_status(order), declaration_json(declaration) | {"order": order_json(order)}

    return json_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /insurance/declarations/{declaration_no}/card-payment",
        body=_pin_hashed(platform, body),
        operation=operation,
    )


@router.post("/resident-contributions")
def pay_resident(
    body: ResidentPayIn, ctx: Context, platform: PlatformDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Pay a resident scheme's year with card and PIN (item 30), for the holder or a family
    member; the subsidy is added when the bank confirms."""

    def operation() -> tuple[int, dict[str, Any]]:
        contribution, order = pay_resident_contribution(
            platform,
            ctx,
            insured_person_id=body.insured_person_id,
            scheme=SchemeCode(body.scheme),
            year=body.year,
            amount_minor=body.amount_minor,
            credential=PhysicalCard(body.card_number, body.pin),
            channel=Channel.COUNTER,
        )
        return _paid_status(order), resident_json(contribution) | {"order": order_json(order)}

    return json_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route="POST /insurance/resident-contributions",
        body=_pin_hashed(platform, body),
        operation=operation,
    )


# -- a person's records (item 29 at the counter), transfers (24), documents (27, 28) -----------


@router.get("/persons/{person_id}")
def person_overview(
    person_id: int, session: DbSession, ctx: Context, platform: PlatformDep
) -> dict[str, Any]:
    """Enrolments, ten years of months, accounts and resident years of a person."""
    _person_in_scope(session, ctx, person_id)
    overview = queries.insured_overview(session, person_id, at=platform.clock.now())
    return overview_json(overview)


class TransferOutIn(BaseModel):
    region_code: str = Field(pattern=r"^\d{6}$")
    region_name: str = Field(min_length=1, max_length=60)
    card_number: str = Field(min_length=1, max_length=20, description="the card the clerk checked")


class TransferInIn(BaseModel):
    data_base64: str = Field(min_length=4, description="the other region's transfer data file")
    card_number: str = Field(min_length=1, max_length=20)


def _transfer_json(transfer: Any) -> dict[str, Any]:
    return {
        "transfer_no": transfer.transfer_no,
        "direction": transfer.direction.value,
        "region_code": transfer.region_code,
        "region_name": transfer.region_name,
        "schemes": transfer.schemes,
        "first_period": transfer.first_period,
        "last_period": transfer.last_period,
        "months": transfer.months,
        "pension_account_minor": transfer.pension_account_minor,
        "medical_account_minor": transfer.medical_account_minor,
    }


@router.post("/persons/{person_id}/transfers/out", status_code=201)
def transfer_out(
    person_id: int,
    body: TransferOutIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Transfer the relation to another region with the card as credential (item 24): the
    answer holds the data file (base64) for the receiving office."""
    refuse_agents(ctx, "关系转移由社保经办机构办理。")

    def once() -> tuple[int, dict[str, Any]]:
        moved = transfer_out_with_card(
            platform,
            ctx,
            person_id=person_id,
            card_number=body.card_number,
            region_code=body.region_code,
            region_name=body.region_name,
        )
        return 201, _transfer_json(moved.transfer) | {
            "data_base64": base64.b64encode(moved.data_file).decode()
        }

    return json_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /insurance/persons/{person_id}/transfers/out",
        body=body.model_dump(mode="json"),
        operation=once,
    )


@router.post("/persons/{person_id}/transfers/in", status_code=201)
def transfer_in(
    person_id: int,
    body: TransferInIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Merge a history from another region (its months marked by region)."""
    refuse_agents(ctx, "关系转移由社保经办机构办理。")
    try:
        data = base64.b64decode(body.data_base64, validate=True)
    except ValueError:
        raise InvalidField("data_base64", "base64", "转移数据文件应为 base64。") from None

    def once() -> tuple[int, dict[str, Any]]:
        arrived = transfer_in_with_card(
            platform, ctx, person_id=person_id, card_number=body.card_number, data=data
        )
        return 201, _transfer_json(arrived)

    return json_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route=f"POST /insurance/persons/{person_id}/transfers/in",
        body=body.model_dump(mode="json"),
        operation=once,
    )


class DocumentIn(BaseModel):
    kind: DocumentKind
    year: int | None = Field(default=None, ge=1990, le=2100)
    first_year: int | None = Field(default=None, ge=1990, le=2100)
    transfer_no: str | None = None
    card_number: str | None = Field(
        default=None, description="the holder's card the clerk checked: a card use of item 27/28/24"
    )


def _document_answer(document: InsuranceDocument) -> dict[str, Any]:
    return {
        "document_no": document.document_no,
        "kind": document.kind.value,
        "verification_code": format_code(document.verification_code),
        "pdf": f"/api/v1/insurance/documents/{document.document_no}.pdf",
    }


@router.post("/persons/{person_id}/documents", status_code=201)
def issue(
    person_id: int,
    body: DocumentIn,
    ctx: Context,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue a certificate, rights statement or transfer certificate (with the holder's card when
    the holder is at the counter: a card use of the item); the PDF is at
    …/documents/{document_no}.pdf and anyone can check its code at /verify."""

    def issue_in(session: Session) -> InsuranceDocument:
        _person_in_scope(session, ctx, person_id)
        transfer = None
        if body.transfer_no is not None:
            transfer = next(
                (
                    t
                    for t in queries.list_transfers_of(session, person_id)
                    if t.transfer_no == body.transfer_no
                ),
                None,
            )
            if transfer is None:
                raise NotEnrolled(f"关系转移 {body.transfer_no}")
        return issue_for(
            platform,
            session,
            ctx,
            person_id=person_id,
            kind=body.kind,
            channel="api",
            year=body.year,
            first_year=body.first_year,
            transfer=transfer,
        )

    route = f"POST /insurance/persons/{person_id}/documents"
    if body.card_number is None:
        return json_once(
            platform,
            ctx,
            key=idempotency_key,
            route=route,
            body=body.model_dump(mode="json"),
            operation=lambda s: (201, _document_answer(issue_in(s))),
        )
    card_number = body.card_number

    def by_card() -> tuple[int, dict[str, Any]]:
        return with_holder_card(
            platform,
            ctx,
            person_id=person_id,
            card_number=card_number,
            item_no=ITEM_OF_DOCUMENT[body.kind],
            effect=lambda session, _presented: (201, _document_answer(issue_in(session))),
        )

    return json_once_around_calls(
        platform,
        ctx,
        key=idempotency_key,
        route=route,
        body=body.model_dump(mode="json"),
        operation=by_card,
    )


@router.get("/transfers/{transfer_no}/data-file")
def transfer_data_file(
    transfer_no: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """A relation transfer's data file again, as it was sent (or as it arrived), for the
    receiving office; the download is audited (the file holds the ID number and the history)."""
    return transfer_file_response(platform, session, ctx, transfer_no)


@router.get("/documents/{document_no}.pdf")
def document_pdf(document_no: str, session: DbSession, ctx: Context) -> Response:
    """The document as printed, rendered again from what it said when issued."""
    document = session.scalars(
        select(InsuranceDocument).where(InsuranceDocument.document_no == document_no)
    ).first()
    if document is None:
        raise InvalidField("document_no", "known", f"没有凭证 {document_no}。")
    _person_in_scope(session, ctx, document.person_id)
    pdf = render_pdf(session, document, base_url="")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{document_no}.pdf"'},
    )


@public.get("/{code}")
def verify(code: str, session: DbSession) -> dict[str, Any]:
    """Anyone holding a printed certificate or statement can check it: what the document said
    when issued (the holder's name masked) and its digest."""
    document = find_document(session, code)
    return {
        "document_no": document.document_no,
        "kind": document.kind.value,
        "issued_at": document.issued_at.isoformat(),
        "content_digest": document.content_digest,
        "figures": document.figures,
    }


# -- signed terminals: the bank channel and kiosks (item 29), card writers (item 26) -----------

terminal_router = api_router("/terminal/insurance", "terminal calls (signed)")


class TerminalCardIn(BaseModel):
    card_number: str = Field(min_length=9, max_length=12)
    pin: str | None = Field(default=None, pattern=r"^\d{6}$")


def _terminal_credential(ctx: RequestContext, body: TerminalCardIn) -> Any:
    terminal = ctx.require_terminal()
    if body.pin is not None:
        return PhysicalCard(body.card_number, body.pin)
    if terminal.kind is TerminalKind.COUNTER:
        return CheckedCard(body.card_number)
    raise InvalidField("pin", "required", "该终端须由持卡人输入密码。")


@terminal_router.post("/query")
def terminal_query(body: TerminalCardIn, ctx: Context, platform: PlatformDep) -> dict[str, Any]:
    """个人参保信息查询 at a bank's or a kiosk's terminal (item 29): card and PIN; the answer is
    the holder's enrolments, ten years of months, the accounts and resident years."""
    terminal = ctx.require_terminal()

    def effect(session: Session, presented: Presented) -> dict[str, Any]:
        overview = queries.insured_overview(session, presented.holder.id, at=platform.clock.now())
        return overview_json(overview)

    return with_card(
        platform,
        ctx,
        credential=_terminal_credential(ctx, body),
        item_no=ITEM_QUERY,
        channel=CHANNEL_OF_KIND[terminal.kind],
        effect=effect,
        terminal_code=terminal.terminal_code,
        county_code=terminal.county_code,
    )


@terminal_router.post("/card-records")
def terminal_card_records(
    body: TerminalCardIn, ctx: Context, platform: PlatformDep
) -> list[dict[str, Any]]:
    """参保信息记录 (item 26): the records of the card's insurance areas as the platform keeps
    them; the terminal writes each with …/cards/area-writes (MAC) and confirms."""
    terminal = ctx.require_terminal()

    def effect(session: Session, presented: Presented) -> list[dict[str, Any]]:
        return [
            {
                "area": r.area,
                "file_id": r.file_id,
                "record_no": r.record_no,
                "value_hex": r.value.hex(),
                "label": r.label,
            }
            for r in enrolment_records(session, presented.holder.id)
        ]

    return with_card(
        platform,
        ctx,
        credential=_terminal_credential(ctx, body),
        item_no=ITEM_RECORD,
        channel=CHANNEL_OF_KIND[terminal.kind],
        effect=effect,
        terminal_code=terminal.terminal_code,
        county_code=terminal.county_code,
    )
