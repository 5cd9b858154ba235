"""The catalogue through the API and the CLI: items, openings by the leading group, export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from socialcard.access.audit import list_records
from socialcard.bootstrap import Platform
from socialcard.catalog import services
from socialcard.catalog.models import Channel
from socialcard.cli.main import app
from socialcard.db import transaction
from tests.support import add_person, api_client, make_staff, resident_id_for


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
    assert "bound: 31/111 items" in status.stdout  # payouts, fees, insurance
    assert "disbursement.run_batch" in status.stdout


def test_cli_finds_a_wrong_user_tally_and_rebuilds_it(platform: Platform) -> None:
    env = {
        "SOCIALCARD_DATABASE_URL": platform.settings.database_url,
        "SOCIALCARD_DATA_DIR": str(platform.settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(platform.settings.resolved_key_file),
    }
    holder = add_person(platform, resident_id_for("431124", "19900517", 1), phone=None)
    with platform.session() as session, transaction(session):
        services.record_card_use(
            session,
            item_no=29,
            person_id=holder,
            channel=Channel.KIOSK,
            county_code="431124",
            used_at=datetime(2026, 4, 1, 3, tzinfo=UTC),
        )
    runner = CliRunner()
    fine = runner.invoke(app, ["catalog", "tallies"], env=env)
    assert fine.exit_code == 0, fine.stderr
    assert "agree with the card uses (years: 2026)" in fine.stdout

    with platform.session() as session, transaction(session):
        session.execute(text("UPDATE item_user_tallies SET users = users + 2"))
    broken = runner.invoke(app, ["catalog", "tallies"], env=env)
    assert broken.exit_code == 1
    assert (
        "error[user_tally_mismatch]: item 29 in 2026: 1 users counted from card uses, "
        "3 in the tallies" in broken.stderr
    )

    repaired = runner.invoke(app, ["catalog", "tallies", "--rebuild"], env=env)
    assert repaired.exit_code == 0, repaired.stderr
    assert "tallies rebuilt: 1 holder-item-years, 1 tally rows" in repaired.stdout
    assert runner.invoke(app, ["catalog", "tallies"], env=env).exit_code == 0
