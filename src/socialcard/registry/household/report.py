"""The rejection report of an import as CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from socialcard.registry.household.columns import FIELD_LABELS
from socialcard.registry.models import ImportRejection

REPORT_HEADER = ("行号", "字段", "错误代码", "原因", "公民身份号码（已脱敏）", "姓名（已脱敏）")


def _lines(rejections: Sequence[ImportRejection]) -> list[tuple[object, ...]]:
    return [
        (
            r.row_number,
            FIELD_LABELS.get(r.field, r.field),
            r.code,
            r.reason,
            r.row_masked.get("resident_id", ""),
            r.row_masked.get("name", ""),
        )
        for r in rejections
    ]


def render_rejections_csv(rejections: Sequence[ImportRejection]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_HEADER)
    writer.writerows(_lines(rejections))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def render_rejections_xlsx(rejections: Sequence[ImportRejection]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误报告")
    sheet.append(list(REPORT_HEADER))
    for line in _lines(rejections):
        sheet.append(list(line))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
