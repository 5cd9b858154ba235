"""The catalogue as CSV (UTF-8 with BOM), XLSX or JSON, for departments and for checking
against the plan's appendix. Columns start with item_no, category, usage_kind, name."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from socialcard.catalog.models import USAGE_KIND_LABELS, CatalogItem

COLUMNS = (
    "item_no",
    "category",
    "usage_kind",
    "name",
    "usage_kind_label",
    "description",
    "responsible_units",
    "planned_completion",
    "notes",
)


def _row(item: CatalogItem) -> dict[str, object]:
    return {
        "item_no": item.item_no,
        "category": item.category,
        "usage_kind": item.usage_kind.value,
        "name": item.name,
        "usage_kind_label": USAGE_KIND_LABELS[item.usage_kind],
        "description": item.description,
        "responsible_units": "、".join(item.responsible_units),
        "planned_completion": item.planned_completion,
        "notes": item.notes or "",
    }


def render_csv(items: Sequence[CatalogItem]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(_row(i) for i in items)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def render_xlsx(items: Sequence[CatalogItem]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("应用目录")
    sheet.append(list(COLUMNS))
    for item in items:
        sheet.append(list(_row(item).values()))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render_json(items: Sequence[CatalogItem]) -> bytes:
    rows = [
        {**_row(i), "responsible_units": list(i.responsible_units), "notes": i.notes} for i in items
    ]
    version = items[0].catalog_version if items else None
    body = {"catalog_version": version, "items": rows}
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
