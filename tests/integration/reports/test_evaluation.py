"""The evaluation report agrees with compute_figures and with direct SQL counts, on SQLite and
PostgreSQL; the CLI writes both files and prints the summary line."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from socialcard.bootstrap import Platform
from socialcard.catalog import queries
from socialcard.catalog.metrics import compute_figures
from socialcard.catalog.models import OpeningStatus
from socialcard.cli.main import app
from socialcard.reports.evaluation import (
    build_evaluation,
    render_evaluation_pdf,
    render_evaluation_xlsx,
)
from tests.support import change_opening

AS_OF = date(2016, 6, 30)
NOT_APPLICABLE = (70, 71, 72, 73, 88)
CHANGES = [
    (1, "431124", OpeningStatus.OPENED, date(2015, 6, 1)),
    (2, "431124", OpeningStatus.OPENED, date(2015, 6, 1)),
    (2, "431124", OpeningStatus.SUSPENDED, date(2016, 1, 1)),
    (3, "431100", OpeningStatus.OPENED, date(2015, 9, 1)),
    (4, "431102", OpeningStatus.OPENED, date(2016, 7, 1)),
    (5, "431102", OpeningStatus.OPENED, date(2016, 3, 1)),
    (70, "431124", OpeningStatus.OPENED, date(2015, 6, 1)),
]


@pytest.fixture
def opened(platform: Platform) -> Platform:
    for item_no, region, status, on in CHANGES:
        change_opening(platform, item_no, region, status, on)
    return platform


def sql_opened_pairs(platform: Platform) -> set[tuple[int, str]]:
    latest = text(
        "SELECT item_no, region_code, status FROM item_openings o WHERE effective_on <= :d "
        "AND id = (SELECT id FROM item_openings i WHERE i.item_no = o.item_no "
        "AND i.region_code = o.region_code AND i.effective_on <= :d "
        "ORDER BY effective_on DESC, id DESC LIMIT 1)"
    )
    with platform.session() as session:
        rows = session.execute(latest, {"d": AS_OF}).all()
    return {(r.item_no, r.region_code) for r in rows if r.status == "opened"}


def test_workbook_figures_equal_compute_figures_and_sql(opened: Platform) -> None:
    with opened.session() as session:
        report = build_evaluation(
            session, as_of=AS_OF, period_from=date(2016, 1, 1), period_to=AS_OF
        )
        figures = compute_figures(
            queries.gather_metric_inputs(
                session, as_of=AS_OF, period_from=date(2016, 1, 1), period_to=AS_OF
            )
        )
        applicable = session.execute(
            text("SELECT count(*) FROM catalog_items WHERE item_no NOT IN (70, 71, 72, 73, 88)")
        ).scalar_one()
        county_codes = list(
            session.execute(
                text("SELECT code FROM regions WHERE kind = 'county' ORDER BY sort_order")
            ).scalars()
        )
    pairs = sql_opened_pairs(opened)
    opened_items = {i for i, _ in pairs if i not in NOT_APPLICABLE}
    per_county = {
        code: len({i for i, r in pairs if r in (code, "431100") and i not in NOT_APPLICABLE})
        for code in county_codes
    }

    workbook = load_workbook(io.BytesIO(render_evaluation_xlsx(report)))
    overview = {row[0]: row[1] for row in workbook["总览"].iter_rows(values_only=True)}
    assert overview["已开通事项"] == figures.opening_rate_city.numerator == len(opened_items) == 3
    assert overview["适用事项"] == figures.opening_rate_city.denominator == applicable == 106
    assert overview["应用目录开通率（全市）"] == pytest.approx(3 / 106)
    assert overview["县区数"] == len(county_codes) == 11

    rows = {r[0]: r for r in workbook["县区"].iter_rows(min_row=2, values_only=True)}
    assert list(rows) == county_codes
    for code in county_codes:
        assert rows[code][2] == figures.opening_rate_by_county[code].numerator == per_county[code]
        assert rows[code][3] == applicable
    assert rows["431124"][1] == "道县"
    assert rows["431124"][2] == 2  # item 1, and item 3 at city level; 2 suspended, 70 n/a

    details = list(workbook["事项明细"].iter_rows(min_row=2, values_only=True))
    assert len(details) == 111
    assert len(report.overdue_items) == len(
        list(workbook["逾期事项"].iter_rows(min_row=2, values_only=True))
    )
    assert render_evaluation_pdf(report).startswith(b"%PDF")


def test_cli_writes_both_files_and_prints_the_summary(opened: Platform, tmp_path: Path) -> None:
    settings = opened.settings
    env = {
        "SOCIALCARD_DATABASE_URL": settings.database_url,
        "SOCIALCARD_DATA_DIR": str(settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(settings.resolved_key_file),
    }
    folder = tmp_path / "reports"
    result = CliRunner().invoke(
        app,
        ["report", "evaluation", "--as-of", AS_OF.isoformat(), "--output-dir", str(folder)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    xlsx = folder / "evaluation-2016-06-30.xlsx"
    pdf = folder / "evaluation-2016-06-30.pdf"
    assert str(xlsx) in result.stdout
    assert str(pdf) in result.stdout
    assert pdf.read_bytes().startswith(b"%PDF")
    with opened.session() as session:
        report = build_evaluation(
            session, as_of=AS_OF, period_from=date(2016, 1, 1), period_to=AS_OF
        )
    overdue = len(report.overdue_items)
    assert f"opening_rate=2.8% overdue={overdue} counties=11" in result.stdout.splitlines()
    sheet = load_workbook(xlsx)["总览"]
    assert {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}["已开通事项"] == 3


def test_cli_rejects_a_period_that_ends_before_it_starts(opened: Platform, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "report",
            "evaluation",
            "--as-of",
            "2016-06-30",
            "--from",
            "2016-07-01",
            "--to",
            "2016-06-30",
            "--output-dir",
            str(tmp_path),
        ],
        env={"SOCIALCARD_DATABASE_URL": opened.settings.database_url},
    )
    assert result.exit_code == 2
