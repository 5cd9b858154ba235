"""What the API, the web pages and the terminals share for social insurance: the card presented
for each item (22–30) through the cards door, payments of contributions by card through the
collection service (the order is raised here, paid, then the declaration or resident
contribution is settled with what the bank collected), the documents issued and rendered, the
employer and the people an employer's agent may act for, the counter's operations with the
holder's card (enrolment, relation transfers) and the employer's business (declarations,
payments recorded, departures, enrolment changes) each with its audit record, and JSON shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcard.access.audit import append_audit
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform
from socialcard.cards import queries as card_queries
from socialcard.cards.door import CheckedCard, Credential, ElectronicCard, Presented
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.errors import InvalidField, PermissionDenied
from socialcard.http.cards import use_card
from socialcard.http.context import RequestContext
from socialcard.http.payments import take_payment
from socialcard.http.persons import check_person_scope
from socialcard.insurance import declarations, documents, enrolment, queries, resident, transfers
from socialcard.insurance.catalogue import (
    DEPARTMENT,
    ITEM_CERTIFICATE,
    ITEM_ENROL,
    ITEM_SELF_PAY,
    ITEM_STATEMENT,
    ITEM_TRANSFER,
)
from socialcard.insurance.errors import (
    ENROLMENT_STATUS_LABELS,
    KIND_LABELS,
    MONTH_SOURCE_LABELS,
    MONTH_STATUS_LABELS,
    DeclarationRefused,
)
from socialcard.insurance.models import (
    ContributionMonth,
    Declaration,
    DeclarationKind,
    DeclarationStatus,
    DocumentKind,
    Enrolment,
    EnrolmentKind,
    InsuranceDocument,
    InsuranceTransfer,
    MonthStatus,
    ResidentContribution,
)
from socialcard.insurance.queries import InsuredOverview, MonthLine
from socialcard.insurance.rules import period_label
from socialcard.insurance.schemes import SCHEMES, SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.money import Money
from socialcard.payments import queries as payment_queries
from socialcard.payments import services as payments
from socialcard.payments.models import OrderStatus, PaymentOrder
from socialcard.registry.models import Person
from socialcard.registry.queries import get_person
from socialcard.reports.insurance_documents import render_insurance_document

T = TypeVar("T")
CALLER = "insurance"
VERIFY_PATH = "/verify"


def audit_insurance(
    session: Session,
    platform: Platform,
    context: RequestContext | None,
    action: str,
    object_type: str,
    object_id: object,
    *,
    result: AuditResult = AuditResult.SUCCESS,
    **details: object,
) -> None:
    if context is None:
        return
    event = context.event(
        action, result, object_type=object_type, object_id=object_id, details=dict(details)
    )
    append_audit(session, event, at=platform.clock.now())


def employer_in_scope(context: RequestContext, employer_id: int) -> int:
    """An employer's agent acts for its own employer only; government staff for any."""
    principal = context.require_principal()
    if principal.employer_id is not None and principal.employer_id != employer_id:
        raise PermissionDenied("单位经办员只能办理本单位的业务。", employer=employer_id)
    return employer_id


def person_in_employer_scope(session: Session, context: RequestContext, person_id: int) -> None:
    """An employer's agent sees only people enrolled (now or before) through its employer."""
    employer_id = context.require_principal().employer_id
    if employer_id is not None and not any(
        e.employer_id == employer_id for e, _name in queries.list_enrolments(session, person_id)
    ):
        raise PermissionDenied("单位经办员只能查询本单位参保职工。", person=person_id)


def visible_person(session: Session, context: RequestContext, person_id: int) -> Person:
    """The person, when the caller may see them: an employer's agent only people enrolled (now or
    before) through its employer, others within their county scope."""
    person = get_person(session, person_id)
    person_in_employer_scope(session, context, person_id)
    check_person_scope(context.require_principal(), person)
    return person


def transfer_file_response(
    platform: Platform, session: Session, context: RequestContext, transfer_no: str
) -> Response:
    """A relation transfer's data file again, as it was sent (or as it arrived), for the other
    region's office: for the agency's staff only, within their scope, each download audited (the
    file holds the ID number and the history)."""
    refuse_agents(context, "关系转移由社保经办机构办理。")
    transfer, data = transfers.transfer_data_file(session, platform.keys, transfer_no)
    visible_person(session, context, transfer.person_id)
    with transaction(session):
        audit_insurance(
            session,
            platform,
            context,
            "insurance.transfer_file_downloaded",
            "insurance_transfer",
            transfer_no,
        )
    return Response(
        data,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{transfer_no}.json"',
            "Cache-Control": "no-store",
        },
    )


def enrolment_in_scope(context: RequestContext, found: Enrolment) -> None:
    """An employer's agent changes only enrolments through its employer."""
    if found.employer_id is not None:
        employer_in_scope(context, found.employer_id)
    else:
        refuse_agents(context, "单位经办员只能办理本单位职工。")


def is_agent(context: RequestContext) -> bool:
    """Whether the caller is an employer's agent (单位经办员) rather than the agency's staff."""
    return context.require_principal().employer_id is not None


def refuse_agents(context: RequestContext, message: str) -> None:
    """What only the agency does: an employer's agent is refused with `message`."""
    if is_agent(context):
        raise PermissionDenied(message)


def visible_declaration(
    session: Session, context: RequestContext, declaration_no: str
) -> Declaration:
    """The declaration, when the caller may see it: an employer's agent only its employer's."""
    found = queries.get_declaration(session, declaration_no)
    if found.employer_id is not None:
        employer_in_scope(context, found.employer_id)
    else:
        refuse_agents(context, "单位经办员只能查看本单位的申报。")
    return found


def with_card(
    platform: Platform,
    context: RequestContext | None,
    *,
    credential: Credential,
    item_no: int,
    channel: Channel,
    effect: Callable[[Session, Presented], T],
    terminal_code: str | None = None,
    county_code: str | None = None,
) -> T:
    """Present the card for `item_no` and run `effect` in the same transaction (a refusal is
    recorded on its own and raised)."""
    outcome = use_card(
        platform,
        context,
        credential=credential,
        item_no=item_no,
        channel=channel,
        county_code=county_code,
        terminal_code=terminal_code,
        effect=effect,
    )
    assert outcome.result is not None
    return outcome.result


def with_holder_card(
    platform: Platform,
    context: RequestContext | None,
    *,
    person_id: int | None,
    card_number: str,
    item_no: int,
    effect: Callable[[Session, Presented], T],
) -> T:
    """The card the clerk checked at the counter presented for `item_no`, and `effect` run in the
    same transaction; a card that is not `person_id`'s (when given) is refused."""

    def checked(session: Session, presented: Presented) -> T:
        if person_id is not None and presented.holder.id != person_id:
            raise InvalidField("card_number", "holder", "社保卡不是该参保人的。")
        return effect(session, presented)

    return with_card(
        platform,
        context,
        credential=CheckedCard(card_number),
        item_no=item_no,
        channel=Channel.COUNTER,
        effect=checked,
    )


# -- the counter's card operations: enrolment (item 22), relation transfers (item 24) -----------


@dataclass(frozen=True, slots=True)
class CardEnrolment:
    """Whom the card enrolled, and the enrolments (an identical open one as it was)."""

    person_id: int
    enrolments: list[Enrolment]


def _enrol_audited(
    platform: Platform,
    session: Session,
    context: RequestContext,
    request: enrolment.EnrolRequest,
) -> list[Enrolment]:
    """Enrol, and audit it as insurance.enrolled with the kind, the schemes and the employer."""
    done = enrolment.enrol(session, request, at=platform.clock.now())
    details: dict[str, Any] = {"kind": request.kind.value}
    if request.employer_id is not None:
        details["employer_id"] = request.employer_id
    audit_insurance(
        session,
        platform,
        context,
        "insurance.enrolled",
        "person",
        request.person_id,
        schemes=[e.scheme.value for e in done],
        **details,
    )
    return done


def enrol_holder_with_card(
    platform: Platform,
    context: RequestContext,
    *,
    person_id: int | None,
    card_number: str,
    kind: EnrolmentKind,
    started_on: date,
    wage_minor: int | None,
    schemes: tuple[SchemeCode, ...],
) -> CardEnrolment:
    """Enrol the card's holder (who must be `person_id` when given) as a flexible worker or a
    resident at the counter: a card use of item 22, the enrolment in its transaction."""

    def effect(session: Session, presented: Presented) -> CardEnrolment:
        holder_id = presented.holder.id
        request = enrolment.EnrolRequest(
            person_id=holder_id,
            kind=kind,
            started_on=started_on,
            channel="counter",
            wage_minor=wage_minor,
            schemes=schemes,
        )
        done = _enrol_audited(platform, session, context, request)
        return CardEnrolment(holder_id, done)

    return with_holder_card(
        platform,
        context,
        person_id=person_id,
        card_number=card_number,
        item_no=ITEM_ENROL,
        effect=effect,
    )


def transfer_out_with_card(
    platform: Platform,
    context: RequestContext,
    *,
    person_id: int,
    card_number: str,
    region_code: str,
    region_name: str,
) -> transfers.TransferredOut:
    """Transfer the relation to another region with the holder's card as credential (item 24)."""
    return _transfer_with_card(
        platform,
        context,
        transfers.transfer_out,
        action="insurance.transferred_out",
        transferred=lambda moved: moved.transfer,
        person_id=person_id,
        card_number=card_number,
        particulars={"region_code": region_code, "region_name": region_name},
    )


def transfer_in_with_card(
    platform: Platform,
    context: RequestContext,
    *,
    person_id: int,
    card_number: str,
    data: bytes,
) -> InsuranceTransfer:
    """Merge a history from another region (its data file) with the holder's card as consent
    (item 24)."""
    return _transfer_with_card(
        platform,
        context,
        transfers.transfer_in,
        action="insurance.transferred_in",
        transferred=lambda arrived: arrived,
        person_id=person_id,
        card_number=card_number,
        particulars={"data": data},
    )


def _transfer_with_card(
    platform: Platform,
    context: RequestContext,
    transfer: Callable[..., T],
    *,
    action: str,
    transferred: Callable[[T], InsuranceTransfer],
    person_id: int,
    card_number: str,
    particulars: dict[str, Any],
) -> T:
    """The relation transfer service `transfer` (with its `particulars`) in the card use of item
    24 at the counter, audited as `action` with the transfer's number and the other region."""

    def effect(session: Session, presented: Presented) -> T:
        done = transfer(
            session,
            platform.keys,
            person_id=person_id,
            card_id=presented.card.id,
            channel="counter",
            created_by=context.require_principal().staff_id,
            at=platform.clock.now(),
            **particulars,
        )
        made = transferred(done)
        audit_insurance(
            session,
            platform,
            context,
            action,
            "insurance_transfer",
            made.transfer_no,
            region=made.region_code,
        )
        return done

    return with_holder_card(
        platform,
        context,
        person_id=person_id,
        card_number=card_number,
        item_no=ITEM_TRANSFER,
        effect=effect,
    )


# -- the employer's business (items 22, 23) and the agency's records of it ---------------------
# Each is the service call and its audit record, in the caller's transaction.


def enrol_for_employer(
    platform: Platform,
    session: Session,
    context: RequestContext,
    *,
    person_id: int,
    employer_id: int | None,
    started_on: date,
    wage_minor: int | None,
    channel: str,
    schemes: tuple[SchemeCode, ...] = (),
) -> list[Enrolment]:
    """增员: the employer enrols its employee (by default in every employee scheme)."""
    request = enrolment.EnrolRequest(
        person_id=person_id,
        kind=EnrolmentKind.EMPLOYEE,
        started_on=started_on,
        channel=channel,
        employer_id=employer_id,
        wage_minor=wage_minor,
        schemes=schemes,
    )
    return _enrol_audited(platform, session, context, request)


def change_enrolment_status(
    platform: Platform,
    session: Session,
    context: RequestContext,
    enrolment_id: int,
    *,
    action: str,
    on: date,
    reason: str,
    at: datetime,
) -> Enrolment:
    """暂停缴费 (`suspend`) / 恢复缴费 (`resume`) / 终止参保 (`terminate`), audited as
    insurance.enrolment_<action> with the reason."""
    if action == "suspend":
        changed = enrolment.suspend_enrolment(session, enrolment_id, on=on, reason=reason, at=at)
    elif action == "resume":
        changed = enrolment.resume_enrolment(session, enrolment_id, at=at)
    else:
        changed = enrolment.terminate_enrolment(session, enrolment_id, on=on, reason=reason, at=at)
    audit_insurance(
        session,
        platform,
        context,
        f"insurance.enrolment_{action}",
        "enrolment",
        enrolment_id,
        reason=reason,
    )
    return changed


def leave_employer(
    platform: Platform,
    session: Session,
    context: RequestContext,
    *,
    person_id: int,
    employer_id: int,
    on: date,
) -> list[Enrolment]:
    """减员: the employee left; their enrolments through this employer are suspended."""
    left = enrolment.leave_employer(
        session, person_id=person_id, employer_id=employer_id, on=on, at=platform.clock.now()
    )
    audit_insurance(
        session,
        platform,
        context,
        "insurance.departure",
        "person",
        person_id,
        employer_id=employer_id,
    )
    return left


def declare_employer_month(
    platform: Platform,
    session: Session,
    context: RequestContext,
    *,
    employer_id: int,
    period: int,
    wages: dict[int, int],
    channel: str,
) -> Declaration:
    """The employer's monthly declaration for every employee enrolled through it."""
    return _declare(
        platform,
        session,
        context,
        declarations.declare_employer_month,
        action="insurance.declared",
        channel=channel,
        particulars={"employer_id": employer_id, "period": period, "wages": wages},
    )


def declare_back_payment(
    platform: Platform,
    session: Session,
    context: RequestContext,
    *,
    employer_id: int,
    person_id: int,
    first_period: int,
    last_period: int,
    wage_minor: int,
    channel: str,
) -> Declaration:
    """补缴: an employee's months the employer missed, on the wage of then."""
    missed = {"first_period": first_period, "last_period": last_period, "wage_minor": wage_minor}
    return _declare(
        platform,
        session,
        context,
        declarations.declare_back_payment,
        action="insurance.back_payment",
        channel=channel,
        particulars={"employer_id": employer_id, "person_id": person_id, **missed},
    )


def _declare(
    platform: Platform,
    session: Session,
    context: RequestContext,
    declare: Callable[..., Declaration],
    *,
    action: str,
    channel: str,
    particulars: dict[str, Any],
) -> Declaration:
    """The declaration service `declare` (with its `particulars`) by the caller, audited as
    `action` with the declaration's total."""
    made = declare(
        session,
        channel=channel,
        declared_by=context.require_principal().staff_id,
        at=platform.clock.now(),
        **particulars,
    )
    audit_insurance(
        session,
        platform,
        context,
        action,
        "declaration",
        made.declaration_no,
        total_minor=made.total_minor,
    )
    return made


def record_employer_payment(
    platform: Platform,
    session: Session,
    context: RequestContext,
    declaration_no: str,
    *,
    paid_minor: int,
    bank_reference: str,
) -> Declaration:
    """The employer's transfer is on the fund's bank statement: the declaration is paid in full,
    once; another amount is refused."""
    paid = declarations.record_employer_payment(
        session,
        declaration_no,
        paid_minor=paid_minor,
        bank_reference=bank_reference,
        at=platform.clock.now(),
    )
    audit_insurance(
        session,
        platform,
        context,
        "insurance.payment_recorded",
        "declaration",
        declaration_no,
        paid_minor=paid_minor,
    )
    return paid


def cancel_declaration(
    platform: Platform, session: Session, context: RequestContext, declaration_no: str
) -> Declaration:
    """Withdraw an unpaid declaration; its months stay on record as cancelled."""
    done = declarations.cancel_declaration(session, declaration_no, at=platform.clock.now())
    audit_insurance(
        session, platform, context, "insurance.declaration_cancelled", "declaration", declaration_no
    )
    return done


# -- paying contributions with the card ---------------------------------------------------------


def _payer_of(platform: Platform, credential: Credential) -> int:
    if isinstance(credential, ElectronicCard):
        raise InvalidField("credential", "physical_card", "缴纳社会保险费请插卡并输入密码。")
    with platform.session() as session:
        return card_queries.get_card(session, credential.card_number).person_id


def _order_for(
    platform: Platform,
    *,
    payer_id: int,
    key: str,
    amount_minor: int,
    purpose: str,
    reference: str,
) -> PaymentOrder:
    with platform.session() as session, transaction(session):
        order = payments.create_order(
            session,
            person_id=payer_id,
            reference=reference,
            caller=CALLER,
            idempotency_key=key,
            at=platform.clock.now(),
            amount=Money(amount_minor),
            item_no=ITEM_SELF_PAY,
            department_code=DEPARTMENT,
            purpose=purpose,
        )
        return order


def _order_to_pay(
    platform: Platform,
    *,
    previous_no: str | None,
    payer_id: int,
    key: str,
    amount_minor: int,
    purpose: str,
    reference: str,
) -> PaymentOrder:
    """The order the payer pays now: the one raised before, unless the bank refused it, the
    amount changed or someone else pays; else a new one (its key names the attempt)."""
    if previous_no is not None:
        with platform.session() as session:
            previous = payment_queries.get_order(session, previous_no)
        if (
            previous.status is not OrderStatus.FAILED
            and previous.amount_minor == amount_minor
            and previous.person_id == payer_id
        ):
            return previous
    return _order_for(
        platform,
        payer_id=payer_id,
        key=key,
        amount_minor=amount_minor,
        purpose=purpose,
        reference=reference,
    )


def pay_declaration(
    platform: Platform,
    context: RequestContext,
    *,
    declaration_no: str,
    credential: Credential,
    channel: Channel,
    terminal_code: str | None = None,
) -> tuple[Declaration, PaymentOrder]:
    """A flexible worker pays their declaration from the card's bank account (item 30)."""
    payer_id = _payer_of(platform, credential)
    with platform.session() as session:
        declaration = queries.get_declaration(session, declaration_no)
        if declaration.kind is not DeclarationKind.FLEXIBLE or declaration.person_id != payer_id:
            raise DeclarationRefused("只能用本人的社保卡缴纳本人的灵活就业申报单")
        if declaration.status is not DeclarationStatus.DECLARED:
            raise DeclarationRefused("申报单已缴费或已撤销", status=declaration.status.value)
        span = period_label(declaration.first_period)
        if declaration.last_period != declaration.first_period:
            span += "至" + period_label(declaration.last_period)
        amount, order_no = declaration.total_minor, declaration.payment_order_no
    order = _order_to_pay(
        platform,
        previous_no=order_no,
        payer_id=payer_id,
        key=f"declaration:{declaration_no}:{declaration.version}",
        amount_minor=amount,
        purpose=f"灵活就业社会保险费 {span}",
        reference=f"declaration:{declaration_no}",
    )
    paid, settled = _pay_and_settle(
        platform,
        context,
        order=order,
        attach=lambda session, order_no: declarations.attach_order(
            session, declaration_no, order_no
        ),
        credential=credential,
        channel=channel,
        terminal_code=terminal_code,
    )
    return settled or _declaration(platform, declaration_no), paid


def _declaration(platform: Platform, declaration_no: str) -> Declaration:
    with platform.session() as session:
        return queries.get_declaration(session, declaration_no)


def pay_resident_contribution(
    platform: Platform,
    context: RequestContext,
    *,
    insured_person_id: int | None,
    scheme: SchemeCode,
    year: int,
    amount_minor: int | None,
    credential: Credential,
    channel: Channel,
    terminal_code: str | None = None,
) -> tuple[ResidentContribution, PaymentOrder]:
    """Pay a resident scheme's year from the card's bank account, for the card's holder or a
    family member (`insured_person_id`)."""
    payer_id = _payer_of(platform, credential)
    insured = insured_person_id or payer_id
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        contribution = resident.order_resident_contribution(
            session,
            person_id=insured,
            payer_person_id=payer_id,
            scheme=scheme,
            year=year,
            amount_minor=amount_minor,
            at=at,
        )
        contribution_id, amount = contribution.id, contribution.amount_minor
        order_no = contribution.payment_order_no
        name = get_person(session, insured).name
    order = _order_to_pay(
        platform,
        previous_no=order_no,
        payer_id=payer_id,
        key=f"resident:{contribution_id}:{amount}:{order_no or 0}",
        amount_minor=amount,
        purpose=f"{year}年度{SCHEMES[scheme].short_name}（{name[:1]}*）",
        reference=f"resident_contribution:{contribution_id}",
    )
    paid, _settled = _pay_and_settle(
        platform,
        context,
        order=order,
        attach=lambda session, order_no: resident.attach_resident_order(
            session, contribution_id, order_no
        ),
        credential=credential,
        channel=channel,
        terminal_code=terminal_code,
    )
    with platform.session() as session:
        settled = session.get_one(ResidentContribution, contribution_id)
        session.expunge(settled)
    return settled, paid


def _pay_and_settle(
    platform: Platform,
    context: RequestContext,
    *,
    order: PaymentOrder,
    attach: Callable[[Session, str], object],
    credential: Credential,
    channel: Channel,
    terminal_code: str | None,
) -> tuple[PaymentOrder, Declaration | None]:
    """Attach the order to what it pays (in a transaction of its own), debit it through the bank,
    then settle what it paid when the bank confirmed: the paid order and the settled declaration
    (None for a resident contribution or an order not paid yet)."""
    with platform.session() as session, transaction(session):
        attach(session, order.order_no)
    paid = take_payment(
        platform,
        context,
        order_no=order.order_no,
        credential=credential,
        channel=channel,
        terminal_code=terminal_code,
    )
    return paid, settle_if_paid(platform, paid)


def settle_if_paid(platform: Platform, order: PaymentOrder) -> Declaration | None:
    """Settle the declaration or resident contribution an order paid (idempotent)."""
    if order.status is not OrderStatus.PAID:
        return None
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        declaration = queries.find_declaration_by_order(session, order.order_no)
        if declaration is not None:
            settled = declarations.settle_declaration(
                session,
                declaration.declaration_no,
                source_account=order.income_account,
                paid_minor=order.amount_minor,
                at=at,
            )
            session.flush()
            session.expunge(settled)
            return settled
        contribution = resident.find_resident_by_order(session, order.order_no)
        if contribution is not None:
            resident.settle_resident_contribution(
                session,
                contribution.id,
                source_account=order.income_account,
                paid_minor=order.amount_minor,
                at=at,
            )
    return None


def settle_paid_orders(platform: Platform) -> int:
    """The nightly sweep: contributions whose card payment was settled after the request ended
    (an unknown bank answer resolved later) are settled now. Returns how many."""
    with platform.session() as session:
        waiting = [
            *(
                d.payment_order_no
                for d in queries.list_declarations(
                    session, status=DeclarationStatus.DECLARED, limit=100_000
                )
                if d.payment_order_no
            ),
            *queries.resident_orders_waiting(session),
        ]
    settled = 0
    for order_no in waiting:
        with platform.session() as session:
            order = payment_queries.get_order(session, order_no)
        if order.status is OrderStatus.PAID:
            settle_if_paid(platform, order)
            settled += 1
    return settled


# -- documents ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    document: InsuranceDocument
    pdf: bytes


ITEM_OF_DOCUMENT = {
    DocumentKind.CONTRIBUTION_CERTIFICATE: ITEM_CERTIFICATE,
    DocumentKind.RIGHTS_STATEMENT: ITEM_STATEMENT,
    DocumentKind.TRANSFER_CERTIFICATE: ITEM_TRANSFER,
}


def figures_for(
    session: Session,
    person_id: int,
    kind: DocumentKind,
    *,
    at: datetime,
    year: int | None = None,
    first_year: int | None = None,
    transfer: InsuranceTransfer | None = None,
) -> dict[str, Any]:
    person = get_person(session, person_id)
    this_year = at.astimezone(SHANGHAI).year
    if kind is DocumentKind.RIGHTS_STATEMENT:
        return documents.rights_statement_figures(session, person, year=year or this_year, at=at)
    if kind is DocumentKind.CONTRIBUTION_CERTIFICATE:
        last = year or this_year
        return documents.certificate_figures(
            session, person, first_year=first_year or last - 9, last_year=last, at=at
        )
    if transfer is None:
        raise InvalidField("transfer_no", "required", "须指定关系转移编号。")
    return documents.transfer_certificate_figures(session, person, transfer)


def issue_for(
    platform: Platform,
    session: Session,
    context: RequestContext | None,
    *,
    person_id: int,
    kind: DocumentKind,
    channel: str,
    year: int | None = None,
    first_year: int | None = None,
    transfer: InsuranceTransfer | None = None,
) -> InsuranceDocument:
    """Compute the figures and record the document with its verification code, in the caller's
    transaction (which also holds the card use when a card was presented)."""
    at = platform.clock.now()
    figures = figures_for(
        session, person_id, kind, at=at, year=year, first_year=first_year, transfer=transfer
    )
    document = documents.issue_document(
        session, kind=kind, person_id=person_id, figures=figures, channel=channel, at=at
    )
    audit_insurance(
        session,
        platform,
        context,
        "insurance.document_issued",
        "insurance_document",
        document.document_no,
        kind=kind.value,
        channel=channel,
    )
    return document


def render_pdf(session: Session, document: InsuranceDocument, *, base_url: str) -> bytes:
    """The document as printed (rendered again from what it said when issued)."""
    return render_insurance_document(
        document,
        holder_name=get_person(session, document.person_id).name,
        verify_url=base_url.rstrip("/") + VERIFY_PATH,
    )


def issue_pdf(
    platform: Platform,
    session: Session,
    context: RequestContext | None,
    *,
    person_id: int,
    kind: DocumentKind,
    channel: str,
    base_url: str,
    year: int | None = None,
    first_year: int | None = None,
    transfer: InsuranceTransfer | None = None,
) -> IssuedDocument:
    """issue_for, then render the PDF."""
    document = issue_for(
        platform,
        session,
        context,
        person_id=person_id,
        kind=kind,
        channel=channel,
        year=year,
        first_year=first_year,
        transfer=transfer,
    )
    return IssuedDocument(document, render_pdf(session, document, base_url=base_url))


# -- JSON ---------------------------------------------------------------------------------------


def enrolment_json(enrolment: Enrolment, employer: str | None = None) -> dict[str, Any]:
    return {
        "id": enrolment.id,
        "scheme": enrolment.scheme.value,
        "scheme_name": SCHEMES[enrolment.scheme].name,
        "kind": enrolment.kind.value,
        "kind_label": KIND_LABELS[enrolment.kind.value],
        "employer_id": enrolment.employer_id,
        "employer": employer,
        "status": enrolment.status.value,
        "status_label": ENROLMENT_STATUS_LABELS[enrolment.status.value],
        "started_on": enrolment.started_on.isoformat(),
        "ended_on": enrolment.ended_on.isoformat() if enrolment.ended_on else None,
        "end_reason": enrolment.end_reason,
        "wage_minor": enrolment.wage_minor,
    }


def month_json(month: ContributionMonth | MonthLine) -> dict[str, Any]:
    return {
        "period": month.period,
        "base_minor": month.base_minor,
        "pension": [month.pension_employer_minor, month.pension_individual_minor],
        "medical": [month.medical_employer_minor, month.medical_individual_minor],
        "unemployment": [month.unemployment_employer_minor, month.unemployment_individual_minor],
        "work_injury": month.work_injury_employer_minor,
        "maternity": month.maternity_employer_minor,
        "pension_account_minor": month.pension_account_minor,
        "medical_account_minor": month.medical_account_minor,
        "schemes_mask": month.schemes_mask,
        "status": month.status.value,
        "status_label": MONTH_STATUS_LABELS[month.status.value],
        "source": month.source.value,
        "source_label": MONTH_SOURCE_LABELS[month.source.value],
        "region_code": month.region_code,
        "employer_id": month.employer_id,
    }


def declaration_json(declaration: Declaration) -> dict[str, Any]:
    return {
        "declaration_no": declaration.declaration_no,
        "kind": declaration.kind.value,
        "employer_id": declaration.employer_id,
        "person_id": declaration.person_id,
        "first_period": declaration.first_period,
        "last_period": declaration.last_period,
        "status": declaration.status.value,
        "persons": declaration.persons,
        "months": declaration.months,
        "employer_minor": declaration.employer_minor,
        "individual_minor": declaration.individual_minor,
        "total_minor": declaration.total_minor,
        "payment_order_no": declaration.payment_order_no,
        "bank_reference": declaration.bank_reference,
        "declared_at": declaration.declared_at.isoformat(),
        "paid_at": declaration.paid_at.isoformat() if declaration.paid_at else None,
    }


def resident_json(contribution: ResidentContribution) -> dict[str, Any]:
    return {
        "id": contribution.id,
        "person_id": contribution.person_id,
        "scheme": contribution.scheme.value,
        "scheme_name": SCHEMES[contribution.scheme].name,
        "year": contribution.year,
        "amount_minor": contribution.amount_minor,
        "subsidy_minor": contribution.subsidy_minor,
        "payer_person_id": contribution.payer_person_id,
        "status": contribution.status.value,
        "status_label": MONTH_STATUS_LABELS[contribution.status.value],
        "payment_order_no": contribution.payment_order_no,
    }


def overview_json(overview: InsuredOverview) -> dict[str, Any]:
    """The self-service query (item 29) as JSON: enrolments, months, accounts, resident years."""

    def account(view: queries.AccountView | None) -> dict[str, Any] | None:
        if view is None:
            return None
        return {
            "scheme": view.scheme.value,
            "balance_minor": view.balance_minor,
            "latest": [
                {
                    "at": line.created_at.isoformat(),
                    "kind": line.kind,
                    "amount_minor": line.amount_minor,
                    "reference": line.reference,
                }
                for line in view.latest
            ],
        }

    return {
        "enrolments": [enrolment_json(e, n) for e, n in overview.enrolments],
        "months": [month_json(m) for m in overview.months],
        "due_months": sum(1 for m in overview.months if m.status is MonthStatus.DUE),
        "medical_account": account(overview.medical),
        "pension_account": account(overview.pension),
        "resident": [resident_json(r) for r in overview.resident],
    }
