"""The social insurance documents on paper: the contribution certificate (参保缴费凭证, item 27),
the personal rights statement (个人权益记录单, item 28) and the transfer certificate (基本养老保险
参保缴费凭证（关系转移）, item 24), each an A4 PDF in Chinese with the packaged CJK font embedded
(the same registration as the evaluation report).

Every figure printed comes from the document's stored `figures`, computed once by
`socialcard.insurance.documents` when the document was issued: the paper, the verification page
and the digest cannot disagree, and a document printed again years later reads the same. The
only things added on paper are the holder's full name (the figures keep it masked), the issuer
and the verification address; every page carries the verification code and its page number.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
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

from socialcard.insurance.documents import TITLES, format_code
from socialcard.insurance.errors import MONTH_STATUS_LABELS
from socialcard.insurance.models import CITY_REGION, DocumentKind, InsuranceDocument, MonthStatus
from socialcard.insurance.rules import period_label
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SCHEMES, SchemeCode
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.money import Money
from socialcard.regions.data import REGIONS
from socialcard.reports.evaluation_pdf import FONT_NAME, GRID, HEAD, register_font

DEFAULT_ISSUER: Final = "永州市社会保险经办机构"
AUTHOR: Final = "永州市社会保障卡（市民卡）综合应用平台"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN: Final = 18 * mm
BOTTOM_MARGIN: Final = 24 * mm  # room for the two footer lines
FRAME_WIDTH: Final = PAGE_WIDTH - 2 * MARGIN

GREY: Final = colors.HexColor("#555555")
LABEL: Final = colors.HexColor("#f2f5f9")
BAND: Final = colors.HexColor("#f6f8fb")  # every other year of the months table
ARREARS: Final = colors.HexColor("#c62828")

REGION_NAMES: Final = {r.code: r.name for r in REGIONS}
DIRECTION_LABELS: Final = {"out": "转出", "in": "转入"}
TRANSFERABLE_SHOWN: Final = (
    SchemeCode.PENSION_EMPLOYEE,
    SchemeCode.MEDICAL_EMPLOYEE,
    SchemeCode.UNEMPLOYMENT,
)
SECTION_NUMBERS: Final = "一二三四五六七八九十"
SCHEME_ORDER: Final = {s.name: n for n, s in enumerate(SCHEMES.values())}  # the figures keep names


@dataclass(frozen=True, slots=True)
class _Paper:
    """What is printed around the figures: who holds it, who issued it, where to check it."""

    document_no: str
    title: str
    holder_name: str
    issuer: str
    verification: str  # "验证码 ABCD-EFGH-JKLM（可在 … 查验）"


# -- formatting -----------------------------------------------------------------------------------


def _yuan(minor: int) -> str:
    """1,234.56: yuan in a column headed （元）."""
    return Money(minor).format_yuan().replace("¥", "")


def _amount(minor: int) -> str:
    """1,234.56 元: yuan in a sentence or a label/value cell."""
    return f"{_yuan(minor)} 元"


def _signed_amount(minor: int) -> str:
    """+1,234.56 元 for a transfer in, -1,234.56 元 out, 0.00 元 when nothing moved."""
    return ("+" if minor > 0 else "") + _amount(minor)


def _rate(rate_bp: int) -> str:
    return f"{rate_bp // 100}.{rate_bp % 100:02d}%"


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _iso_day(text: str) -> str:
    return _day(date.fromisoformat(text))


def _issued(at: datetime) -> str:
    local = at.astimezone(SHANGHAI)
    return f"{_day(local.date())} {local:%H:%M}"


def _months(count: int) -> str:
    return f"{count} 个月"


def _region(name: str | None, code: str) -> str:
    """广东省深圳市（440300）; the code alone when no name is known."""
    name = name or REGION_NAMES.get(code)
    return code if not name or name == code else f"{name}（{code}）"


# -- styles and tables ----------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT_NAME, fontSize=9.5, leading=14, wordWrap="CJK")
    return {
        "title": ParagraphStyle(
            "title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=2
        ),
        "issuer": ParagraphStyle(
            "issuer", parent=base, alignment=TA_CENTER, textColor=GREY, spaceAfter=4
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=11.5, leading=16, spaceBefore=7, spaceAfter=3
        ),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "cell-right": ParagraphStyle(
            "cell-right", parent=base, fontSize=8.5, leading=10.5, alignment=TA_RIGHT
        ),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=11.5, textColor=GREY),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


class _Headings:
    """Section headings numbered 一、二、… in the order they are printed (a section without
    figures is left out, and the numbers close up)."""

    def __init__(self, style: ParagraphStyle) -> None:
        self._style = style
        self._printed = 0

    def __call__(self, text: str) -> Paragraph:
        self._printed += 1
        return _p(f"{SECTION_NUMBERS[self._printed - 1]}、{text}", self._style)


def _grid(table: Table, extra: Sequence[tuple[Any, ...]] = ()) -> Table:
    table.setStyle(
        TableStyle(
            [
                # Also for paragraph cells: reportlab sets each cell's font, Helvetica by default.
                ("FONT", (0, 0), (-1, -1), FONT_NAME, 8.5),
                ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                *extra,
            ]
        )
    )
    return table


def _table(
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    styles: dict[str, ParagraphStyle],
    *,
    right_columns: Sequence[int] = (),
) -> Table:
    """A table with a shaded header row, repeated on every page it runs over."""
    data = [
        [
            value
            if isinstance(value, Flowable)
            else _p(value, styles["cell-right" if r and c in right_columns else "cell"])
            for c, value in enumerate(row)
        ]
        for r, row in enumerate(rows)
    ]
    return _grid(
        Table(data, colWidths=list(widths), repeatRows=1), [("BACKGROUND", (0, 0), (-1, 0), HEAD)]
    )


def _facts(
    pairs: Sequence[tuple[str, str]], styles: dict[str, ParagraphStyle], *, columns: int = 2
) -> Table:
    """Label/value pairs, `columns` pairs a row, the labels shaded."""
    label_width = 30 * mm if columns == 2 else 52 * mm
    value_width = FRAME_WIDTH / columns - label_width
    rows: list[list[Flowable | str]] = []
    style: list[tuple[Any, ...]] = []
    for start in range(0, len(pairs), columns):
        row: list[Flowable | str] = []
        for label, value in pairs[start : start + columns]:
            style.append(("BACKGROUND", (len(row), len(rows)), (len(row), len(rows)), LABEL))
            row += [_p(label, styles["cell"]), _p(value, styles["cell"])]
        if len(row) < 2 * columns:  # the last value runs to the edge
            style.append(("SPAN", (len(row) - 1, len(rows)), (-1, len(rows))))
            row += [""] * (2 * columns - len(row))
        rows.append(row)
    table = Table(rows, colWidths=[label_width, value_width] * columns)
    return _grid(table, style)


def _empty(text: str, styles: dict[str, ParagraphStyle]) -> Paragraph:
    return _p(text, styles["body"])


def _notes(lines: Sequence[str], styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    return [Spacer(1, 4 * mm), _p("说明：", styles["note"])] + [
        _p(f"{n}. {line}", styles["note"]) for n, line in enumerate(lines, start=1)
    ]


# -- parts shared by the documents ----------------------------------------------------------------


def _header(
    document: InsuranceDocument,
    figures: dict[str, Any],
    paper: _Paper,
    styles: dict[str, ParagraphStyle],
    extra: Sequence[tuple[str, str]],
) -> list[Flowable]:
    pairs = [
        ("凭证编号", document.document_no),
        ("出具时间", _issued(document.issued_at)),
        ("姓名", paper.holder_name),
        ("社会保障号码", str(figures["person"]["resident_id"])),
        *extra,
    ]
    return [
        _p(paper.title, styles["title"]),
        _p(paper.issuer, styles["issuer"]),
        _facts(pairs, styles),
    ]


def _enrolments(figures: dict[str, Any], styles: dict[str, ParagraphStyle]) -> Flowable:
    lines = figures["enrolments"]
    if not lines:
        return _empty("无参保记录。", styles)
    rows: list[Sequence[object]] = [("险种", "身份", "状态", "参保日期", "单位")]
    rows += [
        (
            e["scheme"],
            e["kind"],
            e["status"],
            e["started_on"] + (f" 至 {e['ended_on']}" if e["ended_on"] else ""),
            e["employer"] or "—",
        )
        for e in sorted(lines, key=lambda e: SCHEME_ORDER.get(e["scheme"], len(SCHEME_ORDER)))
    ]
    return _table(rows, (42 * mm, 20 * mm, 20 * mm, 40 * mm, FRAME_WIDTH - 122 * mm), styles)


def _resident(lines: list[dict[str, Any]], styles: dict[str, ParagraphStyle]) -> Flowable:
    rows: list[Sequence[object]] = [("险种", "年度", "个人缴费（元）", "政府补贴（元）", "状态")]
    rows += [
        (r["scheme"], f"{r['year']}年", _yuan(r["amount"]), _yuan(r["subsidy"]), r["status"])
        for r in lines
    ]
    return _table(
        rows,
        (54 * mm, 22 * mm, 36 * mm, 36 * mm, FRAME_WIDTH - 148 * mm),
        styles,
        right_columns=(2, 3),
    )


# -- the contribution certificate (参保缴费凭证) --------------------------------------------

_MONTH_WIDTHS: Final = tuple(
    w * mm for w in (17, 15, 13, 12.5, 12.5, 11, 10.5, 10.5, 10.5, 10.5, 11)
)


def _month_table(lines: list[dict[str, Any]]) -> Table:
    """Every month, oldest first, each scheme's employer and individual parts; every other
    year shaded so the years read apart. Plain strings, not paragraphs: 120 rows and more."""
    header = [
        ["所属期", "缴费基数", "养老保险", "", "医疗保险", "", "失业保险", "", "工伤", "生育",
         "状态", "来源/地区"],
        ["", "", "单位", "个人", "单位", "个人", "单位", "个人", "单位", "单位", "", ""],
    ]  # fmt: skip
    body: list[list[str]] = []
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT_NAME, 7, 9),
        ("FONT", (0, 0), (-1, 1), FONT_NAME, 7.5, 9.5),
        ("BACKGROUND", (0, 0), (-1, 1), HEAD),
        ("ALIGN", (0, 0), (-1, 1), "CENTER"),
        ("ALIGN", (1, 2), (9, -1), "RIGHT"),
        ("ALIGN", (10, 2), (10, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        *(("SPAN", (c, 0), (c, 1)) for c in (0, 1, 10, 11)),
        *(("SPAN", (c, 0), (c + 1, 0)) for c in (2, 4, 6)),
    ]
    year_started = None
    shaded = False
    for row_number, m in enumerate(lines, start=len(header)):
        year = m["period"] // 100
        if year != year_started:
            if year_started is not None:
                shaded = not shaded
                style.append(("LINEABOVE", (0, row_number), (-1, row_number), 0.9, GREY))
            year_started = year
        if shaded:
            style.append(("BACKGROUND", (0, row_number), (-1, row_number), BAND))
        if m["status"] == MONTH_STATUS_LABELS[MonthStatus.DUE.value]:
            style.append(("TEXTCOLOR", (10, row_number), (10, row_number), ARREARS))
        source = m["source"]
        if m["region"] != CITY_REGION:
            source += f" {_region(None, m['region'])}"
        body.append(
            [
                period_label(m["period"]),
                _yuan(m["base"]),
                _yuan(m["pension"][0]),
                _yuan(m["pension"][1]),
                _yuan(m["medical"][0]),
                _yuan(m["medical"][1]),
                _yuan(m["unemployment"][0]),
                _yuan(m["unemployment"][1]),
                _yuan(m["work_injury"]),
                _yuan(m["maternity"]),
                m["status"],
                source,
            ]
        )
    widths = [*_MONTH_WIDTHS, FRAME_WIDTH - sum(_MONTH_WIDTHS)]
    table = Table(header + body, colWidths=widths, repeatRows=2)
    return _grid(table, style)


def _certificate(figures: dict[str, Any], styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    heading = _Headings(styles["h2"])
    counted = figures["months_counted"]
    story: list[Flowable] = [heading("参保情况"), _enrolments(figures, styles)]
    if not figures["months"] and not any(counted.values()):
        story += [heading("职工社会保险缴费"), _empty("查询期间无职工社会保险缴费记录。", styles)]
    else:
        story += [
            heading("缴费月数"),
            _table(
                [("险种", f"{figures['first_year']}年至{figures['last_year']}年缴费月数")]
                + [(SCHEMES[s].name, _months(counted.get(s.value, 0))) for s in EMPLOYEE_SCHEMES],
                (70 * mm, FRAME_WIDTH - 70 * mm),
                styles,
            ),
            heading("逐月缴费明细（金额单位：元）"),
            _month_table(figures["months"]),
            KeepTogether(
                [
                    heading("合计"),
                    _facts(
                        [
                            ("个人缴费合计", _amount(figures["individual_total"])),
                            ("单位缴费合计", _amount(figures["employer_total"])),
                            ("欠费月数", _months(figures["due_months"])),
                            ("数据截至", _iso_day(figures["as_of"])),
                        ],
                        styles,
                    ),
                ]
            ),
        ]
    if figures["resident"]:
        story += [heading("城乡居民社会保险缴费"), _resident(figures["resident"], styles)]
    story += _notes(
        [
            "缴费月数和合计含已缴费及已转出的月份，不含欠费月份；单位缴费合计含工伤、生育保险。",
            "“来源/地区”注明在永州市以外缴费的地区代码；已转出的月份已随社会保险关系转移至转入地。",
            "本凭证所列信息以出具时社会保险经办机构的记录为准，可凭页脚验证码查验真伪。",
        ],
        styles,
    )
    return story


# -- the rights statement (个人权益记录单) -----------------------------------------------


def _pension_accounts(
    accounts: list[dict[str, Any]], styles: dict[str, ParagraphStyle], as_of: str
) -> Table:
    """One column per pension account (usually one): the year as settled, or so far."""

    def closing(a: dict[str, Any]) -> str:
        return _amount(a["closing"]) if a["settled"] else "本年度尚未结息"

    rows: list[Sequence[object]] = [
        ("项目", *(a["scheme"] for a in accounts)),
        ("上年末余额", *(_amount(a["opening"]) for a in accounts)),
        ("本年记账额", *(_amount(a["credited"]) for a in accounts)),
        ("本年利息", *(_amount(a["interest"]) if a["settled"] else "—" for a in accounts)),
        ("本年转入（+）/转出（-）", *(_signed_amount(a["transferred"]) for a in accounts)),
        ("本年末余额", *(closing(a) for a in accounts)),
        ("记账利率", *(_rate(a["rate_bp"]) if a["settled"] else "—" for a in accounts)),
        (f"当前余额（{_iso_day(as_of)}）", *(_amount(a["balance_now"]) for a in accounts)),
    ]
    label = 62 * mm
    value = min((FRAME_WIDTH - label) / len(accounts), 56 * mm)
    table = _table(
        rows,
        (label, *(value for _a in accounts)),
        styles,
        right_columns=range(1, len(accounts) + 1),
    )
    table.hAlign = "LEFT"
    return table


def _rights_statement(figures: dict[str, Any], styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    heading = _Headings(styles["h2"])
    year = figures["year"]
    as_of = figures["as_of"]
    # Scheme order from the code: JSONB (PostgreSQL) keeps an object's keys in its own order.
    schemes = [
        figures["schemes"][s.value] for s in EMPLOYEE_SCHEMES if s.value in figures["schemes"]
    ]
    story: list[Flowable] = [heading("参保情况"), _enrolments(figures, styles)]
    if any(s["months_total"] for s in schemes) or figures["year_due_months"]:
        until = _iso_day(as_of) if date.fromisoformat(as_of).year == year else f"{year}年末"
        months_rows: list[Sequence[object]] = [
            ("险种", "累计缴费月数", "其中在外地缴费", f"{year}年缴费月数")
        ]
        months_rows += [
            (s["name"], _months(s["months_total"]), _months(s["months_elsewhere"]),
             _months(s["months_year"]))
            for s in schemes
        ]  # fmt: skip
        story += [
            heading(f"缴费月数（截至{until}）"),
            _table(
                months_rows,
                (58 * mm, 38 * mm, 39 * mm, FRAME_WIDTH - 135 * mm),
                styles,
                right_columns=(1, 2, 3),
            ),
            heading(f"{year}年度缴费"),
            _facts(
                [
                    ("月平均缴费基数", _amount(figures["year_base_average"])),
                    ("欠费月数", _months(figures["year_due_months"])),
                    ("个人缴费", _amount(figures["year_individual"])),
                    ("单位缴费", _amount(figures["year_employer"])),
                ],
                styles,
            ),
        ]
    else:
        story += [heading("职工社会保险缴费"), _empty("无职工社会保险缴费记录。", styles)]
    accounts = figures["pension_accounts"]
    story += [
        heading(f"养老保险个人账户（{year}年度）"),
        _pension_accounts(accounts, styles, as_of)
        if accounts
        else _empty("未建立养老保险个人账户。", styles),
    ]
    medical = figures["medical_account"]
    story += [
        heading("职工基本医疗保险个人账户"),
        _facts(
            [
                (f"{year}年划入", _amount(medical["credited_year"])),
                (f"{year}年结转、转入转出", _amount(medical.get("carried_year", 0))),
                (f"{year}年支出", _amount(medical["spent_year"])),
                ("当前余额", f"{_amount(medical['balance_now'])}（{_iso_day(as_of)}）"),
            ],
            styles,
        )
        if medical
        else _empty("未建立职工基本医疗保险个人账户。", styles),
    ]
    if figures["resident"]:
        story += [
            heading(f"{year}年度城乡居民社会保险缴费"),
            _resident(figures["resident"], styles),
        ]
    transfers = figures["transfers"]
    story.append(heading("社会保险关系转移"))
    if transfers:
        transfer_rows: list[Sequence[object]] = [
            ("转移编号", "类型", "对方地区", "转移月数", "办理日期")
        ]
        transfer_rows += [
            (t["no"], DIRECTION_LABELS.get(t["direction"], t["direction"]), t["region"],
             _months(t["months"]), t["on"])
            for t in transfers
        ]  # fmt: skip
        story.append(
            _table(
                transfer_rows,
                (40 * mm, 16 * mm, FRAME_WIDTH - 110 * mm, 24 * mm, 30 * mm),
                styles,
                right_columns=(3,),
            )
        )
    else:
        story.append(_empty("无。", styles))
    story += _notes(
        [
            "缴费月数含已缴费及已转出的月份，不含欠费月份；“在外地缴费”为在永州市以外缴费后转入的月份。",
            "养老保险个人账户在年度结束后结息；未结息的年度只列当年已记账额，当前余额为出具时的余额。",
            "本记录单所列信息以出具时社会保险经办机构的记录为准，可凭页脚验证码查验真伪。",
        ],
        styles,
    )
    return story


# -- the transfer certificate (参保缴费凭证（关系转移）) ----------------------------


YEAR_WIDTHS: Final = (
    *(w * mm for w in (18, 18, 18, 18, 28, 24, 24)),
    FRAME_WIDTH - 148 * mm,
)


def _transfer_certificate(
    figures: dict[str, Any], styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    heading = _Headings(styles["h2"])
    direction = figures["direction"]
    here = _region(None, CITY_REGION)
    there = _region(figures["region_name"], figures["region_code"])
    source, target = (here, there) if direction == "out" else (there, here)
    first, last = figures["first_period"], figures["last_period"]
    period = f"{period_label(first)} 至 {period_label(last)}" if first and last else "—"
    schemes = sorted(figures["schemes"], key=lambda s: SCHEME_ORDER.get(s, len(SCHEME_ORDER)))
    story: list[Flowable] = [
        heading("转移情况"),
        _facts(
            [
                ("转移类型", DIRECTION_LABELS.get(direction, direction)),
                ("转出地", source),
                ("转入地", target),
                ("转移险种", "、".join(schemes) or "—"),
                ("缴费期间", period),
                ("缴费月数", _months(figures["months"])),
                ("养老保险个人账户转移额", _amount(figures["pension_account"])),
                ("医疗保险个人账户转移额", _amount(figures["medical_account"])),
            ],
            styles,
            columns=1,
        ),
        heading("分年度缴费情况（金额单位：元）"),
    ]
    years = figures["years"]
    if years:
        rows: list[Sequence[object]] = [
            ("年度", "养老月数", "医疗月数", "失业月数", "月平均缴费基数", "个人缴费",
             "单位缴费", "其中外地月数"),
        ]  # fmt: skip
        rows += [
            (
                f"{y['year']}年",
                *(str(y["months"].get(s.value, 0)) for s in TRANSFERABLE_SHOWN),
                _yuan(y["average_base"]),
                _yuan(y["individual"]),
                _yuan(y["employer"]),
                str(y["elsewhere_months"]),
            )
            for y in years
        ]
        story.append(
            _table(
                rows,
                YEAR_WIDTHS,
                styles,
                right_columns=range(1, 8),
            )
        )
    else:
        story.append(_empty("本次转移无缴费月份。", styles))
    story += _notes(
        [
            "本凭证随社会保险关系转移出具，供转入地社会保险经办机构核对；转移数据文件另行传递。",
            "月数按险种分列；单位缴费含工伤、生育保险；“其中外地月数”为在永州市以外缴费的月数。",
            f"办理日期：{_iso_day(figures['as_of'])}。本凭证所列信息可凭页脚验证码查验真伪。",
        ],
        styles,
    )
    return story


# -- the entry point ------------------------------------------------------------------------------

_BODIES: Final[
    dict[DocumentKind, Callable[[dict[str, Any], dict[str, ParagraphStyle]], list[Flowable]]]
] = {
    DocumentKind.CONTRIBUTION_CERTIFICATE: _certificate,
    DocumentKind.RIGHTS_STATEMENT: _rights_statement,
    DocumentKind.TRANSFER_CERTIFICATE: _transfer_certificate,
}


def _header_facts(kind: DocumentKind, figures: dict[str, Any]) -> list[tuple[str, str]]:
    if kind is DocumentKind.CONTRIBUTION_CERTIFICATE:
        years = f"{figures['first_year']}年至{figures['last_year']}年"
        return [("查询期间", years), ("数据截至", _iso_day(figures["as_of"]))]
    if kind is DocumentKind.RIGHTS_STATEMENT:
        return [("记录年度", f"{figures['year']}年"), ("数据截至", _iso_day(figures["as_of"]))]
    return [("转移编号", figures["transfer_no"]), ("办理日期", _iso_day(figures["as_of"]))]


def _canvas_maker(paper: _Paper) -> Callable[..., Canvas]:
    """A canvas that holds its pages until the end, so each footer can say 第 x 页 / 共 y 页."""

    class _PagedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            # Keep the page, start a fresh one: reportlab's own recipe for "page x of y".
            self._held.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            total = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                _decorate(self, paper, total)
                super().showPage()
            super().save()

    return _PagedCanvas


def _fitted(canvas: Canvas, text: str, size: float, width: float) -> None:
    """Set the font at `size`, smaller if `text` would not fit in `width` (a long address)."""
    while size > 5 and stringWidth(text, FONT_NAME, size) > width:
        size -= 0.25
    canvas.setFont(FONT_NAME, size)


def _decorate(canvas: Canvas, paper: _Paper, total: int) -> None:
    page = canvas.getPageNumber()
    right = PAGE_WIDTH - MARGIN
    canvas.saveState()
    canvas.setFillColor(GREY)
    canvas.setStrokeColor(GRID)
    if page > 1:
        running = f"{paper.title}　{paper.document_no}　{paper.holder_name}（续）"
        canvas.setFont(FONT_NAME, 8)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 12 * mm, running)
        canvas.line(MARGIN, PAGE_HEIGHT - 13.5 * mm, right, PAGE_HEIGHT - 13.5 * mm)
    canvas.line(MARGIN, 18 * mm, right, 18 * mm)
    pages = f"第 {page} 页 / 共 {total} 页"
    canvas.setFont(FONT_NAME, 8)
    canvas.drawRightString(right, 13 * mm, pages)
    canvas.drawRightString(right, 8.5 * mm, f"凭证编号 {paper.document_no}")
    canvas.setFillColor(colors.black)
    _fitted(canvas, paper.verification, 8.5, FRAME_WIDTH - stringWidth(pages, FONT_NAME, 8) - 6)
    canvas.drawString(MARGIN, 13 * mm, paper.verification)
    canvas.setFillColor(GREY)
    canvas.setFont(FONT_NAME, 8)
    canvas.drawString(MARGIN, 8.5 * mm, f"出具机构：{paper.issuer}")
    canvas.restoreState()


def render_insurance_document(
    document: InsuranceDocument,
    *,
    holder_name: str,
    issuer: str = DEFAULT_ISSUER,
    verify_url: str,
) -> bytes:
    """The PDF bytes of an issued document, from its stored figures. The holder's full name is
    printed (the paper is handed to the holder); the ID number stays masked as stored."""
    register_font()
    figures: dict[str, Any] = dict(document.figures)
    kind = DocumentKind(document.kind)
    paper = _Paper(
        document_no=document.document_no,
        title=str(figures.get("title") or TITLES[kind]),
        holder_name=holder_name,
        issuer=issuer,
        verification=(
            f"验证码 {format_code(document.verification_code)}（可在 {verify_url} 查验）"
        ),
    )
    styles = _styles()
    story = _header(document, figures, paper, styles, _header_facts(kind, figures))
    story += _BODIES[kind](figures, styles)
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        title=f"{paper.title} {document.document_no}",
        author=AUTHOR,
        subject=issuer,
        initialFontName=FONT_NAME,
        initialFontSize=9.5,
        initialLeading=14,
    )
    template.build(story, canvasmaker=_canvas_maker(paper))
    return buffer.getvalue()
