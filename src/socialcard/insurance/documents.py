"""The documents printed from the insurance records — the contribution certificate (参保缴费凭证,
item 27), the personal rights statement (个人权益记录单, item 28) and the transfer certificate
(item 24) — each kept with what it said and a verification code anyone can check.

The figures are computed here from the contribution records and the ledger, stored with the
document (identity masked) and rendered by `socialcard.reports`; the public verification page
shows the stored figures, so a forged or altered paper does not match.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.errors import InvalidField
from socialcard.insurance.accounts import personal_account
from socialcard.insurance.declarations import SCHEME_BITS, current_period
from socialcard.insurance.errors import (
    ENROLMENT_STATUS_LABELS,
    KIND_LABELS,
    MONTH_SOURCE_LABELS,
    MONTH_STATUS_LABELS,
    DocumentNotFound,
)
from socialcard.insurance.models import (
    CITY_REGION,
    DocumentKind,
    InsuranceDocument,
    InsuranceTransfer,
    MonthStatus,
    PensionAccountYear,
)
from socialcard.insurance.pension_years import CREDIT_KINDS, year_bounds
from socialcard.insurance.queries import (
    COUNTED,
    contribution_months,
    list_enrolments,
    list_resident_contributions,
    summarise_by_year,
)
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SCHEMES, SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import sm3_hex
from socialcard.kernel.masking import mask_name
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger.models import TransferKind
from socialcard.registry.models import Person

CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH: Final = 12
PREFIX: Final = {
    DocumentKind.CONTRIBUTION_CERTIFICATE: "PZ",
    DocumentKind.RIGHTS_STATEMENT: "QY",
    DocumentKind.TRANSFER_CERTIFICATE: "ZM",
}
TITLES: Final = {
    DocumentKind.CONTRIBUTION_CERTIFICATE: "社会保险参保缴费凭证",
    DocumentKind.RIGHTS_STATEMENT: "社会保险个人权益记录单",
    DocumentKind.TRANSFER_CERTIFICATE: "基本养老保险参保缴费凭证（关系转移）",
}


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    code = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise InvalidField(
            "code", "verification_code", "验证码为 12 位字母和数字，如 ABCD-EFGH-JKLM。"
        )
    return code


def canonical(figures: dict[str, Any]) -> str:
    return json.dumps(figures, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def issue_document(
    session: Session,
    *,
    kind: DocumentKind,
    person_id: int,
    figures: dict[str, Any],
    channel: str,
    at: datetime,
) -> InsuranceDocument:
    """Record the document about to be printed, with a fresh verification code."""
    head = PREFIX[kind] + at.astimezone(SHANGHAI).strftime("%Y%m%d")
    last = session.scalar(
        select(func.max(InsuranceDocument.document_no)).where(
            InsuranceDocument.document_no.startswith(head)
        )
    )
    document = InsuranceDocument(
        document_no=f"{head}{(int(last[len(head) :]) + 1) if last else 1:06d}",
        kind=kind,
        person_id=person_id,
        verification_code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
        figures=figures,
        content_digest=sm3_hex(canonical(figures).encode("utf-8")),
        channel=channel,
        issued_at=at,
    )
    session.add(document)
    session.flush()
    return document


def find_document(session: Session, code_text: str) -> InsuranceDocument:
    code = normalise_code(code_text)
    found = session.scalars(
        select(InsuranceDocument).where(InsuranceDocument.verification_code == code)
    ).first()
    if found is None:
        raise DocumentNotFound()
    return found


def _identity(person: Person) -> dict[str, str]:
    return {"name": mask_name(person.name), "resident_id": person.resident_id_masked}


def _enrolment_lines(session: Session, person_id: int) -> list[dict[str, Any]]:
    return [
        {
            "scheme": SCHEMES[e.scheme].name,
            "kind": KIND_LABELS[e.kind.value],
            "status": ENROLMENT_STATUS_LABELS[e.status.value],
            "started_on": e.started_on.isoformat(),
            "ended_on": e.ended_on.isoformat() if e.ended_on else None,
            "employer": employer,
        }
        for e, employer in list_enrolments(session, person_id)
    ]


def certificate_figures(
    session: Session, person: Person, *, first_year: int, last_year: int, at: datetime
) -> dict[str, Any]:
    """参保缴费凭证: enrolments and every month of the years asked for, with totals."""
    if last_year < first_year or last_year - first_year > 30:
        raise InvalidField("first_year", "range", "起止年度有误（最多 30 个年度）。")
    months = [
        m
        for m in contribution_months(session, person.id, since_period=first_year * 100 + 1)
        if m.period // 100 <= last_year
    ]
    lines = [
        {
            "period": m.period,
            "base": m.base_minor,
            "pension": [m.pension_employer_minor, m.pension_individual_minor],
            "medical": [m.medical_employer_minor, m.medical_individual_minor],
            "unemployment": [m.unemployment_employer_minor, m.unemployment_individual_minor],
            "work_injury": m.work_injury_employer_minor,
            "maternity": m.maternity_employer_minor,
            "status": MONTH_STATUS_LABELS[m.status.value],
            "status_code": m.status.value,
            "source": MONTH_SOURCE_LABELS[m.source.value],
            "region": m.region_code,
        }
        for m in months
    ]
    counted = [m for m in months if m.status in COUNTED]
    resident = [
        {
            "scheme": SCHEMES[r.scheme].name,
            "year": r.year,
            "amount": r.amount_minor,
            "subsidy": r.subsidy_minor,
            "status": MONTH_STATUS_LABELS[r.status.value],
        }
        for r in list_resident_contributions(session, person.id)
        if first_year <= r.year <= last_year
    ]
    return {
        "title": TITLES[DocumentKind.CONTRIBUTION_CERTIFICATE],
        "person": _identity(person),
        "first_year": first_year,
        "last_year": last_year,
        "enrolments": _enrolment_lines(session, person.id),
        "months": lines,
        "months_counted": {
            s.value: sum(1 for m in counted if m.schemes_mask & SCHEME_BITS[s])
            for s in EMPLOYEE_SCHEMES
        },
        "individual_total": sum(
            m.pension_individual_minor
            + m.medical_individual_minor
            + m.unemployment_individual_minor
            for m in counted
        ),
        "employer_total": sum(
            m.pension_employer_minor
            + m.medical_employer_minor
            + m.unemployment_employer_minor
            + m.work_injury_employer_minor
            + m.maternity_employer_minor
            for m in counted
        ),
        "due_months": sum(1 for m in months if m.status is MonthStatus.DUE),
        "resident": resident,
        "as_of": at.astimezone(SHANGHAI).date().isoformat(),
    }


def _pension_account(
    session: Session, person_id: int, scheme: SchemeCode, year: int
) -> dict[str, Any] | None:
    """The pension account's year: its settlement row when the year is settled, else the year so
    far from the ledger (opening = last closing; credits posted this year; the balance now)."""
    code = personal_account(person_id, scheme)
    balance = ledger_queries.stored_balance(session, code) if code else None
    if code is None or balance is None:
        return None
    settled = session.get(PensionAccountYear, (person_id, scheme, year))
    if settled is not None:
        return {
            "scheme": SCHEMES[scheme].name,
            "year": year,
            "settled": True,
            "opening": settled.opening_minor,
            "credited": settled.credited_minor,
            "interest": settled.interest_minor,
            "transferred": settled.transferred_minor,
            "closing": settled.closing_minor,
            "rate_bp": settled.rate_bp,
            "balance_now": balance.posted,
        }
    previous = session.get(PensionAccountYear, (person_id, scheme, year - 1))
    account_id = ledger_queries.get_account(session, code).id
    start, end = year_bounds(year)
    moves = ledger_queries.posted_by_kind(session, [account_id], start=start, end=end)[account_id]
    return {
        "scheme": SCHEMES[scheme].name,
        "year": year,
        "settled": False,
        "opening": previous.closing_minor if previous else 0,
        "credited": sum(v for k, v in moves.items() if k in CREDIT_KINDS),
        "interest": 0,
        "transferred": moves.get(TransferKind.RELATION_TRANSFERRED.value, 0),
        "closing": None,
        "rate_bp": None,
        "balance_now": balance.posted,
    }


def rights_statement_figures(
    session: Session, person: Person, *, year: int, at: datetime
) -> dict[str, Any]:
    """个人权益记录单 of a year: months counted (that year and in all, here and elsewhere), the
    year's bases and contributions, the pension account's year, the medical account."""
    if not 1990 <= year <= current_period(at) // 100:
        raise InvalidField("year", "past_or_current", "年度应为本年度或以前年度。")
    months = [m for m in contribution_months(session, person.id) if m.period // 100 <= year]
    summary = next((s for s in summarise_by_year(months) if s.year == year), None)
    counted = [m for m in months if m.status in COUNTED]
    schemes = {}
    for scheme in EMPLOYEE_SCHEMES:
        bit = SCHEME_BITS[scheme]
        mine = [m for m in counted if m.schemes_mask & bit]
        schemes[scheme.value] = {
            "name": SCHEMES[scheme].name,
            "months_total": len(mine),
            "months_elsewhere": sum(1 for m in mine if m.region_code != CITY_REGION),
            "months_year": sum(1 for m in mine if m.period // 100 == year),
        }
    medical_code = personal_account(person.id, SchemeCode.MEDICAL_EMPLOYEE)
    medical_balance = ledger_queries.stored_balance(session, medical_code) if medical_code else None
    medical: dict[str, Any] | None = None
    if medical_balance is not None and medical_code is not None:
        account_id = ledger_queries.get_account(session, medical_code).id
        start, end = year_bounds(year)
        moves = ledger_queries.posted_by_kind(session, [account_id], start=start, end=end)
        moved = moves[account_id]
        carried = (TransferKind.BALANCE_MIGRATED.value, TransferKind.RELATION_TRANSFERRED.value)
        medical = {
            "credited_year": sum(v for k, v in moved.items() if k in CREDIT_KINDS),
            "carried_year": sum(v for k, v in moved.items() if k in carried),
            "spent_year": -sum(
                v for k, v in moved.items() if k not in CREDIT_KINDS and k not in carried
            ),
            "balance_now": medical_balance.posted,
        }
    transfers = session.scalars(
        select(InsuranceTransfer)
        .where(InsuranceTransfer.person_id == person.id)
        .order_by(InsuranceTransfer.id)
    ).all()
    return {
        "title": TITLES[DocumentKind.RIGHTS_STATEMENT],
        "person": _identity(person),
        "year": year,
        "enrolments": _enrolment_lines(session, person.id),
        "schemes": schemes,
        "year_base_average": summary.average_base_minor if summary else 0,
        "year_individual": summary.individual_minor if summary else 0,
        "year_employer": summary.employer_minor if summary else 0,
        "year_due_months": summary.due_months if summary else 0,
        "pension_accounts": [
            p
            for p in (
                _pension_account(session, person.id, s, year)
                for s in (SchemeCode.PENSION_EMPLOYEE, SchemeCode.PENSION_RESIDENT)
            )
            if p is not None
        ],
        "medical_account": medical,
        "resident": [
            {
                "scheme": SCHEMES[r.scheme].name,
                "year": r.year,
                "amount": r.amount_minor,
                "subsidy": r.subsidy_minor,
                "status": MONTH_STATUS_LABELS[r.status.value],
            }
            for r in list_resident_contributions(session, person.id)
            if r.year == year
        ],
        "transfers": [
            {
                "no": t.transfer_no,
                "direction": t.direction.value,
                "region": t.region_name,
                "months": t.months,
                "on": t.created_at.astimezone(SHANGHAI).date().isoformat(),
            }
            for t in transfers
        ],
        "as_of": at.astimezone(SHANGHAI).date().isoformat(),
    }


def transfer_certificate_figures(
    session: Session, person: Person, transfer: InsuranceTransfer
) -> dict[str, Any]:
    """The transfer certificate (参保缴费凭证, 关系转移): what moved, year by year."""
    months = [
        m
        for m in contribution_months(session, person.id)
        if transfer.first_period is not None
        and transfer.last_period is not None
        and transfer.first_period <= m.period <= transfer.last_period
        and m.status in (MonthStatus.TRANSFERRED_OUT, MonthStatus.PAID)
    ]
    years = [
        {
            "year": s.year,
            "months": s.months,
            "average_base": s.average_base_minor,
            "individual": s.individual_minor,
            "employer": s.employer_minor,
            "elsewhere_months": s.elsewhere_months,
        }
        for s in summarise_by_year(months)
    ]
    return {
        "title": TITLES[DocumentKind.TRANSFER_CERTIFICATE],
        "person": _identity(person),
        "transfer_no": transfer.transfer_no,
        "direction": transfer.direction.value,
        "region_code": transfer.region_code,
        "region_name": transfer.region_name,
        "schemes": [SCHEMES[SchemeCode(s)].name for s in transfer.schemes],
        "first_period": transfer.first_period,
        "last_period": transfer.last_period,
        "months": transfer.months,
        "pension_account": transfer.pension_account_minor,
        "medical_account": transfer.medical_account_minor,
        "years": years,
        "as_of": transfer.created_at.astimezone(SHANGHAI).date().isoformat(),
    }
