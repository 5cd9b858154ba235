"""The catalogue through the API and the CLI: items, openings by the leading group, export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from socialcard.access.audit import list_records
from socialcard.bootstrap import Platform
from socialcard.cli.main import app
from tests.support import api_client, make_staff


def test_items_and_openings_over_the_api(platform: Platform) -> None:
    leader = api_client(platform, make_staff(platform, "leader", roles=("leading_group",)))
    clerk = api_client(platform, make_staff(platform, "clerk", roles=("clerk",)))
    items = clerk.get("/api/v1/catalog/items").json()
    assert len(items) == 111
    assert items[21]["item_no"] == 22
    assert items[21]["usage_kind"] == "credential"
    assert clerk.get("/api/v1/catalog/items/112").json()["code"] == "catalog_item_not_found"

    body = {"region_code": "431124", "status": "opened", "effective_on": "2015-06-01"}
    assert clerk.post("/api/v1/catalog/items/22/openings", json=body).status_code == 403
    opened = leader.post("/api/v1/catalog/items/22/openings", json=body)
    assert opened.status_code == 201
    again = leader.post("/api/v1/catalog/items/22/openings", json=body)
    assert again.status_code == 409
    assert again.json()["code"] == "opening_not_allowed"
    bad_region = leader.post(
        "/api/v1/catalog/items/22/openings", json={**body, "region_code": "999999"}
    )
    assert bad_region.status_code == 404
    leader.post(
        "/api/v1/catalog/items/22/openings",
        json={"region_code": "431124", "status": "suspended", "effective_on": "2016-01-01"},
    )
    before = clerk.get("/api/v1/catalog/openings", params={"as_of": "2015-12-31"}).json()
    after = clerk.get("/api/v1/catalog/openings", params={"as_of": "2016-01-01"}).json()
    assert [(o["item_no"], o["status"]) for o in before] == [(22, "opened")]
    assert [(o["item_no"], o["status"]) for o in after] == [(22, "suspended")]
    with platform.session() as session:
        changes = [r for r in list_records(session) if r.action == "catalog.opening_changed"]
    assert len(changes) == 2


def test_cli_exports_the_catalogue_and_reports_status(platform: Platform, tmp_path: Path) -> None:
    env = {
        "SOCIALCARD_DATABASE_URL": platform.settings.database_url,
        "SOCIALCARD_DATA_DIR": str(platform.settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(platform.settings.resolved_key_file),
    }
    runner = CliRunner()
    exported = runner.invoke(app, ["catalog", "export", "--format", "csv"], env=env)
    assert exported.exit_code == 0
    rows = list(csv.reader(io.StringIO(exported.stdout.lstrip("\ufeff"))))
    assert rows[0][:4] == ["item_no", "category", "usage_kind", "name"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 112))

    target = tmp_path / "catalog.xlsx"
    assert (
        runner.invoke(
            app, ["catalog", "export", "--format", "xlsx", "--output", str(target)], env=env
        ).exit_code
        == 0
    )
    workbook = load_workbook(target, read_only=True)
    try:
        assert sum(1 for _ in workbook.worksheets[0].iter_rows()) == 112
    finally:
        workbook.close()
    as_json = json.loads(
        runner.invoke(app, ["catalog", "export", "--format", "json"], env=env).stdout
    )
    assert len(as_json["items"]) == 111

    opened = runner.invoke(
        app, ["catalog", "open", "27", "--region", "431124", "--on", "2015-09-01"], env=env
    )
    assert opened.exit_code == 0, opened.stdout
    refused = runner.invoke(
        app, ["catalog", "open", "27", "--region", "431124", "--on", "2015-10-01"], env=env
    )
    assert refused.exit_code == 1
    assert "error[opening_not_allowed]" in refused.stderr
    wide = {**env, "COLUMNS": "200"}
    status = runner.invoke(app, ["catalog", "status", "--as-of", "2016-01-01"], env=wide)
    assert status.exit_code == 0
    assert "not implemented yet" in status.stdout
    assert "1/11" in status.stdout
    assert "bound: 0/111 items" in status.stdout
