"""The social-insurance pages of the agency's officer (社保经办人员) and of the employers' agents
(参保单位经办员).

The officer's console finds a person by ID number and lists the employers with their headcount
and arrears and the city's monthly contributions. A person's page shows the enrolments with
their transitions, ten years of months by year, the personal accounts and the resident years,
and carries the counter's operations: enrolment with the card the clerk checked (item 22),
back-payment for an employer, relation transfers out and in (item 24), the contribution
certificate and the rights statement as PDFs (items 27, 28). The employer page lists the
employees, enrols one by ID number, reports a departure, declares a month, records the
employer's transfer from the bank statement, cancels an unpaid declaration and exports its
lines. The rules are the API's: an employer's agent acts for its own employer and employees only
and never records payments; only the agency transfers relations and prints documents. What
the pages show is read from the records in `web/insurance_records.py`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Final

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.bootstrap import Platform
from socialcard.cards.errors import CardNotFound, CardUseRefused
from socialcard.db import transaction
from socialcard.errors import Conflict, DomainError, InvalidField, NotFound, PermissionDenied
from socialcard.http.context import Context, DbSession, PlatformDep, RequestContext
from socialcard.http.insurance import (
    ITEM_OF_DOCUMENT,
    IssuedDocument,
    audit_insurance,
    cancel_declaration,
    change_enrolment_status,
    declare_back_payment,
    declare_employer_month,
    employer_in_scope,
    enrol_for_employer,
    enrol_holder_with_card,
    enrolment_in_scope,
    is_agent,
    issue_pdf,
    leave_employer,
    record_employer_payment,
    refuse_agents,
    transfer_file_response,
    transfer_in_with_card,
    transfer_out_with_card,
    visible_declaration,
    visible_person,
    with_holder_card,
)
from socialcard.http.persons import find_persons, open_person, present_person
from socialcard.http.problems import status_for
from socialcard.insurance import queries
from socialcard.insurance.declarations import current_period
from socialcard.insurance.errors import (
    DECLARATION_STATUS_LABELS,
    ENROLMENT_STATUS_LABELS,
    MONTH_STATUS_LABELS,
)
from socialcard.insurance.models import (
    Declaration,
    DeclarationStatus,
    DocumentKind,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    MonthStatus,
    TransferDirection,
)
from socialcard.insurance.rules import period_label
from socialcard.insurance.schemes import RESIDENT_SCHEMES, SCHEMES, SchemeCode
from socialcard.kernel.clock import SHANGHAI, local_today
from socialcard.kernel.money import Money
from socialcard.kernel.resident_id import ResidentId
from socialcard.regions import queries as regions
from socialcard.registry.models import Employer
from socialcard.registry.queries import find_person_by_resident_id, get_person
from socialcard.web.forms import FormErrors, see_other
from socialcard.web.insurance_records import (
    DECLARATION_KIND_LABELS,
    TRANSFER_DIRECTION_LABELS,
    DeclarationRow,
    EmployeeRow,
    arrears_total,
    declarable_periods,
    declaration_csv,
    employer_rows,
    enrolment_rows,
    examples_in_force,
    fen_text,
    month_total,
    monthly_chart,
    movements,
    persons_by_id,
    region_names,
    shown_name,
    span_of,
    unpaid_declarations,
    year_views,
)
from socialcard.web.rendering import render_page

router = APIRouter()

NOTICES: Final = {
    "enrolled": "已办理参保登记。",
    "suspend": "已暂停缴费。",
    "resume": "已恢复缴费。",
    "terminate": "已终止参保关系。",
    "departed": "已办理减员：该职工在本单位的参保关系已暂停缴费。",
    "declared": "已申报。单位缴费到账后，由经办机构按银行对账确认。",
    "back_paid": "已生成补缴申报单。单位缴费到账后，由经办机构确认。",
    "paid": "已确认到账：缴费月份已记为已缴费，个人账户已入账。",
    "cancelled": "申报单已撤销，其缴费月份不再计为欠费。",
    "transferred_in": "已转入外地缴费记录，个人账户已入账。",
}
STATUS_ACTIONS: Final = {"suspend": "暂停缴费", "resume": "恢复缴费", "terminate": "终止参保"}
# Domain field names → the form fields that show them.
ALIASES: Final = {"wage_minor": "wage", "paid_minor": "paid", "data_base64": "file"}
UPLOAD_BYTES_MAX: Final = 5 * 1024 * 1024  # a transfer data file is a few hundred kB at most


# -- forms ----------------------------------------------------------------------------------------

NO_ERRORS: Final = FormErrors()


@dataclass(frozen=True, slots=True)
class FormState:
    """The form shown again after a refusal: which one, its messages and what was typed (never
    an ID number)."""

    name: str = ""
    errors: FormErrors = field(default_factory=FormErrors)
    values: dict[str, str] = field(default_factory=dict)

    def errors_of(self, name: str) -> FormErrors:
        return self.errors if name == self.name else NO_ERRORS

    def value(self, name: str, key: str, default: str = "") -> str:
        return self.values.get(key, default) if name == self.name else default

    def message_of(self, name: str) -> str | None:
        """One line for a small form in a table row: the general message or the field's."""
        if name != self.name:
            return None
        return self.errors.general or next(iter(self.errors.fields.values()), None)


def form_errors(error: DomainError) -> FormErrors:
    """A refusal placed next to its field; a card refusal always next to the card number."""
    if isinstance(error, CardUseRefused | CardNotFound):
        return FormErrors(fields={"card_number": error.message}, status_code=status_for(error))
    return FormErrors.of(error, aliases=ALIASES)


def to_fen(text: str, name: str, label: str) -> int:
    """A yuan amount typed in a form, exactly in fen (at most two decimals, above zero)."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    if not cleaned:
        raise InvalidField(name, "required", f"请填写{label}（元）。")
    try:
        minor = Money.yuan(cleaned).minor
    except (ArithmeticError, ValueError):
        raise InvalidField(
            name, "yuan", f"{label}应为金额（元），最多两位小数，如 6500 或 6500.00。"
        ) from None
    if minor <= 0:
        raise InvalidField(name, "positive", f"{label}应大于 0 元。")
    return minor


def to_date(text: str, name: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidField(name, "date", f"{label}应为日期（年-月-日）。") from None


def to_period(text: str, name: str, label: str) -> int:
    """A month typed as 2026-11, or sent as 202611 by the period select."""
    cleaned = text.strip().replace("-", "").replace("/", "")
    if len(cleaned) != 6 or not cleaned.isdigit() or not 1 <= int(cleaned[4:]) <= 12:
        raise InvalidField(name, "period", f"{label}应为年月，如 2026-11。")
    return int(cleaned)


def to_year(text: str, name: str, label: str) -> int:
    cleaned = text.strip()
    if not cleaned.isdigit() or not 1990 <= int(cleaned) <= 2100:
        raise InvalidField(name, "year", f"{label}应为 1990–2100 之间的年份。")
    return int(cleaned)


# -- who may see what -----------------------------------------------------------------------------


def get_employer(session: Session, employer_id: int) -> Employer:
    found = session.get(Employer, employer_id)
    if found is None:
        raise NotFound("没有这个参保单位。", employer=employer_id)
    return found


# -- the officer's console ------------------------------------------------------------------------


def render_console(
    request: Request,
    session: Session,
    platform: Platform,
    ctx: RequestContext,
    *,
    state: FormState | None = None,
) -> Response:
    principal = ctx.require_principal()
    at = platform.clock.now()
    search = request.query_params.get("employer", "").strip()[:60]
    rows = employer_rows(session, search=search)
    chart, charted_minor, charted_months = monthly_chart(session, at)
    unpaid = unpaid_declarations(session, principal)
    unpaid_count, unpaid_minor = arrears_total(session)
    state = state or FormState()
    return render_page(
        request,
        "insurance/staff_console.html",
        employers=rows,
        search=search,
        unpaid=unpaid,
        chart=chart,
        charted_minor=charted_minor,
        charted_months=charted_months,
        active=sum(r.active for r in rows) if not search else None,
        owing=sum(1 for r in rows if r.unpaid),
        unpaid_count=unpaid_count,
        unpaid_minor=unpaid_minor,
        examples=examples_in_force(session, current_period(at)),
        kind_labels=DECLARATION_KIND_LABELS,
        state=state,
        period_label=period_label,
        status_code=state.errors.status_code if state.name else 200,
    )


@router.get("/insurance")
def console(request: Request, ctx: Context, session: DbSession, platform: PlatformDep) -> Response:
    """The officer's console; an employer's agent is sent to its employer's page."""
    employer_id = ctx.require_principal().employer_id
    if employer_id is not None:
        return see_other(f"/insurance/employers/{employer_id}")
    return render_console(request, session, platform, ctx)


@router.post("/insurance/persons/search")
def search_person(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    resident_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Find a person by ID number through the registry's audited search and open their record."""
    try:
        if not resident_id.strip():
            raise InvalidField("resident_id", "required", "请输入公民身份号码（社会保障号码）。")
        number = ResidentId.parse(resident_id, today=local_today(platform.clock))
        with transaction(session):
            people, _total = find_persons(
                session,
                platform.keys,
                ctx,
                resident_id=number,
                name=None,
                birth_on=None,
                county_code=None,
                limit=1,
                offset=0,
                at=platform.clock.now(),
            )
        if not people:
            raise InvalidField("resident_id", "registered", "户籍登记中没有这个公民身份号码。")
    except PermissionDenied:
        raise
    except DomainError as error:
        session.rollback()
        return render_console(
            request, session, platform, ctx, state=FormState("search", form_errors(error))
        )
    return see_other(f"/insurance/persons/{people[0].id}")


# -- a person's record ----------------------------------------------------------------------------


def render_person(
    request: Request,
    session: Session,
    platform: Platform,
    ctx: RequestContext,
    person_id: int,
    *,
    state: FormState | None = None,
) -> Response:
    """A person's insurance record; opening it is audited (person.view)."""
    principal = ctx.require_principal()
    visible_person(session, ctx, person_id)
    at = platform.clock.now()
    with transaction(session):
        person = open_person(session, ctx, person_id=person_id, reveal=False, at=at)
    overview = queries.insured_overview(session, person_id, at=at, latest=20)
    pension = queries.account_view(session, person_id, SchemeCode.PENSION_EMPLOYEE, latest=20)
    if pension is None:
        pension = queries.account_view(session, person_id, SchemeCode.PENSION_RESIDENT, latest=20)
    moved = queries.list_transfers_of(session, person_id)
    employer_ids = {m.employer_id for m in overview.months if m.employer_id is not None}
    employers = {
        e.id: e.name for e in session.scalars(select(Employer).where(Employer.id.in_(employer_ids)))
    }
    all_months = queries.contribution_months(session, person_id)
    agent = is_agent(ctx)
    back_payable = {
        e.employer_id: name or ""
        for e, name in overview.enrolments
        if e.employer_id is not None
        and e.kind is EnrolmentKind.EMPLOYEE
        and e.status is not EnrolmentStatus.TERMINATED
        and (not agent or e.employer_id == principal.employer_id)
    }
    this_year = at.astimezone(SHANGHAI).year
    state = state or FormState()
    rows = enrolment_rows(overview.enrolments, may_change=not agent)
    shown = {"enrol", "back", "out", "in", "doc-contribution_certificate", "doc-rights_statement"}
    shown |= {f"status-{r.enrolment.id}" for r in rows if r.actions}
    if any(t.direction is TransferDirection.OUT for t in moved):
        shown.add("doc-transfer_certificate")
    return render_page(
        request,
        "insurance/staff_person.html",
        shown_forms=shown,
        person=present_person(person, principal.masking),
        is_agent=agent,
        enrolments=rows,
        years=year_views(overview.months, employers, region_names(session, moved)),
        pension=pension,
        pension_lines=movements(pension),
        medical=overview.medical,
        medical_lines=movements(overview.medical),
        resident=overview.resident,
        transfers=moved,
        direction_labels=TRANSFER_DIRECTION_LABELS,
        scheme_names={code.value: s.name for code, s in SCHEMES.items()},
        month_status_labels=MONTH_STATUS_LABELS,
        period_label=period_label,
        pension_months=queries.months_counted(all_months, SchemeCode.PENSION_EMPLOYEE),
        medical_months=queries.months_counted(all_months, SchemeCode.MEDICAL_EMPLOYEE),
        due_months=sum(1 for m in all_months if m.status is MonthStatus.DUE),
        due_minor=sum(month_total(m) for m in all_months if m.status is MonthStatus.DUE),
        back_payable=back_payable,
        this_year=this_year,
        today=local_today(platform.clock).isoformat(),
        resident_schemes=[(s.value, SCHEMES[s].name) for s in RESIDENT_SCHEMES],
        state=state,
        notice=NOTICES.get(request.query_params.get("done", "")),
        status_code=state.errors.status_code if state.name else 200,
    )


@router.get("/insurance/persons/{person_id}")
def person_page(
    person_id: int, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    return render_person(request, session, platform, ctx, person_id)


def _refused(
    request: Request,
    session: Session,
    platform: Platform,
    ctx: RequestContext,
    person_id: int,
    name: str,
    error: DomainError,
    values: dict[str, str],
) -> Response:
    session.rollback()
    state = FormState(name, form_errors(error), values)
    return render_person(request, session, platform, ctx, person_id, state=state)


@router.post("/insurance/persons/{person_id}/enrolments")
def enrol_with_card(
    person_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    kind: Annotated[str, Form()] = "",
    started_on: Annotated[str, Form()] = "",
    wage: Annotated[str, Form(max_length=20)] = "",
    schemes: Annotated[list[str] | None, Form()] = None,
    card_number: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Enrol as a flexible worker or a resident with the card the clerk checked (item 22)."""
    get_person(session, person_id)
    session.rollback()  # the card use below runs in transactions of its own
    refuse_agents(ctx, "单位经办员只能办理本单位职工参保。")
    values = {"kind": kind, "started_on": started_on, "wage": wage, "card_number": card_number}
    values["schemes"] = ",".join(schemes or [])
    try:
        if kind not in (EnrolmentKind.FLEXIBLE.value, EnrolmentKind.RESIDENT.value):
            raise InvalidField("kind", "kind", "请选择参保身份：灵活就业或城乡居民。")
        chosen = EnrolmentKind(kind)
        start = to_date(started_on, "started_on", "参保日期")
        amount: int | None
        picked: tuple[SchemeCode, ...] = ()
        if chosen is EnrolmentKind.FLEXIBLE:
            amount = to_fen(wage, "wage", "月缴费工资")
        else:
            amount = to_fen(wage, "wage", "养老缴费档次") if wage.strip() else None
            wanted = set(schemes or [])
            picked = tuple(s for s in RESIDENT_SCHEMES if s.value in wanted)
            if not picked:
                raise InvalidField("schemes", "required", "请至少选择一个城乡居民险种。")
            if SchemeCode.PENSION_RESIDENT not in picked:
                amount = None
        if not card_number.strip():
            raise InvalidField(
                "card_number", "required", "个人参保须出示社保卡：请填写核验过的卡号。"
            )

        enrol_holder_with_card(
            platform,
            ctx,
            person_id=person_id,
            card_number=card_number.strip(),
            kind=chosen,
            started_on=start,
            wage_minor=amount,
            schemes=picked,
        )
    except PermissionDenied:
        raise
    except DomainError as error:
        return _refused(request, session, platform, ctx, person_id, "enrol", error, values)
    return see_other(f"/insurance/persons/{person_id}?done=enrolled")


@router.post("/insurance/enrolments/{enrolment_id}/status")
def change_enrolment(
    enrolment_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """暂停缴费 / 恢复缴费 / 终止参保, with the reason on record."""
    found = session.get(Enrolment, enrolment_id)
    if found is None:
        raise NotFound(f"没有参保记录 {enrolment_id}。", enrolment=enrolment_id)
    person_id = found.person_id
    enrolment_in_scope(ctx, found)
    session.rollback()
    try:
        if action not in STATUS_ACTIONS:
            raise InvalidField("action", "action", "请选择要办理的业务。")
        if action != "resume" and not reason.strip():
            raise InvalidField("reason", "required", f"{STATUS_ACTIONS[action]}须填写原因。")
        at = platform.clock.now()
        on = at.astimezone(SHANGHAI).date()
        with transaction(session):
            change_enrolment_status(
                platform,
                session,
                ctx,
                enrolment_id,
                action=action,
                on=on,
                reason=reason.strip(),
                at=at,
            )
    except PermissionDenied:
        raise
    except DomainError as error:
        values = {"action": action, "reason": reason}
        name = f"status-{enrolment_id}"
        return _refused(request, session, platform, ctx, person_id, name, error, values)
    return see_other(f"/insurance/persons/{person_id}?done={action}")


@router.post("/insurance/persons/{person_id}/back-payments")
def back_payment(
    person_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    employer_id: Annotated[int, Form()] = 0,
    first_period: Annotated[str, Form()] = "",
    last_period: Annotated[str, Form()] = "",
    wage: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """补缴: months of this employee the employer did not declare in time, on the wage of then."""
    visible_person(session, ctx, person_id)
    employer_in_scope(ctx, employer_id)
    session.rollback()
    values = {
        "employer_id": str(employer_id),
        "first_period": first_period,
        "last_period": last_period,
        "wage": wage,
    }
    try:
        if not employer_id:
            raise InvalidField("employer_id", "required", "请选择补缴的参保单位。")
        first = to_period(first_period, "first_period", "起始月份")
        last = to_period(last_period, "last_period", "截止月份")
        amount = to_fen(wage, "wage", "月缴费工资")
        with transaction(session):
            declare_back_payment(
                platform,
                session,
                ctx,
                employer_id=employer_id,
                person_id=person_id,
                first_period=first,
                last_period=last,
                wage_minor=amount,
                channel="web",
            )
    except PermissionDenied:
        raise
    except DomainError as error:
        return _refused(request, session, platform, ctx, person_id, "back", error, values)
    return see_other(f"/insurance/employers/{employer_id}?done=back_paid")


@router.post("/insurance/persons/{person_id}/transfers/out")
def transfer_out(
    person_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    region_code: Annotated[str, Form(max_length=6)] = "",
    region_name: Annotated[str, Form(max_length=60)] = "",
    card_number: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Transfer the relation to another region with the card as credential (item 24); the page
    that answers offers the data file for the receiving office and the transfer certificate."""
    refuse_agents(ctx, "关系转移由社保经办机构办理。")
    values = {"region_code": region_code, "region_name": region_name, "card_number": card_number}
    try:
        if not card_number.strip():
            raise InvalidField(
                "card_number", "required", "关系转移须出示社保卡：请填写核验过的卡号。"
            )

        moved = transfer_out_with_card(
            platform,
            ctx,
            person_id=person_id,
            card_number=card_number.strip(),
            region_code=region_code.strip(),
            region_name=region_name.strip(),
        )
    except PermissionDenied:
        raise
    except DomainError as error:
        return _refused(request, session, platform, ctx, person_id, "out", error, values)
    person = get_person(session, person_id)
    principal = ctx.require_principal()
    return render_page(
        request,
        "insurance/staff_transfer.html",
        person=present_person(person, principal.masking),
        transfer=moved.transfer,
        scheme_names={code.value: s.name for code, s in SCHEMES.items()},
        data_url="data:application/json;base64," + base64.b64encode(moved.data_file).decode(),
        data_bytes=len(moved.data_file),
        period_label=period_label,
    )


@router.post("/insurance/persons/{person_id}/transfers/in")
def transfer_in(
    person_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    card_number: Annotated[str, Form(max_length=20)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Merge a history from another region (the data file its office issued), each month kept
    with the region it was paid in; the card is the holder's consent."""
    refuse_agents(ctx, "关系转移由社保经办机构办理。")
    values = {"card_number": card_number}
    try:
        if file is None or not file.filename:
            raise InvalidField("file", "required", "请选择转出地出具的关系转移数据文件。")
        data = file.file.read(UPLOAD_BYTES_MAX + 1)
        if len(data) > UPLOAD_BYTES_MAX:
            raise InvalidField("file", "size", "转移数据文件超过 5 MB，不是有效的转移数据文件。")
        if not card_number.strip():
            raise InvalidField(
                "card_number", "required", "关系转移须出示社保卡：请填写核验过的卡号。"
            )

        transfer_in_with_card(
            platform, ctx, person_id=person_id, card_number=card_number.strip(), data=data
        )
    except PermissionDenied:
        raise
    except DomainError as error:
        return _refused(request, session, platform, ctx, person_id, "in", error, values)
    return see_other(f"/insurance/persons/{person_id}?done=transferred_in")


@router.post("/insurance/persons/{person_id}/documents")
def issue_document(
    person_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    kind: Annotated[str, Form()] = "",
    year: Annotated[str, Form()] = "",
    first_year: Annotated[str, Form()] = "",
    transfer_no: Annotated[str, Form(max_length=20)] = "",
    card_number: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The contribution certificate (years), the rights statement (a year) or a transfer's
    certificate, as a PDF to print: recorded with its verification code, nothing else kept.
    With the holder's card (optional) the print is a card use of its catalogue item."""
    refuse_agents(ctx, "凭证由社保经办机构打印。")
    visible_person(session, ctx, person_id)
    session.rollback()
    values = {"kind": kind, "year": year, "first_year": first_year, "card_number": card_number}
    try:
        try:
            chosen = DocumentKind(kind)
        except ValueError:
            raise InvalidField("kind", "kind", "请选择要打印的凭证。") from None
        last = first = None
        if chosen is not DocumentKind.TRANSFER_CERTIFICATE:
            last = to_year(year, "year", "截止年度" if first_year else "年度")
        if chosen is DocumentKind.CONTRIBUTION_CERTIFICATE:
            first = to_year(first_year, "first_year", "起始年度")
            if last is not None and first > last:
                raise InvalidField("first_year", "range", "起始年度不能晚于截止年度。")
        base_url = str(request.base_url)

        def issue_in(s: Session) -> IssuedDocument:
            moved = None
            if chosen is DocumentKind.TRANSFER_CERTIFICATE:
                moved = next(
                    (
                        t
                        for t in queries.list_transfers_of(s, person_id)
                        if t.transfer_no == transfer_no and t.direction is TransferDirection.OUT
                    ),
                    None,
                )
                if moved is None:
                    raise InvalidField("transfer_no", "known", "该参保人没有这笔关系转出。")
            return issue_pdf(
                platform,
                s,
                ctx,
                person_id=person_id,
                kind=chosen,
                channel="counter",
                base_url=base_url,
                year=last,
                first_year=first,
                transfer=moved,
            )

        if card_number.strip():
            # The holder is at the counter: printing is a card use of the item (27, 28 or 24).
            issued = with_holder_card(
                platform,
                ctx,
                person_id=person_id,
                card_number=card_number.strip(),
                item_no=ITEM_OF_DOCUMENT[chosen],
                effect=lambda s, _presented: issue_in(s),
            )
        else:
            with transaction(session):
                issued = issue_in(session)
        number = issued.document.document_no
    except PermissionDenied:
        raise
    except DomainError as error:
        return _refused(request, session, platform, ctx, person_id, f"doc-{kind}", error, values)
    return Response(
        issued.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{number}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# -- the employer page ----------------------------------------------------------------------------


def render_employer(
    request: Request,
    session: Session,
    platform: Platform,
    ctx: RequestContext,
    employer_id: int,
    *,
    state: FormState | None = None,
) -> Response:
    principal = ctx.require_principal()
    employer_in_scope(ctx, employer_id)
    found = get_employer(session, employer_id)
    county = regions.find_region(session, found.county_code or "")
    enrolled = queries.employer_employees(session, employer_id)
    persons = persons_by_id(session, {e.person_id for e in enrolled})
    employees = [
        EmployeeRow(
            enrolment=e,
            name=shown_name(persons.get(e.person_id), principal),
            resident_id_masked=persons[e.person_id].resident_id_masked
            if e.person_id in persons
            else "",
            status_label=ENROLMENT_STATUS_LABELS[e.status.value],
        )
        for e in enrolled
    ]
    listed = queries.list_declarations(session, employer_id=employer_id, limit=100)
    rows = [
        DeclarationRow(
            declaration=d,
            kind_label=DECLARATION_KIND_LABELS[d.kind.value],
            status_label=DECLARATION_STATUS_LABELS[d.status.value],
            span=span_of(d),
        )
        for d in listed
    ]
    unpaid = [d for d in listed if d.status is DeclarationStatus.DECLARED]
    at = platform.clock.now()
    state = state or FormState()
    shown = {"enrol", "declare"}
    shown |= {
        f"leave-{r.enrolment.person_id}"
        for r in employees
        if r.enrolment.status is EnrolmentStatus.ACTIVE
    }
    shown |= {f"{form}-{d.declaration_no}" for d in unpaid for form in ("pay", "cancel")}
    return render_page(
        request,
        "insurance/staff_employer.html",
        shown_forms=shown,
        employer=found,
        county_name=county.name if county is not None else "",
        is_agent=is_agent(ctx),
        headcount=queries.employer_headcount(session, employer_id),
        employees=employees,
        active=[r for r in employees if r.enrolment.status is EnrolmentStatus.ACTIVE],
        declarations=rows,
        unpaid_count=len(unpaid),
        unpaid_minor=sum(d.total_minor for d in unpaid),
        periods=[(p, period_label(p)) for p in declarable_periods(at)],
        today=local_today(platform.clock).isoformat(),
        fen_text=fen_text,
        state=state,
        notice=NOTICES.get(request.query_params.get("done", "")),
        status_code=state.errors.status_code if state.name else 200,
    )


@router.get("/insurance/employers/{employer_id}")
def employer_page(
    employer_id: int, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The employer's employees, forms and declarations, for the agency and the employer."""
    return render_employer(request, session, platform, ctx, employer_id)


def _employer_refused(
    request: Request,
    session: Session,
    platform: Platform,
    ctx: RequestContext,
    employer_id: int,
    name: str,
    error: DomainError,
    values: dict[str, str],
) -> Response:
    session.rollback()
    state = FormState(name, form_errors(error), values)
    return render_employer(request, session, platform, ctx, employer_id, state=state)


@router.post("/insurance/employers/{employer_id}/enrolments")
def enrol_employee(
    employer_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    resident_id: Annotated[str, Form(max_length=40)] = "",
    started_on: Annotated[str, Form()] = "",
    wage: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """增员: the employer enrols an employee in the five employee schemes by ID number."""
    employer_in_scope(ctx, employer_id)
    get_employer(session, employer_id)
    session.rollback()
    values = {"started_on": started_on, "wage": wage}  # the ID number is never shown again
    try:
        if not resident_id.strip():
            raise InvalidField("resident_id", "required", "请填写职工的社会保障号码。")
        number = ResidentId.parse(resident_id, today=local_today(platform.clock))
        start = to_date(started_on, "started_on", "参保日期")
        amount = to_fen(wage, "wage", "月缴费工资")
        with transaction(session):
            person = find_person_by_resident_id(session, platform.keys, number)
            if person is None:
                raise InvalidField(
                    "resident_id", "registered", "该人员不在户籍登记中，请先到窗口核实。"
                )
            enrol_for_employer(
                platform,
                session,
                ctx,
                person_id=person.id,
                employer_id=employer_id,
                started_on=start,
                wage_minor=amount,
                channel="web",
            )
    except PermissionDenied:
        raise
    except DomainError as error:
        return _employer_refused(
            request, session, platform, ctx, employer_id, "enrol", error, values
        )
    return see_other(f"/insurance/employers/{employer_id}?done=enrolled")


@router.post("/insurance/employers/{employer_id}/departures")
def departure(
    employer_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    person_id: Annotated[int, Form()] = 0,
    on: Annotated[str, Form()] = "",
) -> Response:
    """减员: the employee left; their enrolments through this employer are suspended."""
    employer_in_scope(ctx, employer_id)
    get_employer(session, employer_id)
    session.rollback()
    try:
        left_on = to_date(on, "on", "离职日期")
        with transaction(session):
            leave_employer(
                platform, session, ctx, person_id=person_id, employer_id=employer_id, on=left_on
            )
    except PermissionDenied:
        raise
    except DomainError as error:
        name = f"leave-{person_id}"
        return _employer_refused(
            request, session, platform, ctx, employer_id, name, error, {"on": on}
        )
    return see_other(f"/insurance/employers/{employer_id}?done=departed")


@router.post("/insurance/employers/{employer_id}/declarations")
def declare(
    employer_id: int,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    period: Annotated[str, Form()] = "",
    employee: Annotated[list[int] | None, Form()] = None,
    wage: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The month's declaration for every employee enrolled through the employer; a wage typed
    beside an employee replaces the one on record (from this month on)."""
    employer_in_scope(ctx, employer_id)
    get_employer(session, employer_id)
    session.rollback()
    people, typed = employee or [], wage or []
    values = {"period": period} | {
        f"wage-{pid}": text for pid, text in zip(people, typed, strict=False)
    }
    try:
        month = to_period(period, "period", "所属期")
        if len(people) != len(typed):
            raise InvalidField("wages", "rows", "工资表不完整，请刷新页面后重新填写。")
        changed: dict[int, int] = {}
        for pid, text in zip(people, typed, strict=True):
            if text.strip():
                changed[pid] = to_fen(text, "wages", "变动后的月工资")
        with transaction(session):
            declare_employer_month(
                platform,
                session,
                ctx,
                employer_id=employer_id,
                period=month,
                wages=changed,
                channel="web",
            )
    except PermissionDenied:
        raise
    except DomainError as error:
        return _employer_refused(
            request, session, platform, ctx, employer_id, "declare", error, values
        )
    return see_other(f"/insurance/employers/{employer_id}?done=declared")


def _declaration_page(declaration: Declaration, done: str) -> str:
    if declaration.employer_id is not None:
        return f"/insurance/employers/{declaration.employer_id}?done={done}"
    return f"/insurance/persons/{declaration.person_id}?done={done}"


def _declaration_refused(
    request: Request,
    session: Session,
    platform: Platform,
    ctx: RequestContext,
    declaration: Declaration,
    name: str,
    error: DomainError,
    values: dict[str, str],
) -> Response:
    if declaration.employer_id is not None:
        return _employer_refused(
            request, session, platform, ctx, declaration.employer_id, name, error, values
        )
    assert declaration.person_id is not None
    return _refused(request, session, platform, ctx, declaration.person_id, name, error, values)


@router.post("/insurance/declarations/{declaration_no}/payment")
def record_payment(
    declaration_no: str,
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    paid: Annotated[str, Form(max_length=20)] = "",
    bank_reference: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The employer's transfer is on the fund's bank statement: the declaration is paid in
    full, once; another amount is refused. The agency only."""
    refuse_agents(ctx, "到账由社保经办机构按银行对账确认。")
    found = visible_declaration(session, ctx, declaration_no)
    session.rollback()
    values = {"paid": paid, "bank_reference": bank_reference}
    try:
        amount = to_fen(paid, "paid", "到账金额")
        with transaction(session):
            record_employer_payment(
                platform,
                session,
                ctx,
                declaration_no,
                paid_minor=amount,
                bank_reference=bank_reference,
            )
    except PermissionDenied:
        raise
    except DomainError as error:
        name = f"pay-{declaration_no}"
        return _declaration_refused(request, session, platform, ctx, found, name, error, values)
    return see_other(_declaration_page(found, "paid"))


@router.post("/insurance/declarations/{declaration_no}/cancel")
def cancel(
    declaration_no: str, request: Request, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """Withdraw an unpaid declaration; its months stay on record as cancelled."""
    found = visible_declaration(session, ctx, declaration_no)
    session.rollback()
    try:
        with transaction(session):
            cancel_declaration(platform, session, ctx, declaration_no)
    except PermissionDenied:
        raise
    except DomainError as error:
        name = f"cancel-{declaration_no}"
        return _declaration_refused(request, session, platform, ctx, found, name, error, {})
    return see_other(_declaration_page(found, "cancelled"))


@router.get("/insurance/declarations/{declaration_no}/lines.csv")
def declaration_lines(
    declaration_no: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """The declaration's lines for the employer's payroll: ID numbers masked, names masked as
    the viewer's role masks them; the export is audited."""
    found = visible_declaration(session, ctx, declaration_no)
    text, lines = declaration_csv(session, found, ctx.require_principal())
    with transaction(session):
        audit_insurance(
            session,
            platform,
            ctx,
            "insurance.declaration_exported",
            "declaration",
            declaration_no,
            lines=lines,
        )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{found.declaration_no}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/insurance/transfers/{transfer_no}/data-file")
def transfer_data_file(
    transfer_no: str, ctx: Context, session: DbSession, platform: PlatformDep
) -> Response:
    """A relation transfer's data file again, to hand to the other region's office."""
    return transfer_file_response(platform, session, ctx, transfer_no)


# -- the employer's agent's own door --------------------------------------------------------------


@router.get("/employer")
def own_employer(ctx: Context) -> Response:
    """An employer's agent lands on its employer's page."""
    employer_id = ctx.require_principal().employer_id
    if employer_id is None:
        raise Conflict("您的账户尚未关联参保单位，请联系系统管理员。")
    return see_other(f"/insurance/employers/{employer_id}")
