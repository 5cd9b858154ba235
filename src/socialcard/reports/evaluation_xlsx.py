"""The evaluation report as an XLSX workbook: numbers stay numbers (rates as 0.0 %), one header
row per sheet, frozen, with Chinese headers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from socialcard.catalog.metrics import Ratio
from socialcard.catalog.models import USAGE_KIND_LABELS
from socialcard.kernel.clock import SHANGHAI
from socialcard.reports.definitions import CONVENTIONS, DEFINITIONS
from socialcard.reports.evaluation import TITLE, EvaluationReport

PERCENT = "0.0%"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
WRAP = Alignment(wrap_text=True, vertical="top")

Cell = str | int | float | date | datetime | None


def _rate(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _sheet(
    workbook: Workbook,
    title: str,
    headers: Sequence[tuple[str, int]],
    rows: Sequence[Sequence[Cell]],
    *,
    percent_columns: Sequence[int] = (),
    wrap_columns: Sequence[int] = (),
) -> Worksheet:
    """A sheet with one bold header row (frozen) and the given column widths (in characters)."""
    sheet: Worksheet = workbook.create_sheet(title)
    sheet.append([h for h, _ in headers])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in rows:
        sheet.append(list(row))
    for index, (_, width) in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for column in percent_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = PERCENT
    for column in wrap_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.alignment = WRAP
    sheet.freeze_panes = "A2"
    return sheet


def _overview(workbook: Workbook, report: EvaluationReport) -> None:
    figures = report.figures
    city = figures.opening_rate_city
    target = figures.opening_target
    meeting = sum(1 for s in figures.subcategories if s.meets_target)
    generated = (
        report.generated_at.astimezone(SHANGHAI).replace(tzinfo=None)
        if report.generated_at is not None
        else None
    )
    rows: list[Sequence[Cell]] = [
        ("报告", TITLE),
        ("评估日期", report.as_of),
        ("统计期间起", report.period_from),
        ("统计期间止", report.period_to),
        ("应用目录开通率（全市）", _rate(city.value)),
        ("已开通事项", city.numerator),
        ("适用事项", city.denominator),
        ("当期开通率目标", _rate(target)),
        ("是否达到目标", "无目标" if target is None else _yes((city.value or 0) >= target)),
        ("县区数", report.county_count),
        ("事项总数", len(figures.items)),
        ("暂不适用事项", "、".join(str(n) for n in figures.not_applicable_items)),
        ("细类数", len(figures.subcategories)),
        ("细类平均覆盖率达标数（≥80%）", meeting),
        ("责任单位数", len(report.responsibilities)),
        ("逾期事项数", len(report.overdue_items)),
        ("目录版本", report.catalogue_version),
        ("生成时间（北京时间）", generated),
    ]
    sheet = _sheet(workbook, "总览", (("项目", 30), ("数值", 48)), rows)
    for label, value in sheet.iter_rows(min_row=2, max_col=2):
        if label.value in ("应用目录开通率（全市）", "当期开通率目标"):
            value.number_format = PERCENT
        elif isinstance(value.value, datetime):
            value.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(value.value, date):
            value.number_format = "yyyy-mm-dd"
        value.alignment = Alignment(horizontal="left")


def _counties(workbook: Workbook, report: EvaluationReport) -> None:
    target = report.figures.opening_target
    rows = [
        (
            code,
            report.county_name(code),
            ratio.numerator,
            ratio.denominator,
            _rate(ratio.value),
            "无目标" if target is None else _yes((ratio.value or 0) >= target),
        )
        for code, ratio in report.figures.opening_rate_by_county.items()
    ]
    _sheet(
        workbook,
        "县区",
        (
            ("县区代码", 10),
            ("县区", 16),
            ("已开通事项", 12),
            ("适用事项", 10),
            ("开通率", 10),
            ("达到当期目标", 14),
        ),
        rows,
        percent_columns=(5,),
    )


def _categories(workbook: Workbook, report: EvaluationReport) -> None:
    def row(dimension: str, name: str, ratio: Ratio) -> Sequence[Cell]:
        return (dimension, name, ratio.numerator, ratio.denominator, _rate(ratio.value))

    figures = report.figures
    rows = [row("分类", name, r) for name, r in figures.opening_rate_by_category.items()]
    rows += [
        row("用卡方式", USAGE_KIND_LABELS[kind], r)
        for kind, r in figures.opening_rate_by_usage_kind.items()
    ]
    _sheet(
        workbook,
        "分类与用卡方式",
        (("维度", 10), ("名称", 22), ("已开通事项", 12), ("适用事项", 10), ("开通率", 10)),
        rows,
        percent_columns=(5,),
    )


def _subcategories(workbook: Workbook, report: EvaluationReport) -> None:
    rows = [
        (
            s.category,
            USAGE_KIND_LABELS[s.usage_kind],
            s.items,
            _rate(s.mean_county_coverage),
            _rate(s.mean_population_coverage),
            _yes(s.meets_target),
        )
        for s in report.figures.subcategories
    ]
    _sheet(
        workbook,
        "细类覆盖率",
        (
            ("分类", 20),
            ("用卡方式", 16),
            ("适用事项", 10),
            ("平均县区覆盖率", 16),
            ("平均人群覆盖率", 16),
            ("达到80%", 10),
        ),
        rows,
        percent_columns=(4, 5),
    )


def _items(workbook: Workbook, report: EvaluationReport) -> None:
    rows = [
        (
            f.item_no,
            f.name,
            f.category,
            USAGE_KIND_LABELS[f.usage_kind],
            _yes(f.opened_at_city_level),
            f.county_coverage.numerator,
            "、".join(report.county_name(c) for c in f.opened_counties),
            _rate(f.county_coverage.value),
            _rate(f.population_coverage.value),
            f.users,
            _yes(not f.is_applicable),
        )
        for f in report.figures.items
    ]
    _sheet(
        workbook,
        "事项明细",
        (
            ("序号", 6),
            ("事项", 30),
            ("分类", 18),
            ("用卡方式", 14),
            ("市级开通", 10),
            ("已开通县区数", 12),
            ("已开通县区", 40),
            ("县区覆盖率", 12),
            ("人群覆盖率", 12),
            ("实际使用人数", 12),
            ("暂不适用", 10),
        ),
        rows,
        percent_columns=(8, 9),
        wrap_columns=(7,),
    )


def _units(workbook: Workbook, report: EvaluationReport) -> None:
    rows = [
        (
            unit.unit,
            len(unit.items),
            sum(1 for i in unit.items if i.figures.is_opened_anywhere),
            len(unit.overdue),
            "、".join(str(i.figures.item_no) for i in unit.overdue),
        )
        for unit in report.responsibilities
    ]
    _sheet(
        workbook,
        "责任单位",
        (
            ("责任单位", 28),
            ("负责事项", 10),
            ("已开通事项", 12),
            ("逾期事项", 10),
            ("逾期事项序号", 40),
        ),
        rows,
        wrap_columns=(5,),
    )


def _overdue(workbook: Workbook, report: EvaluationReport) -> None:
    rows = [
        (
            o.figures.item_no,
            o.figures.name,
            "、".join(o.units),
            o.plan.planned_completion,
            o.plan.due_on,
            o.figures.county_coverage.numerator,
            _rate(o.figures.county_coverage.value),
            _rate(o.figures.population_coverage.value),
        )
        for o in report.overdue_items
    ]
    sheet = _sheet(
        workbook,
        "逾期事项",
        (
            ("序号", 6),
            ("事项", 30),
            ("责任单位", 36),
            ("计划完成时间", 16),
            ("截止日期", 12),
            ("已开通县区数", 12),
            ("县区覆盖率", 12),
            ("人群覆盖率", 12),
        ),
        rows,
        percent_columns=(7, 8),
        wrap_columns=(3,),
    )
    for (cell,) in sheet.iter_rows(min_row=2, min_col=5, max_col=5):
        cell.number_format = "yyyy-mm-dd"


def _definitions(workbook: Workbook) -> None:
    rows: list[Sequence[Cell]] = [
        (d.label, d.definition_zh, d.figure, d.definition) for d in DEFINITIONS
    ]
    rows += [("说明", text, None, None) for text in CONVENTIONS]
    _sheet(
        workbook,
        "指标定义",
        (("指标", 24), ("定义", 60), ("figure", 30), ("definition", 60)),
        rows,
        wrap_columns=(1, 2, 3, 4),
    )


def render(report: EvaluationReport) -> bytes:
    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    _overview(workbook, report)
    _counties(workbook, report)
    _categories(workbook, report)
    _subcategories(workbook, report)
    _items(workbook, report)
    _units(workbook, report)
    _overdue(workbook, report)
    _definitions(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
