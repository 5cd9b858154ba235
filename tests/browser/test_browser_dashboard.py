"""The leading group's dashboard in a real headless Chromium against the app served by uvicorn,
on SQLite and PostgreSQL: after some years of openings (and one recorded through the catalogue
form in the browser) the dashboard draws its charts, and a county and an item drill down.
Screenshots go to test-artifacts/screenshots/<test>-<backend>.png."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import Page, expect

from socialcard.bootstrap import Platform
from socialcard.catalog import services
from socialcard.catalog.models import Channel, OpeningStatus
from socialcard.db import transaction
from socialcard.kernel.resident_id import ResidentId
from socialcard.registry.household.rules import PersonRecord
from socialcard.registry.models import PersonStatus
from socialcard.registry.services import register_person
from tests.browser.test_browser_flows import (
    SCREENSHOTS,
    base_url,
    browser,
    log_in,
    page,
    resident_id_for,
    screenshot,
)
from tests.support import make_staff

__all__ = ["base_url", "browser", "page"]  # the fixtures, shared with the other browser tests

CITY = "431100"
DAO_COUNTY = "431124"  # 道县
COUNTIES = (
    "431102",
    "431103",
    "431121",
    "431122",
    "431123",
    "431124",
    "431125",
    "431126",
    "431127",
    "431128",
    "431129",
)


def seed_history(platform: Platform) -> None:
    """Openings over the years: most items city-wide in 2015–2017, the rest county by county,
    one suspension, and some card uses this year."""
    at = platform.clock.now()
    changes: list[tuple[int, str, OpeningStatus, date]] = []
    for item_no in range(1, 51):
        changes.append((item_no, CITY, OpeningStatus.OPENED, date(2015, 9, 1)))
    for item_no in range(61, 80):
        if item_no not in (70, 71, 72, 73):
            changes.append((item_no, CITY, OpeningStatus.OPENED, date(2017, 6, 1)))
    for index, item_no in enumerate(range(80, 111)):
        if item_no == 88:
            continue
        for county in COUNTIES[: (index * 7) % 12]:
            changes.append((item_no, county, OpeningStatus.OPENED, date(2018 + index % 6, 3, 1)))
    changes.append((12, CITY, OpeningStatus.SUSPENDED, date(2026, 10, 1)))
    with platform.session() as session, transaction(session):
        for item_no, region, status, on in changes:
            services.change_opening(
                session,
                item_no=item_no,
                region_code=region,
                status=status,
                effective_on=on,
                reason=None,
                recorded_by=None,
                at=at,
            )
        for n in range(6):
            resident_id = resident_id_for(DAO_COUNTY, f"198{n}0101", f"{n + 1}11")
            record = PersonRecord(
                resident_id=ResidentId.parse(resident_id),
                name=f"居民{chr(0x4E00 + n)}",
                ethnicity="汉族",
                household_region_code=DAO_COUNTY,
                household_address="道县濂溪街道 1 号",
                residence_county_code=DAO_COUNTY,
                residence_township="濂溪街道",
                residence_address="道县濂溪街道 1 号",
                phone=None,
                status=PersonStatus.LIVING,
                status_changed_on=None,
            )
            person = register_person(session, platform.keys, record, source="公安户籍", at=at)
            for item_no in (1, 5, 22, 40, 45)[: 5 - n % 5]:
                services.record_card_use(
                    session,
                    item_no=item_no,
                    person_id=person.id,
                    channel=Channel.COUNTER,
                    county_code=DAO_COUNTY,
                    used_at=datetime(2026, 6, 1 + n, 3, 0, tzinfo=UTC),
                )


def test_the_leading_group_reads_the_dashboard(
    platform: Platform, page: Page, request: pytest.FixtureRequest
) -> None:
    seed_history(platform)
    leader = make_staff(platform, "leader", roles=("leading_group",))

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/login?next=/catalog")
    log_in(page, platform, leader)
    expect(page.get_by_role("heading", name="社会保障卡应用目录")).to_be_visible()
    row = page.locator("#item-104 + tr.opening-row")
    row.locator("summary").click()
    row.locator("select[name='region_code']").select_option(DAO_COUNTY)
    row.locator("input[name='reason']").fill("道县试点")
    row.locator("button:has-text('保存')").click()
    expect(page.locator(".flash-ok")).to_contain_text("已记录第 104 项")

    page.goto("/dashboard")
    expect(page.get_by_role("heading", name="领导小组驾驶舱")).to_be_visible()
    figure = page.locator("[data-figure='city-opening-rate']")
    expect(figure).to_have_text("86.8%")  # 92 of 106 applicable items
    expect(page.locator("svg.pct-chart").first.locator("g.pct-row")).to_have_count(11)
    expect(page.locator("polyline.trend-line")).to_have_count(1)
    screenshot(page, request, platform)

    page.locator(f"g.pct-row[data-key='{DAO_COUNTY}'] a").click()
    expect(page.get_by_role("heading", name="道县应用目录开通情况")).to_be_visible()
    backend = platform.engine.dialect.name
    page.screenshot(
        path=str(SCREENSHOTS / f"{request.node.originalname}-county-{backend}.png"), full_page=True
    )
    page.locator(".chip a", has_text="104").first.click()
    expect(page.locator("h1")).to_contain_text("104.")
    expect(page.locator(f"li[data-county='{DAO_COUNTY}']")).to_contain_text("已开通")
    expect(page.locator("table.data-table")).to_contain_text("道县试点")
    page.screenshot(
        path=str(SCREENSHOTS / f"{request.node.originalname}-item-{backend}.png"), full_page=True
    )
