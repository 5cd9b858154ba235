"""One-off: turn the plan's appendix (永州市社会保障卡应用责任目录) into catalog.json.

Usage::

    .venv/bin/python scripts/parse_catalog_seed.py \\
        /work/shared/seed/000_b98c7fb2820ad472.txt \\
        src/socialcard/catalog/data/catalog.json

The seed is a table flattened to one cell per line. Each item starts with its number; the
category and the usage kind appear only where they change (merged cells), the other cells
follow in order: name, description, responsible units, planned completion. The parser is
strict: anything it does not recognise stops it, so a changed seed cannot slip through. The
result was checked item by item against the seed by eye; the decisions taken are documented in
src/socialcard/catalog/data/README.md and docs/catalog-corrections.md.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CATALOG_VERSION = "2015-yzf-26"
SOURCE = "永政办发〔2015〕26号 附件"

START_MARKER = "附件：永州市社会保障卡应用责任目录"
END_PREFIX = "抄送："  # the distribution list after the table, not part of it
TITLE_LINES = frozenset({"附件", "永州市社会保障卡应用责任目录"})
HEADER_CELLS = frozenset({"序号", "分类", "应用项目", "用卡说明", "责任单位", "完成时间"})
PAGE_NUMBER = re.compile(r"^[-—－\s]*\d+[-—－\s]*$")

USAGE_KINDS = {
    "电子凭证": "credential",
    "信息记录": "record",
    "自助查询": "query",
    "就医结算服务": "settlement",
    "缴费和待遇领取": "money",
}
CATEGORY_LINE = re.compile(r"^[一二三四五六七八九十]+、(.+)$")
MONTH = re.compile(r"^(\d{4})年(\d{1,2})月$")
YEAR_RANGE = re.compile(r"^(\d{4})-(\d{4})年")
UNIT_SEPARATORS = re.compile(r"[、，]")
UNITS_WITH_NOTE = re.compile(r"^(市[^（]*)（(.+)）$")

# Obvious typos, fixed and listed in docs/catalog-corrections.md: (item, field, seed, fixed).
CORRECTIONS: tuple[tuple[int, str, str, str], ...] = (
    (69, "description", "结算记录信息信息。", "结算记录信息。"),
    (102, "description", "发放到社会博张卡加载", "发放到社会保障卡加载"),
    (109, "name", "等补贴。等卫计委", "等补贴等卫计委"),
)


class SeedError(ValueError):
    """The seed does not have the expected shape."""


@dataclass
class _Raw:
    item_no: int
    lines: list[str] = field(default_factory=list)


def _appendix_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    try:
        start = lines.index(START_MARKER)
    except ValueError as exc:
        raise SeedError(f"start marker {START_MARKER!r} not found") from exc
    out: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith(END_PREFIX):
            break
        if line:
            out.append(line)
    return out


def _is_header(line: str) -> bool:
    cells = line.split()
    return bool(cells) and all(cell in HEADER_CELLS for cell in cells)


def _group(lines: list[str]) -> list[_Raw]:
    groups: list[_Raw] = []
    for line in lines:
        if line.isdigit() and int(line) == len(groups) + 1:
            groups.append(_Raw(int(line)))
        elif not groups:
            if line not in TITLE_LINES and not _is_header(line):
                raise SeedError(f"unexpected line before item 1: {line!r}")
        elif _is_header(line) or PAGE_NUMBER.match(line):
            continue  # page-break artefacts
        else:
            groups[-1].lines.append(line)
    return groups


def _take_usage_kind(lines: list[str]) -> tuple[str | None, list[str]]:
    """A usage-kind cell, possibly wrapped over lines or with stray spaces."""
    acc = ""
    for i, line in enumerate(lines):
        acc += re.sub(r"\s+", "", line)
        if acc in USAGE_KINDS:
            return acc, lines[i + 1 :]
        if not any(kind.startswith(acc) for kind in USAGE_KINDS):
            break
    return None, lines


def _join_wrapped(lines: list[str]) -> list[str]:
    """Join a cell wrapped over lines: a line ending in 、 or ， or with an open bracket."""
    cells: list[str] = []
    for line in lines:
        if cells and (
            cells[-1].endswith(("、", "，")) or cells[-1].count("（") > cells[-1].count("）")
        ):
            cells[-1] += line
        else:
            cells.append(line)
    return cells


def _completion(text: str) -> dict[str, Any]:
    from_month: str | None = None
    to_month: str | None = None
    if m := MONTH.match(text):
        from_month = to_month = f"{m[1]}-{int(m[2]):02d}"
    elif m := YEAR_RANGE.match(text):
        from_month, to_month = f"{m[1]}-01", f"{m[2]}-12"
    elif text:
        raise SeedError(f"unrecognised planned completion {text!r}")
    return {
        "text": text,
        "from_month": from_month,
        "to_month": to_month,
        "by_ministry_progress": "根据部" in text,
    }


def _is_completion(line: str) -> bool:
    return bool(MONTH.match(line) or YEAR_RANGE.match(line))


def parse_appendix(text: str) -> list[dict[str, Any]]:
    """The 111 items of the appendix, in order, with the typo corrections applied."""
    items: list[dict[str, Any]] = []
    category: str | None = None
    kind: str | None = None
    for raw in _group(_appendix_lines(text)):
        lines = list(raw.lines)
        if lines and (m := CATEGORY_LINE.match(lines[0])):
            category = m[1]  # also repeated after a page break (items 78 and 106): same value
            lines = lines[1:]
        found, lines = _take_usage_kind(lines)
        if found is not None:
            kind = found
        # else inherited, even into a new category: items 103-111 have no usage-kind cell of
        # their own, the 缴费和待遇领取 cell of item 102 spans them (all are payouts).
        if category is None or kind is None:
            raise SeedError(f"item {raw.item_no}: no category or usage kind to inherit")
        completion = ""
        units: list[str] = []
        notes: str | None = None
        if lines and _is_completion(lines[-1]):
            completion = lines.pop()
            if not lines or not lines[-1].startswith("市"):
                raise SeedError(f"item {raw.item_no}: completion without units")
            units_cell = lines.pop()
            if m := UNITS_WITH_NOTE.match(units_cell):
                units_cell, notes = m[1], m[2]
            units = [u for u in UNIT_SEPARATORS.split(units_cell) if u]
        elif len(lines) == 3 and not lines[-1].startswith("市"):
            notes = lines.pop()  # a note in place of units and completion (items 70-73, 88)
        cells = _join_wrapped(lines)
        if len(cells) != 2:
            raise SeedError(f"item {raw.item_no}: expected name and description, got {cells!r}")
        name, description = cells
        items.append(
            {
                "item_no": raw.item_no,
                "category": category,
                "usage_kind": USAGE_KINDS[kind],
                "usage_kind_label": kind,
                "name": name,
                "description": description,
                "responsible_units": units,
                "planned_completion": _completion(completion),
                "notes": notes,
            }
        )
    for item_no, key, seed, fixed in CORRECTIONS:
        item = items[item_no - 1]
        if item[key].count(seed) != 1:
            raise SeedError(f"item {item_no}: correction {seed!r} does not apply to {key}")
        item[key] = item[key].replace(seed, fixed)
    return items


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write(__doc__ or "")
        return 2
    items = parse_appendix(Path(argv[1]).read_text("utf-8"))
    if [item["item_no"] for item in items] != list(range(1, 112)):
        raise SeedError(f"expected items 1..111, got {len(items)}")
    data = {"catalog_version": CATALOG_VERSION, "source": SOURCE, "items": items}
    Path(argv[2]).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
