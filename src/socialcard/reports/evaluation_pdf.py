"""The evaluation report as an A4 PDF in Chinese (reportlab).

The text is set in WenQuanYi Micro Hei, shipped with the package (fonts/, a GB2312 subset,
Apache-2.0) and embedded in every PDF, so the file reads the same in any viewer on any machine.
The bar chart is drawn with reportlab's own shapes; nothing is fetched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Final
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from socialcard.catalog.models import USAGE_KIND_LABELS
from socialcard.kernel.clock import SHANGHAI
from socialcard.reports.definitions import CONVENTIONS, DEFINITIONS
from socialcard.reports.evaluation import TITLE, EvaluationReport

FONT_NAME: Final = "WenQuanYiMicroHei"
FONT_FILE: Final = "wqy-microhei-cjk.ttf"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN

GREEN = colors.HexColor("#2e7d32")
AMBER = colors.HexColor("#f9a825")
RED = colors.HexColor("#c62828")
GRID = colors.HexColor("#9e9e9e")
HEAD = colors.HexColor("#ddebf7")


def register_font() -> str:
    """Register the packaged CJK font with reportlab once; returns its name."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        source = resources.files("socialcard.reports").joinpath("fonts", FONT_FILE)
        with resources.as_file(source) as path:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
    return FONT_NAME


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "body",
        fontName=FONT_NAME,
        bulletFontName=FONT_NAME,
        fontSize=9.5,
        leading=14,
        wordWrap="CJK",
    )
    return {
        "title": ParagraphStyle(
            "title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=4
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, alignment=TA_CENTER, textColor=colors.HexColor("#555555")
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=12.5, leading=18, spaceBefore=10, spaceAfter=4
        ),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10.5),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=11.5),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else _decimal_percent(value)


def _decimal_percent(value: Decimal) -> str:
    """Same rounding as Ratio.percent: one decimal, half up."""
    return f"{(value * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _colour(value: Decimal | None, target: Decimal | None) -> colors.Color:
    """Green at or above the target, amber within 10 points below it, red further below."""
    if target is None:
        return colors.HexColor("#1565c0")
    current = value or Decimal(0)
    if current >= target:
        return GREEN
    if current >= target - Decimal("0.10"):
        return AMBER
    return RED


def _table(
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    styles: dict[str, ParagraphStyle],
    *,
    right_columns: Sequence[int] = (),
) -> Table:
    cell = styles["cell"]
    right = ParagraphStyle("cell-right", parent=cell, alignment=2)
    data = [
        [
            value
            if isinstance(value, Flowable)
            else _p(value, right if c in right_columns else cell)
            for c, value in enumerate(row)
        ]
        for row in rows
    ]
    table = Table(data, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _county_chart(report: EvaluationReport) -> Drawing:
    """Horizontal bars: the opening rate of each county, with the target in force as a line."""
    rates = list(report.figures.opening_rate_by_county.items())
    target = report.figures.opening_target
    label_width, bar_left_pad, row_height = 30 * mm, 2 * mm, 6.5 * mm
    top_pad, bottom_pad = 6 * mm, 9 * mm
    height = top_pad + bottom_pad + row_height * max(len(rates), 1)
    drawing = Drawing(FRAME_WIDTH, height, initialFontName=FONT_NAME, initialFontSize=8)
    x0 = label_width + bar_left_pad
    span = FRAME_WIDTH - x0 - 16 * mm

    def x_at(fraction: float) -> float:
        return x0 + span * fraction

    for tick in range(0, 101, 20):
        x = x_at(tick / 100)
        drawing.add(Line(x, bottom_pad, x, height - top_pad, strokeColor=colors.lightgrey))
        drawing.add(
            String(
                x,
                bottom_pad - 4 * mm,
                f"{tick}%",
                fontName=FONT_NAME,
                fontSize=7,
                textAnchor="middle",
            )
        )
    for index, (code, ratio) in enumerate(rates):
        y = height - top_pad - (index + 1) * row_height
        value = ratio.value
        width = span * float(value or 0)
        drawing.add(
            String(
                label_width,
                y + 1.8 * mm,
                report.county_name(code),
                fontName=FONT_NAME,
                fontSize=8,
                textAnchor="end",
            )
        )
        bar = Rect(x0, y + 0.8 * mm, max(width, 0.01), row_height - 1.6 * mm)
        bar.fillColor = _colour(value, target)
        bar.strokeColor = None
        drawing.add(bar)
        drawing.add(
            String(
                x0 + width + 1.5 * mm,
                y + 1.8 * mm,
                f"{ratio.percent}（{ratio.numerator}/{ratio.denominator}）",
                fontName=FONT_NAME,
                fontSize=7,
            )
        )
    if target is not None:
        x = x_at(float(target))
        drawing.add(
            Line(
                x,
                bottom_pad,
                x,
                height - top_pad + 1 * mm,
                strokeColor=colors.black,
                strokeDashArray=[3, 2],
                strokeWidth=0.8,
            )
        )
        drawing.add(
            String(
                x,
                height - top_pad + 2 * mm,
                f"当期目标 {_decimal_percent(target)}",
                fontName=FONT_NAME,
                fontSize=7,
                textAnchor="middle",
            )
        )
    return drawing


def _headline(report: EvaluationReport, styles: dict[str, ParagraphStyle]) -> Table:
    figures = report.figures
    city = figures.opening_rate_city
    target = figures.opening_target
    verdict = (
        "（评估日期前无开通率目标）"
        if target is None
        else ("达到" if (city.value or 0) >= target else "未达到") + "当期目标"
    )
    meeting = sum(1 for s in figures.subcategories if s.meets_target)
    rows = [
        ("指标", "数值"),
        ("应用目录开通率（全市）", f"{city.percent}（{city.numerator}/{city.denominator}）"),
        ("当期开通率目标", "—" if target is None else f"{_decimal_percent(target)}，{verdict}"),
        ("县区数", str(report.county_count)),
        (
            "暂不适用事项（不计入开通率）",
            "、".join(f"第{n}项" for n in figures.not_applicable_items) or "无",
        ),
        (
            "细类平均覆盖率达到80%",
            f"{meeting}/{len(figures.subcategories)} 个细类",
        ),
        ("逾期事项", f"{len(report.overdue_items)} 项"),
    ]
    return _table(rows, (60 * mm, FRAME_WIDTH - 60 * mm), styles)


def _story(report: EvaluationReport) -> list[Flowable]:
    styles = _styles()
    figures = report.figures
    generated = (
        report.generated_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        if report.generated_at is not None
        else None
    )
    subtitle = (
        f"评估日期：{_date(report.as_of)}　统计期间：{_date(report.period_from)} 至 "
        f"{_date(report.period_to)}"
    )
    facts = "依据：永政办发〔2015〕26号 实施步骤三、五"
    if report.catalogue_version:
        facts += f"　目录版本：{report.catalogue_version}"
    if generated:
        facts += f"　生成时间：{generated}"
    story: list[Flowable] = [
        _p(TITLE, styles["title"]),
        _p(subtitle, styles["subtitle"]),
        _p(facts, styles["subtitle"]),
        Spacer(1, 6 * mm),
        _p("一、主要指标", styles["h2"]),
        _headline(report, styles),
        _p("二、各县区应用目录开通率", styles["h2"]),
        _county_chart(report),
        _p(
            "绿色：达到当期目标；黄色：低于目标不超过10个百分点；红色：低于目标10个百分点以上。",
            styles["note"],
        ),
        _p("三、细类平均覆盖率（目标：不低于80%）", styles["h2"]),
    ]
    sub_rows: list[Sequence[object]] = [
        ("分类", "用卡方式", "事项", "平均县区覆盖率", "平均人群覆盖率", "达到80%")
    ]
    sub_rows += [
        (
            s.category,
            USAGE_KIND_LABELS[s.usage_kind],
            s.items,
            _pct(s.mean_county_coverage),
            _pct(s.mean_population_coverage),
            "是" if s.meets_target else "否",
        )
        for s in figures.subcategories
    ]
    story.append(
        _table(
            sub_rows,
            (38 * mm, 30 * mm, 14 * mm, 30 * mm, 30 * mm, FRAME_WIDTH - 142 * mm),
            styles,
            right_columns=(2, 3, 4),
        )
    )
    story.append(_p("四、责任单位落实情况", styles["h2"]))
    unit_rows: list[Sequence[object]] = [
        ("责任单位", "负责事项", "已开通", "逾期", "逾期事项（序号）")
    ]
    unit_rows += [
        (
            u.unit,
            len(u.items),
            sum(1 for i in u.items if i.figures.is_opened_anywhere),
            len(u.overdue),
            "、".join(str(i.figures.item_no) for i in u.overdue) or "—",
        )
        for u in report.responsibilities
    ]
    story.append(
        _table(
            unit_rows,
            (42 * mm, 16 * mm, 14 * mm, 12 * mm, FRAME_WIDTH - 84 * mm),
            styles,
            right_columns=(1, 2, 3),
        )
    )
    story.append(_p(f"五、逾期事项（{len(report.overdue_items)} 项）", styles["h2"]))
    if report.overdue_items:
        overdue_rows: list[Sequence[object]] = [
            ("序号", "事项", "责任单位", "计划完成", "县区覆盖率", "人群覆盖率")
        ]
        overdue_rows += [
            (
                o.figures.item_no,
                o.figures.name,
                "、".join(o.units),
                o.plan.planned_completion,
                f"{o.figures.county_coverage.percent}（{o.figures.county_coverage.numerator}/"
                f"{o.figures.county_coverage.denominator}）",
                o.figures.population_coverage.percent,
            )
            for o in report.overdue_items
        ]
        story.append(
            _table(
                overdue_rows,
                (12 * mm, 42 * mm, 40 * mm, 24 * mm, 28 * mm, FRAME_WIDTH - 146 * mm),
                styles,
                right_columns=(0, 4, 5),
            )
        )
    else:
        story.append(_p("评估日期无逾期事项。", styles["body"]))
    definition_rows: list[Sequence[object]] = [("指标", "定义")]
    definition_rows += [(d.label, d.definition_zh) for d in DEFINITIONS]
    story.append(
        KeepTogether(
            [
                _p("六、指标定义", styles["h2"]),
                _table(definition_rows, (42 * mm, FRAME_WIDTH - 42 * mm), styles),
            ]
        )
    )
    story.append(Spacer(1, 3 * mm))
    story.extend(_p(f"· {text}", styles["note"]) for text in CONVENTIONS)
    return story


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def render(report: EvaluationReport) -> bytes:
    register_font()
    buffer = io.BytesIO()

    def footer(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT_NAME, 8)
        canvas.drawCentredString(PAGE_WIDTH / 2, 10 * mm, f"{TITLE}　第 {document.page} 页")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=TITLE,
        author="永州市社会保障卡（市民卡）综合应用平台",
        subject=f"评估日期 {report.as_of.isoformat()}",
        initialFontName=FONT_NAME,
        initialFontSize=9.5,
        initialLeading=14,
    )
    document.build(_story(report), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
