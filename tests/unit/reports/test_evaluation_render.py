"""The evaluation report's XLSX and PDF, rendered from small hand-made figures."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from socialcard.catalog.metrics import (
    CountyFacts,
    ItemFacts,
    ItemPlan,
    MetricInputs,
    compute_figures,
    responsibilities,
)
from socialcard.catalog.models import OpeningStatus, UsageKind
from socialcard.reports.definitions import DEFINITIONS
from socialcard.reports.evaluation import (
    TITLE,
    EvaluationReport,
    render_evaluation_pdf,
    render_evaluation_xlsx,
)
from socialcard.reports.evaluation_pdf import FONT_FILE

ROOT = Path(__file__).resolve().parents[3]
SHEETS = [
    "总览",
    "县区",
    "分类与用卡方式",
    "细类覆盖率",
    "事项明细",
    "责任单位",
    "逾期事项",
    "指标定义",
]
COUNTIES = [
    CountyFacts("431124", "道县", 600),
    CountyFacts("431102", "零陵区", 300),
    CountyFacts("431103", "冷水滩区", 100),
]
ITEMS = [
    ItemFacts(1, "就业登记", "就业", UsageKind.CREDENTIAL),
    ItemFacts(2, "就业信息记录", "就业", UsageKind.RECORD),
    ItemFacts(3, "参保登记", "社会保险公共业务", UsageKind.CREDENTIAL),
    ItemFacts(88, "生育津贴领取", "生育保险待遇业务", UsageKind.MONEY),
]
PLANS = [
    ItemPlan(1, ("市人社局", "市就业局"), "2015年9月", date(2015, 9, 30)),
    ItemPlan(2, ("市就业局",), "2015年12月", date(2015, 12, 31)),
    ItemPlan(3, ("市人社局",), "2016年12月", date(2016, 12, 31)),
    ItemPlan(88, (), "2015年6月", date(2015, 6, 30)),
]


def make_report() -> EvaluationReport:
    figures = compute_figures(
        MetricInputs(
            as_of=date(2016, 6, 30),
            period_from=date(2016, 1, 1),
            period_to=date(2016, 6, 30),
            items=ITEMS,
            counties=COUNTIES,
            statuses={
                (1, "431124"): OpeningStatus.OPENED,
                (1, "431102"): OpeningStatus.OPENED,
                (3, "431100"): OpeningStatus.OPENED,
            },
            users_by_item={1: 7, 3: 2},
        )
    )
    return EvaluationReport(
        figures=figures,
        responsibilities=tuple(responsibilities(figures, PLANS)),
        county_names={c.code: c.name for c in COUNTIES},
        catalogue_version="test-1",
        generated_at=datetime(2016, 7, 1, 1, 0, tzinfo=UTC),
    )


def test_overdue_items_are_listed_once_with_all_their_units() -> None:
    report = make_report()
    overdue = report.overdue_items
    # 1: due 2015-09, open in 2 of 3 counties; 2: due 2015-12, not open; 3 not due; 88 n/a.
    assert [o.figures.item_no for o in overdue] == [1, 2]
    assert overdue[0].units == ("市人社局", "市就业局")
    assert report.summary_line == "opening_rate=66.7% overdue=2 counties=3"


def test_workbook_has_every_sheet_with_the_figures_as_numbers() -> None:
    workbook = load_workbook(io.BytesIO(render_evaluation_xlsx(make_report())))
    assert workbook.sheetnames == SHEETS
    for name in SHEETS:
        assert workbook[name].freeze_panes == "A2"

    overview = {row[0]: row[1] for row in workbook["总览"].iter_rows(values_only=True)}
    assert overview["应用目录开通率（全市）"] == pytest.approx(2 / 3)
    assert overview["已开通事项"] == 2
    assert overview["适用事项"] == 3
    assert overview["当期开通率目标"] == pytest.approx(0.6)
    assert overview["县区数"] == 3
    assert overview["逾期事项数"] == 2
    rate_cell = next(
        value
        for (label, value) in workbook["总览"].iter_rows()
        if label.value == "应用目录开通率（全市）"
    )
    assert rate_cell.number_format == "0.0%"

    counties = list(workbook["县区"].iter_rows(values_only=True))
    assert counties[0][:5] == ("县区代码", "县区", "已开通事项", "适用事项", "开通率")
    assert [r[:4] for r in counties[1:]] == [
        ("431124", "道县", 2, 3),
        ("431102", "零陵区", 2, 3),
        ("431103", "冷水滩区", 1, 3),
    ]
    assert workbook["县区"]["E2"].number_format == "0.0%"

    items = list(workbook["事项明细"].iter_rows(values_only=True))
    assert len(items) == 1 + len(ITEMS)
    first = dict(zip(items[0], items[1], strict=True))
    assert first["事项"] == "就业登记"
    assert first["已开通县区"] == "道县、零陵区"
    assert first["县区覆盖率"] == pytest.approx(2 / 3)
    assert first["人群覆盖率"] == pytest.approx(0.9)
    assert first["实际使用人数"] == 7
    assert items[4][-1] == "是"  # item 88 is not applicable

    sub = list(workbook["细类覆盖率"].iter_rows(values_only=True))
    assert sub[1][:3] == ("就业", "电子凭证", 1)
    assert sub[1][5] == "是"  # 90 % of the population ≥ 80 %

    units = {r[0]: r[1:4] for r in workbook["责任单位"].iter_rows(min_row=2, values_only=True)}
    assert units["市人社局"] == (2, 2, 1)
    assert units["市就业局"] == (2, 1, 2)

    overdue = list(workbook["逾期事项"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[3]) for r in overdue] == [
        (1, "市人社局、市就业局", "2015年9月"),
        (2, "市就业局", "2015年12月"),
    ]
    labels = [r[0] for r in workbook["指标定义"].iter_rows(min_row=2, values_only=True)]
    assert labels[: len(DEFINITIONS)] == [d.label for d in DEFINITIONS]


def test_pdf_embeds_the_cjk_font_and_carries_the_chinese_text() -> None:
    data = render_evaluation_pdf(make_report())
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    embedded: set[str] = set()
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        assert isinstance(resources, DictionaryObject)
        fonts = resources["/Font"].get_object()
        assert isinstance(fonts, DictionaryObject)
        for ref in fonts.values():
            font = ref.get_object()
            assert isinstance(font, DictionaryObject)
            descriptor = font.get("/FontDescriptor")
            if descriptor is None:
                continue
            descriptor = descriptor.get_object()
            assert isinstance(descriptor, DictionaryObject)
            if "/FontFile2" in descriptor:
                embedded.add(str(font["/BaseFont"]))
    assert embedded
    assert all(re.fullmatch(r"/[A-Z]{6}\+WenQuanYiMicroHei", name) for name in embedded)
    text = "".join(page.extract_text() for page in reader.pages)
    assert TITLE in text
    assert "逾期事项" in text
    assert "道县" in text
    assert reader.metadata is not None
    assert reader.metadata.title == TITLE


def test_the_font_covers_every_name_the_catalogue_and_regions_use() -> None:
    from reportlab.pdfbase.ttfonts import TTFontFile

    font = TTFontFile(str(ROOT / "src/socialcard/reports/fonts" / FONT_FILE))
    catalogue = json.loads((ROOT / "src/socialcard/catalog/data/catalog.json").read_text("utf-8"))
    text = json.dumps(catalogue, ensure_ascii=False)
    text += (ROOT / "src/socialcard/regions/data.py").read_text("utf-8")
    text += TITLE + "".join(d.label for d in DEFINITIONS)
    missing = {c for c in text if ord(c) >= 0x20 and ord(c) not in font.charToGlyph}
    assert not missing


def test_definitions_are_the_table_of_docs_metrics() -> None:
    rows = []
    for line in (ROOT / "docs/metrics.md").read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0] not in ("figure", "---"):
            rows.append(tuple(cells))
    assert rows == [(d.figure, d.definition, d.label, d.definition_zh) for d in DEFINITIONS]
