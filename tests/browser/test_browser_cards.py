"""The card doors in a real headless Chromium: a clerk reports a card lost on the card page; the
holder signs in on the portal, sees the electronic card's QR code, and uses the kiosk with card
and PIN. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from socialcard.bootstrap import Platform
from socialcard.catalog.models import OpeningStatus
from tests.browser.test_browser_flows import base_url, browser, log_in, page, screenshot
from tests.support import add_person, change_opening, give_card, make_staff, resident_id_for

__all__ = ["base_url", "browser", "page"]

RESIDENT_ID = resident_id_for("431124", "19760412", 5)


def _holder(platform: Platform) -> str:
    change_opening(platform, 29, "431124", OpeningStatus.OPENED, date(2015, 9, 1))
    change_opening(platform, 27, "431100", OpeningStatus.OPENED, date(2015, 9, 1))
    return give_card(platform, add_person(platform, RESIDENT_ID, name="周敦颐"))


def test_the_holder_sees_the_ecard_on_the_portal(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    number = _holder(platform)
    page.goto("/portal")
    expect(page.get_by_role("heading", name="持卡人登录")).to_be_visible()
    page.fill("#resident_id", RESIDENT_ID)
    page.fill("#card_number", number)
    page.fill("#pin", "246810")
    page.click("button:has-text('登录')")
    expect(page.get_by_role("heading", name="我的社会保障卡")).to_be_visible()
    expect(page.locator(".card-status-big")).to_contain_text("正常")
    page.click("a:has-text('出示电子社保卡')")
    code = page.locator("#ecard-code")
    expect(code).to_be_visible()
    assert code.evaluate("image => image.naturalWidth") > 100  # the SVG really renders
    expect(page.locator("#ecard-left")).not_to_have_text("60", timeout=3000)  # counting down
    screenshot(page, request, platform)


def test_the_kiosk_takes_card_and_pin_and_a_clerk_reports_the_card_lost(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    number = _holder(platform)
    page.goto("/kiosk")
    expect(page.get_by_role("heading", name="请插入社会保障卡")).to_be_visible()
    page.fill("#card_number", number)
    page.fill("#pin", "246810")
    page.click("button:has-text('确认')")
    expect(page.get_by_role("heading", name="周**，您好")).to_be_visible()
    expect(page.locator(".kiosk-items").first).to_contain_text("个人参保信息查询")
    screenshot(page, request, platform)
    page.click("button:has-text('退卡')")
    expect(page.get_by_role("heading", name="请插入社会保障卡")).to_be_visible()

    clerk = make_staff(platform, "daoclerk", roles=("clerk",), scope="431124")
    page.goto(f"/cards/{number}")
    log_in(page, platform, clerk)
    expect(page.get_by_role("heading", name=f"社会保障卡 {number}")).to_be_visible()
    page.click("button:has-text('临时挂失')")
    expect(page.locator(".flash-ok")).to_contain_text("已办理：临时挂失")
    expect(page.locator("table.data-table")).to_contain_text("临时挂失")
    page.screenshot(
        path=str(screenshot.__globals__["SCREENSHOTS"] / "card-page-reported.png"), full_page=True
    )

    page.goto("/kiosk")
    page.fill("#card_number", number)
    page.fill("#pin", "246810")
    page.click("button:has-text('确认')")
    expect(page.locator(".flash-error")).to_contain_text("挂失")
