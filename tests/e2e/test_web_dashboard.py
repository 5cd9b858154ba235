"""The leading group's dashboard and the catalogue pages end to end, on SQLite and PostgreSQL:
an opening recorded through the catalogue form moves the dashboard's figures exactly as a direct
count of item_openings says it should, a suspension moves them back, the dashboard agrees with
the API, and only the leading group sees the dashboard and changes openings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from socialcard.access.audit import list_records
from socialcard.bootstrap import Platform
from socialcard.server import create_app
from tests.support import StaffAccount, api_client, make_staff

CITY = "431100"
DAO_COUNTY = "431124"  # 道县
LINGLING = "431102"  # 零陵区
NOT_APPLICABLE = (70, 71, 72, 73, 88)
TODAY = date(2026, 11, 29)  # tests.conftest.START in Asia/Shanghai
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
CITY_RATE = re.compile(r'data-figure="city-opening-rate"[^>]*>([^<]+)<')
COUNTY_RATE = re.compile(r'data-figure="county-opening-rate"[^>]*>([^<]+)<')


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


def log_in(client: TestClient, platform: Platform, account: StaffAccount) -> None:
    response = client.post(
        "/login",
        data={
            "username": account.username,
            "password": account.password,
            "one_time_code": account.one_time_code(platform) or "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf_token(client: TestClient, page: str = "/") -> str:
    found = CSRF_PATTERN.search(client.get(page).text)
    assert found is not None, "page has no csrf_token field"
    return found.group(1)


@dataclass(frozen=True)
class Posted:
    status_code: int
    location: str
    text: str


def change_opening(
    client: TestClient,
    item_no: int,
    region_code: str,
    status: str,
    effective_on: str,
    *,
    reason: str = "",
) -> Posted:
    response = client.post(
        f"/catalog/items/{item_no}/openings",
        data={
            "region_code": region_code,
            "status": status,
            "effective_on": effective_on,
            "reason": reason,
            "csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    return Posted(response.status_code, response.headers.get("location", ""), response.text)


def percent(numerator: int, denominator: int) -> str:
    value = Decimal(numerator * 100) / Decimal(denominator)
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def expected_rates(platform: Platform, county: str) -> tuple[str, str]:
    """The city's and the county's opening rate counted straight from the tables: the latest
    change per (item, region) effective by today; a city-level opening counts in every county."""
    with platform.session() as session:
        rows = session.execute(
            text(
                "SELECT item_no, region_code, status FROM item_openings "
                "WHERE effective_on <= :today ORDER BY effective_on, id"
            ),
            {"today": TODAY},
        ).all()
        denominator = session.execute(
            text("SELECT count(*) FROM catalog_items WHERE item_no NOT IN (70, 71, 72, 73, 88)")
        ).scalar_one()
    latest: dict[tuple[int, str], str] = {}
    for item_no, region_code, status in rows:
        latest[(item_no, region_code)] = status
    opened = {
        key for key, status in latest.items() if status == "opened" and key[0] not in NOT_APPLICABLE
    }
    in_city = {item for item, _ in opened}
    in_county = {item for item, region in opened if region in (county, CITY)}
    return percent(len(in_city), denominator), percent(len(in_county), denominator)


def dashboard_rates(client: TestClient, county: str) -> tuple[str, str, str]:
    """The city rate on the dashboard, the county's bar on it and the county page's figure."""
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    city = CITY_RATE.search(page.text)
    bar = re.search(
        rf'data-key="{county}".*?class="bar-value">([^<]+)<', page.text, flags=re.DOTALL
    )
    county_page = client.get(f"/dashboard/counties/{county}")
    assert county_page.status_code == 200, county_page.text
    figure = COUNTY_RATE.search(county_page.text)
    assert city is not None
    assert bar is not None
    assert figure is not None
    return city.group(1), bar.group(1), figure.group(1)


def leader(platform: Platform, client: TestClient) -> StaffAccount:
    account = make_staff(platform, "leader", roles=("leading_group",))
    log_in(client, platform, account)
    return account


# --- tests ---------------------------------------------------------------------------------


def test_an_opening_moves_the_dashboard_and_a_suspension_moves_it_back(
    platform: Platform, client: TestClient
) -> None:
    leader(platform, client)
    city, county = expected_rates(platform, DAO_COUNTY)
    assert (city, county) == ("0.0%", "0.0%")
    assert dashboard_rates(client, DAO_COUNTY) == (city, county, county)

    opened = change_opening(client, 22, DAO_COUNTY, "opened", "2026-11-01", reason="试点开通")
    assert opened.status_code == 303
    assert opened.location == "/catalog?changed=22#item-22"
    city, county = expected_rates(platform, DAO_COUNTY)
    assert (city, county) == ("0.9%", "0.9%")
    assert dashboard_rates(client, DAO_COUNTY) == (city, county, county)

    # A city-level opening counts in every county, 道县 included.
    assert change_opening(client, 5, CITY, "opened", "2026-11-02").status_code == 303
    city, county = expected_rates(platform, DAO_COUNTY)
    assert (city, county) == ("1.9%", "1.9%")
    assert dashboard_rates(client, DAO_COUNTY) == (city, county, county)
    _, lingling = expected_rates(platform, LINGLING)
    assert dashboard_rates(client, LINGLING)[1:] == (lingling, lingling) == ("0.9%", "0.9%")

    suspended = change_opening(client, 22, DAO_COUNTY, "suspended", "2026-11-20")
    assert suspended.status_code == 303
    city, county = expected_rates(platform, DAO_COUNTY)
    assert (city, county) == ("0.9%", "0.9%")
    assert dashboard_rates(client, DAO_COUNTY) == (city, county, county)

    with platform.session() as session:
        changes = [
            r for r in list_records(session, limit=100) if r.action == "catalog.opening_changed"
        ]
    assert sorted((r.object_id, r.details["status"]) for r in changes) == [
        ("22", "opened"),
        ("22", "suspended"),
        ("5", "opened"),
    ]
    catalog = client.get("/catalog?changed=22")
    assert "已记录第 22 项" in catalog.text
    assert 'data-item="5">11 / 11<' in catalog.text
    assert 'data-item="22">0 / 11<' in catalog.text


def test_the_dashboard_and_the_api_agree_on_the_city_rate(
    platform: Platform, client: TestClient
) -> None:
    account = leader(platform, client)
    for item_no, region in ((1, DAO_COUNTY), (2, LINGLING), (3, CITY), (70, CITY)):
        assert change_opening(client, item_no, region, "opened", "2026-10-01").status_code == 303

    metrics = api_client(platform, account).get("/api/v1/catalog/metrics")
    assert metrics.status_code == 200
    page = client.get("/dashboard").text
    found = CITY_RATE.search(page)
    assert found is not None
    assert found.group(1) == metrics.json()["opening_rate_city"]["percent"] == "2.8%"
    # Item 70 is not applicable: shown apart, not counted.
    assert expected_rates(platform, DAO_COUNTY)[0] == "2.8%"


def test_a_clerk_may_read_the_catalogue_but_not_the_dashboard_nor_change_openings(
    platform: Platform, client: TestClient
) -> None:
    log_in(client, platform, make_staff(platform, "clerk1"))

    assert client.get("/dashboard").status_code == 403
    assert client.get(f"/dashboard/counties/{DAO_COUNTY}").status_code == 403
    assert client.get("/dashboard/items/22").status_code == 403
    refused = change_opening(client, 22, DAO_COUNTY, "opened", "2026-11-01")
    assert refused.status_code == 403
    catalog = client.get("/catalog")
    assert catalog.status_code == 200
    assert "变更开通状态" not in catalog.text
    assert 'href="/dashboard/items/' not in catalog.text
    with platform.session() as session:
        assert session.execute(text("SELECT count(*) FROM item_openings")).scalar_one() == 0


def test_refused_changes_re_render_the_form_with_the_message(
    platform: Platform, client: TestClient
) -> None:
    leader(platform, client)

    bad_date = change_opening(client, 22, DAO_COUNTY, "opened", "明天")
    assert bad_date.status_code == 422
    assert "请填写生效日期" in bad_date.text
    assert '<details class="opening-details" open>' in bad_date.text

    not_opened = change_opening(client, 22, DAO_COUNTY, "suspended", "2026-11-01")
    assert not_opened.status_code == 409
    assert "不能改为" in not_opened.text

    unknown_region = change_opening(client, 22, "999999", "opened", "2026-11-01")
    assert unknown_region.status_code == 422
    assert "请选择全市或一个县区" in unknown_region.text

    assert change_opening(client, 999, DAO_COUNTY, "opened", "2026-11-01").status_code == 404
    with platform.session() as session:
        assert session.execute(text("SELECT count(*) FROM item_openings")).scalar_one() == 0


def test_every_dashboard_page_renders_and_escapes(platform: Platform, client: TestClient) -> None:
    leader(platform, client)
    with platform.session() as session, session.begin():
        session.execute(
            text("UPDATE catalog_items SET name = :name WHERE item_no = 22"),
            {"name": "<b>就医</b>&登记"},
        )
    change_opening(client, 22, DAO_COUNTY, "opened", "2026-11-01", reason="<script>x</script>")

    pages = [
        "/dashboard",
        "/dashboard?as_of=2015-06-30",
        "/dashboard?as_of=2016-12-31",
        f"/dashboard/counties/{DAO_COUNTY}",
        f"/dashboard/counties/{DAO_COUNTY}?as_of=2018-01-01",
        "/dashboard/items/22",
        "/dashboard/items/70",
        "/catalog",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert "永州市社会保障卡（市民卡）综合应用平台" in response.text
        assert "<script" not in response.text
        assert "<b>就医" not in response.text
        assert "http://" not in response.text
        assert "https://" not in response.text
    item = client.get("/dashboard/items/22").text
    assert "&lt;script&gt;x&lt;/script&gt;" in item
    assert "&lt;b&gt;就医&lt;/b&gt;&amp;登记" in item
    assert item.count('class="county-cell cell-') == 11
    assert 'data-county="431124" title="道县：已开通"' in item

    early = client.get("/dashboard?as_of=2015-06-30").text
    assert "暂无目标" in early
    assert "目标 80%" in client.get("/dashboard").text
    assert client.get("/dashboard/counties/431100").status_code == 404
    assert client.get("/dashboard/items/999").status_code == 404
    assert client.get("/dashboard?as_of=someday").status_code == 422


def test_every_figure_carries_its_definition(platform: Platform, client: TestClient) -> None:
    leader(platform, client)
    page = client.get("/dashboard").text

    for definition in (
        "开通率 = 已开通事项数 ÷ 目录事项数（不含暂不适用事项）",
        "县区覆盖率 = 已开通该事项的县区数 ÷ 县级行政区数（11）",
        "人群覆盖率 = 已开通县区的常住人口 ÷ 全市各县区常住人口合计",
        "实际使用人数 = 期间内成功用卡的不同持卡人数",
        "细类 = 分类 × 用卡方式",
        "市级开通（431100）计入每个县区",
    ):
        assert f'title="{definition}' in page, definition
    assert page.count('class="info"') >= 8
    assert "<polyline" in page
    assert 'href="/dashboard/counties/431124"' in page
