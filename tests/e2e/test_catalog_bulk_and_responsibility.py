"""Bulk opening from a spreadsheet (all rows or none) and the responsible units' view."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from typer.testing import CliRunner

from socialcard.bootstrap import Platform
from socialcard.catalog.queries import list_opening_history
from socialcard.cli.main import app
from tests.support import api_client, make_staff

HEADER = "事项编号,区划代码,状态,生效日期,原因\n"


def test_a_valid_sheet_is_applied_whole(platform: Platform, tmp_path: Path) -> None:
    leader = api_client(platform, make_staff(platform, "leader", roles=("leading_group",)))
    sheet = tmp_path / "openings.csv"
    sheet.write_text(
        HEADER + "22,431124,开通,2015-06-01,\n23,431124,开通,2015-06-01,\n"
        "22,431124,暂停,2016-01-01,系统升级\n27,431100,开通,2015-09-01,全市开通\n",
        encoding="gbk",
    )
    with sheet.open("rb") as handle:
        response = leader.post("/api/v1/catalog/openings/sheet", files={"file": ("a.csv", handle)})
    assert response.status_code == 201
    assert [(o["item_no"], o["status"]) for o in response.json()] == [
        (22, "opened"),
        (23, "opened"),
        (27, "opened"),
        (22, "suspended"),
    ]


def test_a_sheet_with_any_bad_row_changes_nothing_and_names_every_row(
    platform: Platform, tmp_path: Path
) -> None:
    leader = api_client(platform, make_staff(platform, "leader", roles=("leading_group",)))
    workbook = Workbook()
    rows = workbook.active
    assert rows is not None
    rows.append(["事项编号", "区划代码", "状态", "生效日期", "原因"])
    rows.append([22, 431124, "开通", "2015-06-01", None])
    rows.append([22, 431124, "开通", "2015-07-01", None])  # already opened
    rows.append([23, 999999, "开通", "2015-06-01", None])  # no such region
    rows.append([24, 431124, "上线", "2015-06-01", None])  # unknown status
    path = tmp_path / "openings.xlsx"
    workbook.save(path)
    with path.open("rb") as handle:
        response = leader.post("/api/v1/catalog/openings/sheet", files={"file": ("a.xlsx", handle)})
    assert response.status_code == 422
    assert response.json()["code"] == "opening_sheet_rejected"
    assert [p["row"] for p in response.json()["problems"]] == [5]
    rows.delete_rows(5)
    workbook.save(path)
    with path.open("rb") as handle:
        response = leader.post("/api/v1/catalog/openings/sheet", files={"file": ("a.xlsx", handle)})
    assert [p["row"] for p in response.json()["problems"]] == [3, 4]
    with platform.session() as session:
        assert list_opening_history(session) == []


def test_cli_applies_a_sheet_and_units_see_their_overdue_items(
    platform: Platform, tmp_path: Path
) -> None:
    env = {
        "SOCIALCARD_DATABASE_URL": platform.settings.database_url,
        "SOCIALCARD_DATA_DIR": str(platform.settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(platform.settings.resolved_key_file),
    }
    sheet = tmp_path / "openings.csv"
    sheet.write_text(HEADER + "1,431100,开通,2015-09-01,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["catalog", "open-sheet", str(sheet)], env=env)
    assert result.exit_code == 0, result.stdout
    assert "1 opening changes applied" in result.stdout

    clerk = api_client(platform, make_staff(platform, "clerk"))
    units = clerk.get("/api/v1/catalog/responsibilities", params={"as_of": "2016-01-01"}).json()
    by_unit = {u["unit"]: u for u in units}
    employment = by_unit["市人社局"]
    item_1 = next(i for i in employment["items"] if i["item_no"] == 1)
    assert item_1["is_overdue"] is False
    assert item_1["county_coverage"]["percent"] == "100.0%"
    item_2 = next(i for i in employment["items"] if i["item_no"] == 2)
    assert item_2["is_overdue"] is True
    assert employment["overdue"] == sum(1 for i in employment["items"] if i["is_overdue"])


def test_a_responsible_unit_opens_only_its_own_items(platform: Platform, tmp_path: Path) -> None:
    from socialcard.access.audit import list_records

    medical = api_client(
        platform,
        make_staff(platform, "medical", roles=("unit_officer",), department="healthcare_security"),
    )
    body = {"region_code": "431124", "status": "opened", "effective_on": "2015-06-01"}
    # Item 39 answers to 市医保处 (the healthcare security administration); item 1 to 市人社局.
    assert medical.post("/api/v1/catalog/items/39/openings", json=body).status_code == 201
    refused = medical.post("/api/v1/catalog/items/1/openings", json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_responsible_for_item"
    sheet = tmp_path / "openings.csv"
    sheet.write_text(HEADER + "40,431124,开通,2015-06-01,\n1,431124,开通,2015-06-01,\n", "utf-8")
    with sheet.open("rb") as handle:
        rejected = medical.post("/api/v1/catalog/openings/sheet", files={"file": ("a.csv", handle)})
    assert rejected.status_code == 422
    assert [p["row"] for p in rejected.json()["problems"]] == [3]
    with platform.session() as session:
        assert [o.item_no for o in list_opening_history(session)] == [39]
        denials = [r for r in list_records(session) if r.action == "access.denied"]
    assert [(d.object_type, d.object_id) for d in denials] == [("catalog_item", "1")]


def test_the_catalogue_page_offers_a_unit_only_its_own_items(platform: Platform) -> None:
    account = make_staff(
        platform, "medical", roles=("unit_officer",), department="healthcare_security"
    )
    web = api_client(platform)
    web.post("/login", data={"username": account.username, "password": account.password})
    page = web.get("/catalog").text
    assert 'action="/catalog/items/39/openings"' in page
    assert 'action="/catalog/items/1/openings"' not in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {
        "csrf_token": token,
        "region_code": "431124",
        "status": "opened",
        "effective_on": "2015-06-01",
    }
    refused = web.post("/catalog/items/1/openings", data=form, follow_redirects=False)
    assert refused.status_code == 403
    assert "不是本单位负责的事项" in refused.text
    accepted = web.post("/catalog/items/39/openings", data=form, follow_redirects=False)
    assert accepted.status_code == 303
