"""Bulk opening from a spreadsheet (批量开通): one row per change, all rows or none.

Columns (first row is the header, Chinese as offices write it): 事项编号, 区划代码 (431100 for the
city, or a county code), 状态 (开通 / 暂停 / 关闭), 生效日期 (YYYY-MM-DD), 原因 (optional).
CSV in UTF-8 or GBK, or XLSX. Every problem is reported with its row number; nothing is written
unless every row is valid.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from socialcard.catalog.models import OpeningStatus
from socialcard.errors import RuleViolation

HEADERS: Final = {
    "事项编号": "item_no",
    "序号": "item_no",
    "区划代码": "region_code",
    "县区代码": "region_code",
    "状态": "status",
    "生效日期": "effective_on",
    "原因": "reason",
}
STATUS_WORDS: Final = {
    "开通": OpeningStatus.OPENED,
    "暂停": OpeningStatus.SUSPENDED,
    "关闭": OpeningStatus.CLOSED,
    "opened": OpeningStatus.OPENED,
    "suspended": OpeningStatus.SUSPENDED,
    "closed": OpeningStatus.CLOSED,
}


@dataclass(frozen=True, slots=True)
class OpeningChange:
    row_number: int
    item_no: int
    region_code: str
    status: OpeningStatus
    effective_on: date
    reason: str | None


@dataclass(frozen=True, slots=True)
class SheetProblem:
    row_number: int
    field: str
    message: str


class OpeningSheetRejected(RuleViolation):
    code = "opening_sheet_rejected"

    def __init__(self, problems: list[SheetProblem]) -> None:
        super().__init__(
            f"批量开通表有 {len(problems)} 处错误，未做任何变更。",
            problems=[
                {"row": p.row_number, "field": p.field, "message": p.message} for p in problems
            ],
        )
        self.problems = problems


def _rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            return [
                ["" if c is None else str(c).strip() for c in row]
                for row in workbook.worksheets[0].iter_rows(values_only=True)
            ]
        finally:
            workbook.close()
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise OpeningSheetRejected([SheetProblem(0, "file", "文件编码无法识别")])
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def read_opening_sheet(path: Path) -> list[OpeningChange]:
    """Parse and check every row; raise OpeningSheetRejected listing all problems."""
    rows = _rows(path)
    if not rows:
        raise OpeningSheetRejected([SheetProblem(1, "header", "文件是空的")])
    columns = {i: HEADERS[h] for i, h in enumerate(rows[0]) if h in HEADERS}
    missing = {"item_no", "region_code", "status", "effective_on"} - set(columns.values())
    if missing:
        raise OpeningSheetRejected(
            [SheetProblem(1, "header", "表头缺少：事项编号、区划代码、状态、生效日期")]
        )
    changes: list[OpeningChange] = []
    problems: list[SheetProblem] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cells):
            continue
        values = {f: cells[i] if i < len(cells) else "" for i, f in columns.items()}
        row_problems: list[SheetProblem] = []
        item_text = values["item_no"].removesuffix(".0")
        if not item_text.isdigit() or not 1 <= int(item_text) <= 999:
            row_problems.append(SheetProblem(number, "item_no", "事项编号应为目录中的序号"))
        region = values["region_code"].removesuffix(".0")
        if len(region) != 6 or not region.isdigit():
            row_problems.append(SheetProblem(number, "region_code", "区划代码应为 6 位数字"))
        status = STATUS_WORDS.get(values["status"])
        if status is None:
            row_problems.append(SheetProblem(number, "status", "状态只能是开通、暂停或关闭"))
        try:
            effective_on = date.fromisoformat(values["effective_on"][:10])
        except ValueError:
            row_problems.append(SheetProblem(number, "effective_on", "生效日期应为 YYYY-MM-DD"))
        if row_problems:
            problems.extend(row_problems)
            continue
        assert status is not None
        changes.append(
            OpeningChange(
                number,
                int(item_text),
                region,
                status,
                effective_on,
                values.get("reason") or None,
            )
        )
    if problems:
        raise OpeningSheetRejected(problems)
    return changes
