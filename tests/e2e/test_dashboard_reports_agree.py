"""Issue 3's acceptance: the dashboard, the API, the XLSX and the PDF show the same figures,
equal to a direct SQL count, and opening or suspending an item moves all of them."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text

from socialcard.bootstrap import Platform
from socialcard.catalog import services
from socialcard.catalog.models import Channel, OpeningStatus
from socialcard.db import transaction
from tests.support import (
    StaffAccount,
    add_person,
    api_client,
    change_opening,
    make_staff,
    resident_id_for,
)

AS_OF = "2016-06-30"
NOT_APPLICABLE = (70, 71, 72, 73, 88)


def sql_city_rate(platform: Platform) -> tuple[int, int]:
    latest = text(
        "SELECT o.item_no, o.status FROM item_openings o WHERE o.effective_on <= :d AND o.id = ("
        "SELECT i.id FROM item_openings i WHERE i.item_no = o.item_no AND "
        "i.region_code = o.region_code AND i.effective_on <= :d "
        "ORDER BY i.effective_on DESC, i.id DESC LIMIT 1)"
    )
    with platform.engine.connect() as connection:
        rows = connection.execute(latest, {"d": date.fromisoformat(AS_OF)}).all()
        total = connection.execute(
            text("SELECT count(*) FROM catalog_items WHERE item_no NOT IN (70, 71, 72, 73, 88)")
        ).scalar_one()
    opened = {r.item_no for r in rows if r.status == "opened" and r.item_no not in NOT_APPLICABLE}
    return len(opened), total


def percent(numerator: int, denominator: int) -> str:
    return f"{numerator * 100 / denominator:.1f}%"


def figures_everywhere(platform: Platform, leader: StaffAccount) -> dict[str, str]:
    api = api_client(platform, leader)
    api_rate = api.get("/api/v1/catalog/metrics", params={"as_of": AS_OF}).json()
    web = api_client(platform)
    web.post("/login", data={"username": leader.username, "password": leader.password})
    page = web.get("/dashboard", params={"as_of": AS_OF}).text
    shown = re.search(r'data-figure="city-opening-rate"[^>]*>([^<]+)<', page)
    assert shown is not None
    xlsx = load_workbook(
        io.BytesIO(web.get("/dashboard/report.xlsx", params={"as_of": AS_OF}).content)
    )
    overview = xlsx["总览"]
    cell = next(
        row[1] for row in overview.iter_rows(values_only=True) if row[0] == "应用目录开通率（全市）"
    )
    assert isinstance(cell, float), "the XLSX keeps rates as numbers"
    pdf = PdfReader(io.BytesIO(web.get("/dashboard/report.pdf", params={"as_of": AS_OF}).content))
    pdf_text = pdf.pages[0].extract_text()
    return {
        "api": api_rate["opening_rate_city"]["percent"],
        "web": shown.group(1).strip(),
        "xlsx": f"{cell * 100:.1f}%",
        "pdf": pdf_text,
    }


def test_all_channels_agree_with_sql_and_move_together(platform: Platform) -> None:
    leader = make_staff(platform, "leader", roles=("leading_group",))
    for item_no, region in ((22, "431124"), (27, "431100"), (29, "431102"), (70, "431124")):
        change_opening(platform, item_no, region, OpeningStatus.OPENED, date(2015, 6, 1))
    expected = percent(*sql_city_rate(platform))
    assert expected == percent(3, 106)
    seen = figures_everywhere(platform, leader)
    assert seen["api"] == seen["web"] == seen["xlsx"] == expected
    assert expected in seen["pdf"]

    change_opening(platform, 29, "431102", OpeningStatus.SUSPENDED, date(2016, 1, 1), reason="暂停")
    moved = percent(*sql_city_rate(platform))
    assert moved == percent(2, 106)
    seen = figures_everywhere(platform, leader)
    assert seen["api"] == seen["web"] == seen["xlsx"] == moved
    assert moved in seen["pdf"]


def test_the_units_page_flags_overdue_items(platform: Platform) -> None:
    leader = make_staff(platform, "leader", roles=("leading_group",))
    web = api_client(platform)
    web.post("/login", data={"username": leader.username, "password": leader.password})
    page = web.get("/dashboard/units", params={"as_of": AS_OF})
    assert page.status_code == 200
    assert "市人社局" in page.text
    assert "逾期" in page.text
    assert web.get("/dashboard/report.doc").status_code == 404
    clerk = make_staff(platform, "clerk")
    other = api_client(platform)
    other.post("/login", data={"username": clerk.username, "password": clerk.password})
    assert other.get("/dashboard/units").status_code == 403
    assert other.get("/dashboard/report.pdf").status_code == 403


def test_partner_systems_fetch_the_report_through_the_api(platform: Platform) -> None:
    leader = api_client(platform, make_staff(platform, "leader", roles=("leading_group",)))
    pdf = leader.get("/api/v1/catalog/reports/evaluation.pdf", params={"as_of": AS_OF})
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    xlsx = leader.get("/api/v1/catalog/reports/evaluation.xlsx", params={"as_of": AS_OF})
    assert xlsx.content[:2] == b"PK"
    assert leader.get("/api/v1/catalog/reports/evaluation.doc").status_code == 422
    clerk = api_client(platform, make_staff(platform, "clerk"))
    assert clerk.get("/api/v1/catalog/reports/evaluation.pdf").status_code == 403


def test_an_items_page_shows_the_uses_behind_its_figures(platform: Platform) -> None:
    holder = add_person(platform, resident_id_for("431124", "19850312", 121), name="周道明")
    change_opening(platform, 27, "431124", OpeningStatus.OPENED, date(2015, 6, 1))
    with platform.session() as session, transaction(session):
        for channel in (Channel.KIOSK, Channel.KIOSK, Channel.WEB):
            services.record_card_use(
                session,
                item_no=27,
                person_id=holder,
                channel=channel,
                county_code="431124",
                used_at=datetime(2016, 3, 1, 2, tzinfo=UTC),
            )
    leader = make_staff(platform, "leader", roles=("leading_group",))
    web = api_client(platform)
    web.post("/login", data={"username": leader.username, "password": leader.password})
    page = web.get("/dashboard/items/27", params={"as_of": AS_OF}).text
    assert "用卡记录" in page
    assert "自助服务一体机" in page
    assert "网站" in page
    assert "周**" in page
    assert "周道明" not in page
