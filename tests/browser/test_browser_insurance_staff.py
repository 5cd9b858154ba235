"""The social-insurance staff pages in a real headless Chromium, on SQLite and PostgreSQL: the
officer opens the console, an employer's page, declares November with a raised wage, records the
employer's transfer from the bank statement and opens an employee's record: years of months
(migrated, transferred in from Shenzhen, one in arrears), a chart per year and the accounts.
Screenshots in test-artifacts/screenshots/; the SQLite run also refreshes
docs/images/insurance-employer.png and docs/images/insurance-person.png."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from socialcard.bootstrap import Platform
from socialcard.catalog.models import OpeningStatus
from socialcard.db import transaction
from socialcard.insurance import declarations, queries
from socialcard.insurance.catalogue import CATALOG_BINDINGS
from socialcard.insurance.declarations import Insured, month_row, rules_of
from socialcard.insurance.history import (
    MigratedEnrolment,
    migrate_enrolments,
    migrate_months,
    settle_migrated_accounts,
)
from socialcard.insurance.models import EnrolmentKind, MonthSource
from socialcard.insurance.rules import periods_between
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES
from socialcard.insurance.transfers import FILE_FORMAT, MONTH_FIELDS, transfer_in
from socialcard.kernel.crypto import sm3_hex
from tests.browser.test_browser_flows import SCREENSHOTS, base_url, browser, log_in, page
from tests.insurance_support import employer, enrol_employee
from tests.money_support import Holder, cardholders
from tests.support import change_opening, make_staff

__all__ = ["base_url", "browser", "page"]

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DOCS_BYTES_MAX = 300 * 1024


def _migrated_history(platform: Platform, holder: Holder, firm: int) -> None:
    """2023-01 to 2026-09 paid through the firm, as the legacy system recorded them."""
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        migrate_enrolments(
            session,
            [
                MigratedEnrolment(
                    holder.person_id, s, EnrolmentKind.EMPLOYEE, firm, date(2023, 1, 1), 620_000
                )
                for s in EMPLOYEE_SCHEMES
            ],
            channel="migration",
            at=at,
        )
        rows = []
        for period in periods_between(202301, 202609):
            wage = 520_000 + (period // 100 - 2023) * 50_000
            insured = Insured(
                holder.person_id, firm, EnrolmentKind.EMPLOYEE, wage, frozenset(EMPLOYEE_SCHEMES)
            )
            row = month_row(insured, period, rules_of(session, period), source=MonthSource.MIGRATED)
            row["paid_on"] = date(period // 100, period % 100, 15)
            rows.append(row)
        migrate_months(session, rows)
        settle_migrated_accounts(session, at=at)


def _months_from_shenzhen(platform: Platform, holder: Holder) -> None:
    """2021-03 to 2022-12 paid in Shenzhen, brought in by a relation transfer."""
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        rules = rules_of(session, 202106)
        insured = Insured(
            holder.person_id, None, EnrolmentKind.EMPLOYEE, 800_000, frozenset(EMPLOYEE_SCHEMES)
        )
        months = []
        for period in periods_between(202103, 202212):
            row = month_row(insured, period, rules, source=MonthSource.TRANSFERRED_IN)
            months.append(
                {"period": period, "region_code": "440300", "kind": "employee",
                 "schemes_mask": row["schemes_mask"], **{f: row[f] for f in MONTH_FIELDS}}
            )  # fmt: skip
        body = {
            "format": FILE_FORMAT,
            "transfer_no": "SZ2023010500012",
            "from_region": "440300",
            "from_region_name": "广东省深圳市",
            "to_region": "431100",
            "person": {"resident_id": holder.resident_id, "name": holder.name},
            "schemes": ["medical_employee", "pension_employee"],
            "pension_account_minor": 1_536_000,
            "medical_account_minor": 210_000,
            "pooled_minor": 2_208_000,
            "months": months,
        }
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        data = json.dumps({"digest": sm3_hex(text.encode()), "body": body}, ensure_ascii=False)
        transfer_in(
            session, platform.keys, person_id=holder.person_id, data=data.encode(), card_id=None,
            channel="counter", created_by=None, at=at,
        )  # fmt: skip


def _bottom_of(page: Page, selector: str) -> float:
    """Where an element ends on the full page, in CSS pixels."""
    bottom = page.evaluate(
        "(selector) => document.querySelector(selector).getBoundingClientRect().bottom"
        " + window.scrollY",
        selector,
    )
    return float(bottom)


def _for_docs(shot: Path, name: str, *, height: float | None = None) -> None:
    """A copy for the documentation (the page's top `height` pixels), as a palette PNG under
    300 KB."""
    image = Image.open(shot).convert("RGB")
    if height is not None:
        image = image.crop((0, 0, image.width, min(image.height, round(height))))
    target = DOCS_IMAGES / name
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    assert target.stat().st_size <= DOCS_BYTES_MAX, (target, target.stat().st_size)


def test_the_officer_declares_records_the_transfer_and_reads_a_record(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    for binding in CATALOG_BINDINGS:
        change_opening(platform, binding.item_no, "431100", OpeningStatus.OPENED, date(2026, 1, 1))
    firm = employer(platform)
    staff = cardholders(platform, 6, start=20)
    worker, others = staff[0], staff[1:]
    _migrated_history(platform, worker, firm)
    _months_from_shenzhen(platform, worker)
    for n, holder in enumerate(others):
        enrol_employee(
            platform, holder.person_id, firm, wage=480_000 + 35_000 * n,
            started_on=date(2026, 3 + n, 1),
        )  # fmt: skip
    with platform.session() as session, transaction(session):
        declarations.declare_employer_month(  # October is declared and still unpaid: arrears
            session, employer_id=firm, period=202610, channel="web", declared_by=None,
            at=platform.clock.now(),
        )  # fmt: skip
    officer = make_staff(platform, "shebao", roles=("insurance_officer",))
    backend = platform.engine.dialect.name

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/insurance")
    log_in(page, platform, officer)
    expect(page.get_by_role("heading", name="社会保险", exact=True)).to_be_visible()
    expect(page.locator(".flash-warning")).to_contain_text("示例参数")
    expect(page.locator("svg.column-chart rect.col-paid").first).to_be_visible()
    page.screenshot(
        path=str(SCREENSHOTS / f"{request.node.originalname}-console-{backend}.png"),
        full_page=True,
    )

    page.click("a:has-text('永州潇湘电子科技有限公司')")
    expect(page.get_by_role("heading", name="永州潇湘电子科技有限公司")).to_be_visible()
    page.select_option("#declare-period", "202611")
    page.get_by_label(f"{worker.name} 变动后的月工资").fill("7200.00")
    page.click("button:has-text('申报')")
    expect(page.locator(".flash-ok")).to_contain_text("已申报")
    with platform.session() as session:
        november = next(
            d for d in queries.list_declarations(session, employer_id=firm)
            if d.first_period == 202611
        )  # fmt: skip
    number, total = november.declaration_no, november.total_minor
    page.get_by_label(f"{number} 到账金额（元）").fill(f"{total // 100}.{total % 100:02d}")
    page.get_by_label(f"{number} 银行流水号").fill("ICBC20261129-0042")
    page.click(f"form[action='/insurance/declarations/{number}/payment'] button")
    expect(page.locator(".flash-ok")).to_contain_text("已确认到账")
    expect(page.locator("table.data-table").last).to_contain_text("已缴费")
    expect(page.locator("table.data-table").last).to_contain_text("已申报，待缴费")  # October
    employer_shot = SCREENSHOTS / f"{request.node.originalname}-employer-{backend}.png"
    page.screenshot(path=str(employer_shot), full_page=True)
    employer_bottom = _bottom_of(page, "main")

    page.click(f"a:has-text('{worker.name}')")
    expect(page.get_by_role("heading", name="近十年缴费记录")).to_be_visible()
    expect(page.locator("#year-2026 rect.col-due")).to_have_count(1)  # October in arrears
    expect(page.locator("#year-2022 rect.col-elsewhere")).to_have_count(12)
    expect(page.locator("#year-2021")).to_contain_text("广东省深圳市（440300）")
    expect(page.locator("main")).to_contain_text("¥7,200.00")  # November's base
    expect(page.locator("main")).to_contain_text("缴费划入")
    person_shot = SCREENSHOTS / f"{request.node.originalname}-person-{backend}.png"
    page.screenshot(path=str(person_shot), full_page=True)
    if backend == "sqlite":
        # Both cut above the footer (its request id changes every run), so a run with nothing
        # new leaves the images as they were.
        _for_docs(employer_shot, "insurance-employer.png", height=employer_bottom)
        # The person's page down to the year paid in Shenzhen (the forms are below).
        _for_docs(person_shot, "insurance-person.png", height=_bottom_of(page, "#year-2022") + 24)
