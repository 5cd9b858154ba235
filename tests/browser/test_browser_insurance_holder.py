"""我的社保 in a real headless Chromium: a resident with eight years of migrated employee history
(one of them paid in Shenzhen) inserts the card at the kiosk, opens 我的社保, pays this year's
resident pension with the PIN, and prints the rights statement; then signs in on the portal and
opens a year's months. Screenshots in test-artifacts/screenshots/ (the kiosk's and the portal's
overview are the ones docs/images/insurance-kiosk.png and insurance-portal.png are taken from)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.catalog.models import OpeningStatus
from socialcard.db import transaction
from socialcard.insurance.catalogue import CATALOG_BINDINGS
from socialcard.insurance.declarations import Insured, month_row, rules_of
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.history import (
    MigratedEnrolment,
    migrate_enrolments,
    migrate_months,
    settle_migrated_accounts,
)
from socialcard.insurance.models import EnrolmentKind, EnrolmentStatus, MonthSource
from socialcard.insurance.rules import periods_between
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES
from tests.browser.test_browser_flows import SCREENSHOTS, base_url, browser, page
from tests.insurance_support import employer
from tests.money_support import Holder, cardholders
from tests.support import change_opening

__all__ = ["base_url", "browser", "page"]

PIN = "246810"
KIOSK_SCREEN: ViewportSize = {"width": 1280, "height": 1024}


def _resident(platform: Platform, tmp_path: Path) -> Holder:
    """A strict sandbox bank, items 22–30 opened; a holder with employee years 2017–2024 (2019
    in Shenzhen, transferred in), now enrolled in the resident schemes."""
    bank = SandboxBank(tmp_path / "bank.sqlite3", strict=True)
    platform.bank = bank
    for binding in CATALOG_BINDINGS:
        change_opening(platform, binding.item_no, "431100", OpeningStatus.OPENED, date(2026, 1, 1))
    holder = cardholders(platform, 1, start=3)[0]
    bank.open_account(
        holder.bank_code, holder.account, holder.name, holder.resident_id, activated=True
    )
    bank.deposit(holder.bank_code, holder.account, 500_000)
    firm, at = employer(platform), platform.clock.now()
    with platform.session() as session, transaction(session):
        migrate_enrolments(
            session,
            [
                MigratedEnrolment(
                    holder.person_id, s, EnrolmentKind.EMPLOYEE, firm, date(2017, 1, 1), 520_000,
                    status=EnrolmentStatus.TERMINATED, ended_on=date(2024, 12, 31),
                    end_reason="离职",
                )
                for s in EMPLOYEE_SCHEMES
            ],
            channel="migration",
            at=at,
        )  # fmt: skip
        rows = []
        for period in periods_between(201701, 202412):
            wage = 380_000 + (period // 100 - 2017) * 40_000
            insured = Insured(
                holder.person_id, firm, EnrolmentKind.EMPLOYEE, wage, frozenset(EMPLOYEE_SCHEMES)
            )
            row = month_row(insured, period, rules_of(session, period), source=MonthSource.MIGRATED)
            row["paid_on"] = date(period // 100, period % 100, 15)
            if period // 100 == 2019:
                row["region_code"] = "440305"
            rows.append(row)
        migrate_months(session, rows)
        settle_migrated_accounts(session, at=at)
        enrol(
            session,
            EnrolRequest(
                person_id=holder.person_id, kind=EnrolmentKind.RESIDENT,
                started_on=date(2026, 1, 1), channel="counter", wage_minor=50_000,
            ),
            at=at,
        )  # fmt: skip
    return holder


def _shot(
    page: Page, name: str, platform: Platform, *, full_page: bool = True, clip_height: int = 0
) -> None:
    """A screenshot: the whole page, the window, or the page's top `clip_height` pixels."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"insurance-{name}-{platform.engine.dialect.name}.png"
    if clip_height:
        width = page.viewport_size["width"] if page.viewport_size else 1280
        clip = {"x": 0, "y": 0, "width": width, "height": clip_height}
        page.screenshot(path=str(path), full_page=True, clip=clip)  # type: ignore[arg-type]
    else:
        page.screenshot(path=str(path), full_page=full_page)


def test_the_kiosk_shows_my_insurance_takes_the_pin_and_prints(
    platform: Platform, page: Page, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    holder = _resident(platform, tmp_path)
    page.set_viewport_size(KIOSK_SCREEN)
    page.goto("/kiosk")
    page.fill("#card_number", holder.card_number)
    page.fill("#pin", PIN)
    page.click("button:has-text('确认')")
    page.click("a.kiosk-button:has-text('我的社保')")

    expect(page.get_by_role("heading", name="我的社保", exact=True)).to_be_visible()
    chart = page.locator("svg.ins-chart-wide")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 1000  # type: ignore[index]  # full kiosk width
    expect(chart).to_contain_text("2026年")
    expect(chart).to_contain_text("12 个月 · ¥")
    expect(page.locator(".month-elsewhere").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("城乡居民基本养老保险个人账户")
    _shot(page, "kiosk", platform, full_page=False)
    _shot(page, "kiosk-full", platform)

    # Pay this year's resident pension with the PIN.
    page.click("nav.ins-tabs a:has-text('缴费')")
    option = page.locator("article.pay-option", has_text="2026年度 城乡居民基本养老保险")
    option.locator("select[name=grade]").select_option("80000")
    option.locator("input[name=pin]").fill(PIN)
    _shot(page, "kiosk-pay", platform)
    option.locator("button:has-text('缴费')").click()
    expect(page.locator(".verdict-ok")).to_contain_text("缴费成功")
    expect(page.locator("main")).to_contain_text("¥800.00")
    _shot(page, "kiosk-paid", platform)

    # Print the rights statement: the printing page shows the code and frames the PDF.
    page.click("a:has-text('查看我的社保')")
    page.click("nav.ins-tabs a:has-text('打印凭证')")
    page.click("button:has-text('打印个人权益记录单')")
    expect(page.get_by_role("heading", name="正在打印")).to_be_visible()
    code = page.locator(".ins-code").inner_text()
    assert len(code) == 14
    expect(page.locator("#print-frame")).to_be_visible()
    page.wait_for_timeout(1500)  # the frame's PDF viewer draws the first page
    _shot(page, "kiosk-printing", platform, full_page=False)
    page.click("button:has-text('退卡')")
    expect(page.get_by_role("heading", name="请插入社会保障卡")).to_be_visible()

    # The portal: the same records, a year opened; the verification page finds the paper.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/portal")
    page.fill("#resident_id", holder.resident_id)
    page.fill("#card_number", holder.card_number)
    page.fill("#pin", PIN)
    page.click("button:has-text('登录')")
    page.click("a:has-text('我的社保')")
    for year in ("2024年", "2019年"):
        page.locator("details.year-details", has_text=year).locator("summary").click()
    expect(page.locator("details[open]", has_text="2019年")).to_contain_text("广东省（440305）")
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "portal", platform, clip_height=1500)
    _shot(page, "portal-full", platform)
    page.goto(f"/verify/{code}")
    expect(page.locator(".verdict-ok")).to_contain_text("查有此凭证")
    expect(page.locator("main")).to_contain_text("社会保险个人权益记录单")
    _shot(page, "verify", platform)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto("/portal/insurance")
    expect(page.locator("svg.ins-chart-phone")).to_be_visible()
    expect(page.locator("svg.ins-chart-wide")).to_be_hidden()
    page.locator("svg.ins-chart-phone").scroll_into_view_if_needed()
    _shot(page, "mobile", platform, full_page=False)
    request.node.add_report_section("call", "screenshots", str(SCREENSHOTS))


# A kiosk's browser is not driven by automation and prints without a dialog (kiosk printing).
# The page is made to look like one, and print() is counted instead of reaching a printer: in the
# page and in every frame, whichever the printing script reaches.
AS_A_KIOSK = """
Object.defineProperty(Navigator.prototype, "webdriver", { get: () => false });
window.print = function () { window.top.__prints = (window.top.__prints || 0) + 1; };
"""


def test_the_kiosk_prints_the_document_when_it_has_loaded_and_again_on_request(
    platform: Platform, page: Page, tmp_path: Path
) -> None:
    holder = _resident(platform, tmp_path)
    page.context.add_init_script(AS_A_KIOSK)
    page.set_viewport_size(KIOSK_SCREEN)
    page.goto("/kiosk")
    assert page.evaluate("navigator.webdriver") is False
    page.fill("#card_number", holder.card_number)
    page.fill("#pin", PIN)
    page.click("button:has-text('确认')")
    page.click("a.kiosk-button:has-text('我的社保')")
    page.click("nav.ins-tabs a:has-text('打印凭证')")
    assert page.evaluate("window.__prints || 0") == 0
    page.click("button:has-text('打印参保缴费凭证')")
    expect(page.get_by_role("heading", name="正在打印")).to_be_visible()
    page.wait_for_function("() => window.__prints === 1")  # printed once, when the frame loaded
    page.click("#print-again")
    page.wait_for_function("() => window.__prints === 2")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__prints") == 2  # and not again by itself
