"""The three insurance documents rendered as PDFs from records built through the insurance
services (migrated history, declarations, a relation transfer, resident contributions), on SQLite
and PostgreSQL, and read back with poppler's pdftotext and pdffonts.

Without poppler-utils the tests skip with the reason; under CI (which installs it) they fail."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.insurance import declarations as decl
from socialcard.insurance.declarations import Insured, month_row, rules_of
from socialcard.insurance.documents import (
    certificate_figures,
    format_code,
    issue_document,
    rights_statement_figures,
    transfer_certificate_figures,
)
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.history import (
    MigratedEnrolment,
    migrate_enrolments,
    migrate_months,
    settle_migrated_accounts,
)
from socialcard.insurance.models import (
    DocumentKind,
    EnrolmentKind,
    InsuranceDocument,
    MonthSource,
    PensionAccountYear,
)
from socialcard.insurance.resident import order_resident_contribution, settle_resident_contribution
from socialcard.insurance.rules import periods_between
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SchemeCode
from socialcard.insurance.transfers import transfer_out
from socialcard.kernel.money import Money
from socialcard.ledger import accounts as codes
from socialcard.ledger import services as ledger
from socialcard.ledger.models import NormalSide
from socialcard.registry.queries import get_person
from socialcard.reports.insurance_documents import render_insurance_document
from tests.insurance_support import employer, person

VERIFY_URL = "https://si.yongzhou.example/verify"
COUNTER_INCOME = codes.department_income("hrss", "I030")


@dataclass(frozen=True, slots=True)
class Printed:
    text: str
    fonts: str
    pages: int


@pytest.fixture(scope="module")
def poppler() -> None:
    missing = [tool for tool in ("pdftotext", "pdffonts") if shutil.which(tool) is None]
    if missing:
        message = f"poppler-utils not installed ({', '.join(missing)} missing)"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: the PDF checks must run)")
        pytest.skip(message)


def _print(pdf: bytes, path: Path) -> Printed:
    assert pdf.startswith(b"%PDF")
    path.write_bytes(pdf)

    def run(*command: str) -> str:
        return subprocess.run(command, capture_output=True, check=True).stdout.decode()

    return Printed(
        text=run("pdftotext", str(path), "-"),
        fonts=run("pdffonts", str(path)),
        pages=len(PdfReader(path).pages),
    )


def _yuan(minor: int) -> str:
    return Money(minor).format_yuan().removeprefix("¥")


def _migrate(platform: Platform, pid: int, firm: int, first: int, last: int) -> None:
    """The legacy system's months of an employee in every employee scheme, on a 5,000.00 wage."""
    at = platform.clock.now()
    wage = 500_000
    with platform.session() as session, transaction(session):
        migrate_enrolments(
            session,
            [
                MigratedEnrolment(
                    pid, s, EnrolmentKind.EMPLOYEE, firm, date(first // 100, first % 100, 1), wage
                )
                for s in EMPLOYEE_SCHEMES
            ],
            channel="migration",
            at=at,
        )
        insured = Insured(pid, firm, EnrolmentKind.EMPLOYEE, wage, frozenset(EMPLOYEE_SCHEMES))
        rows = []
        for period in periods_between(first, last):
            row = month_row(insured, period, rules_of(session, period), source=MonthSource.MIGRATED)
            row["paid_on"] = date(period // 100, period % 100, 15)
            rows.append(row)
        migrate_months(session, rows)
        settle_migrated_accounts(session, at=at)


def _issue(
    platform: Platform, kind: DocumentKind, pid: int, figures: dict[str, Any]
) -> InsuranceDocument:
    """Issue the document, and read it back as the verification page or a reprint would."""
    with platform.session() as session, transaction(session):
        document_id = issue_document(
            session, kind=kind, person_id=pid, figures=figures, channel="kiosk",
            at=platform.clock.now(),
        ).id  # fmt: skip
    with platform.session() as session:
        document = session.get_one(InsuranceDocument, document_id)
        session.expunge(document)
    return document


def _render(document: InsuranceDocument, holder_name: str, folder: Path) -> Printed:
    pdf = render_insurance_document(document, holder_name=holder_name, verify_url=VERIFY_URL)
    return _print(pdf, folder / f"{document.document_no}.pdf")


def _assert_paper(printed: Printed, document: InsuranceDocument, holder_name: str) -> None:
    """What every page of every document carries, and the font embedded."""
    assert format_code(document.verification_code) in printed.text
    assert VERIFY_URL in printed.text
    assert "永州市社会保险经办机构" in printed.text
    assert document.document_no in printed.text
    assert holder_name in printed.text
    for page in range(1, printed.pages + 1):
        assert f"第{page}页/共{printed.pages}页" in printed.text  # pdftotext drops the spaces
    # pdffonts: a header of two lines, then name, type…, emb, sub, uni, object, generation.
    fonts = [line.split() for line in printed.fonts.splitlines()[2:]]
    assert [f[0].partition("+")[2] for f in fonts] == ["WenQuanYiMicroHei"], printed.fonts
    assert fonts[0][-5] == "yes", printed.fonts


def test_ten_years_of_months_run_over_several_pages_of_the_certificate(
    platform: Platform, poppler: None, tmp_path: Path
) -> None:
    firm = employer(platform)
    pid = person(platform, 21, name="王珺堃")
    _migrate(platform, pid, firm, 201611, 202610)
    with platform.session() as session, transaction(session):
        decl.declare_employer_month(
            session, employer_id=firm, period=202611, channel="web", declared_by=None,
            at=platform.clock.now(),
        )  # fmt: skip
        figures = certificate_figures(
            session, get_person(session, pid), first_year=2016, last_year=2026,
            at=platform.clock.now(),
        )  # fmt: skip
    assert len(figures["months"]) == 121
    document = _issue(platform, DocumentKind.CONTRIBUTION_CERTIFICATE, pid, figures)

    # A name with two characters GB2312 lacks (珺, 堃): printed, not boxes.
    printed = _render(document, "王珺堃", tmp_path)

    _assert_paper(printed, document, "王珺堃")
    assert printed.pages > 1
    assert "社会保险参保缴费凭证" in printed.text
    assert figures["person"]["resident_id"] in printed.text
    assert "2016年11月" in printed.text
    assert "2026年10月" in printed.text
    assert "欠费" in printed.text  # 2026-11 is declared, not paid
    assert "120 个月" in printed.text
    assert _yuan(figures["individual_total"]) in printed.text
    assert _yuan(figures["employer_total"]) in printed.text
    assert "永州潇湘电子科技有限公司" in printed.text
    # The month table's header is repeated on every page it runs over.
    assert printed.text.count("所属期") == printed.pages


def test_rights_statement_prints_the_settled_year_and_the_year_so_far(
    platform: Platform, poppler: None, tmp_path: Path
) -> None:
    firm = employer(platform)
    pid = person(platform, 22, name="王芳")
    _migrate(platform, pid, firm, 202301, 202608)
    at = platform.clock.now()
    with platform.session() as session:
        settled = session.get_one(PensionAccountYear, (pid, SchemeCode.PENSION_EMPLOYEE, 2025))
        statement_2025 = rights_statement_figures(
            session, get_person(session, pid), year=2025, at=at
        )
        statement_2026 = rights_statement_figures(
            session, get_person(session, pid), year=2026, at=at
        )
    past = _issue(platform, DocumentKind.RIGHTS_STATEMENT, pid, statement_2025)
    current = _issue(platform, DocumentKind.RIGHTS_STATEMENT, pid, statement_2026)

    printed = _render(past, "王芳", tmp_path)

    _assert_paper(printed, past, "王芳")
    assert "社会保险个人权益记录单" in printed.text
    assert "2025年" in printed.text
    assert _yuan(settled.closing_minor) in printed.text
    assert _yuan(settled.opening_minor) in printed.text
    assert _yuan(settled.interest_minor) in printed.text
    rate = settled.rate_bp
    assert f"{rate // 100}.{rate % 100:02d}%" in printed.text
    assert "36 个月" in printed.text  # 2023–2025 in the pension scheme
    months = printed.text[printed.text.index("缴费月数（截至") :]
    assert months.index("企业职工基本养老保险") < months.index("生育保险")  # not JSONB's order
    assert "本年度尚未结息" not in printed.text

    printed = _render(current, "王芳", tmp_path)

    _assert_paper(printed, current, "王芳")
    assert "本年度尚未结息" in printed.text
    pension = statement_2026["pension_accounts"][0]
    assert _yuan(pension["balance_now"]) in printed.text
    assert _yuan(settled.closing_minor) in printed.text  # this year's opening
    assert _yuan(statement_2026["medical_account"]["balance_now"]) in printed.text
    assert "44 个月" in printed.text


def test_transfer_certificate_names_both_regions_and_the_accounts_moved(
    platform: Platform, poppler: None, tmp_path: Path
) -> None:
    firm = employer(platform)
    pid = person(platform, 23, name="赵强")
    _migrate(platform, pid, firm, 202401, 202610)
    with platform.session() as session, transaction(session):
        moved = transfer_out(
            session, platform.keys, person_id=pid, region_code="440300",
            region_name="广东省深圳市", card_id=None, channel="counter", created_by=None,
            at=platform.clock.now(),
        ).transfer  # fmt: skip
        figures = transfer_certificate_figures(session, get_person(session, pid), moved)
        pension, medical = moved.pension_account_minor, moved.medical_account_minor
    document = _issue(platform, DocumentKind.TRANSFER_CERTIFICATE, pid, figures)

    printed = _render(document, "赵强", tmp_path)

    _assert_paper(printed, document, "赵强")
    assert "基本养老保险参保缴费凭证（关系转移）" in printed.text
    assert "永州市（431100）" in printed.text
    assert "广东省深圳市（440300）" in printed.text
    assert "2024年01月 至 2026年10月" in printed.text
    assert "34 个月" in printed.text
    assert pension > 0
    assert medical > 0
    assert _yuan(pension) in printed.text
    assert _yuan(medical) in printed.text
    assert figures["transfer_no"] in printed.text

    with platform.session() as session:
        statement = rights_statement_figures(
            session, get_person(session, pid), year=2026, at=platform.clock.now()
        )
    document = _issue(platform, DocumentKind.RIGHTS_STATEMENT, pid, statement)
    printed = _render(document, "赵强", tmp_path)

    assert figures["transfer_no"] in printed.text
    assert "广东省深圳市" in printed.text
    assert "转出" in printed.text


def test_resident_contributions_appear_on_the_certificate_and_the_statement(
    platform: Platform, poppler: None, tmp_path: Path
) -> None:
    pid = person(platform, 24, name="陈秀兰", birth="19600505")
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        ledger.open_account(
            session, COUNTER_INCOME, name="个人缴费", normal_side=NormalSide.CREDIT, at=at
        )
        enrol(
            session,
            EnrolRequest(pid, EnrolmentKind.RESIDENT, date(2026, 1, 1), "kiosk", wage_minor=50_000),
            at=at,
        )
        contribution = order_resident_contribution(
            session, person_id=pid, payer_person_id=pid, scheme=SchemeCode.PENSION_RESIDENT,
            year=2026, amount_minor=None, at=at,
        )  # fmt: skip
        settle_resident_contribution(
            session, contribution.id, source_account=COUNTER_INCOME, paid_minor=50_000, at=at
        )
    with platform.session() as session:
        holder = get_person(session, pid)
        certificate = certificate_figures(session, holder, first_year=2026, last_year=2026, at=at)
        statement = rights_statement_figures(session, holder, year=2026, at=at)
    assert certificate["months"] == []

    printed = _render(
        _issue(platform, DocumentKind.CONTRIBUTION_CERTIFICATE, pid, certificate),
        "陈秀兰",
        tmp_path,
    )

    assert "城乡居民基本养老保险" in printed.text
    assert "查询期间无职工社会保险缴费记录" in printed.text
    assert "500.00" in printed.text
    assert "60.00" in printed.text  # the government's subsidy for the 500 grade

    document = _issue(platform, DocumentKind.RIGHTS_STATEMENT, pid, statement)
    printed = _render(document, "陈秀兰", tmp_path)

    _assert_paper(printed, document, "陈秀兰")
    assert "本年度尚未结息" in printed.text
    assert "560.00" in printed.text  # the pension account: 500.00 paid + 60.00 subsidy
    assert "未建立职工基本医疗保险个人账户" in printed.text
