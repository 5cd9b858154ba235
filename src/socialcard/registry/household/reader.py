"""Streaming readers for household-register files: CSV in UTF-8/GBK/GB18030 and XLSX.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first person row 2.
Memory stays flat however large the file: rows are yielded one at a time.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from socialcard.registry.errors import ImportFileUnreadable
from socialcard.registry.household.columns import FIELD_LABELS, map_header

SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class RawRow:
    row_number: int
    values: dict[str, str]


def detect_format(file_name: str) -> str:
    lower = file_name.lower()
    if lower.endswith(".xlsx"):
        return "xlsx"
    if lower.endswith((".csv", ".txt")):
        return "csv"
    raise ImportFileUnreadable("只支持 .csv 和 .xlsx 文件")


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else GB18030 (a superset of
    GBK, which is what Windows Excel in China writes)."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # A multi-byte character may be cut at the end of the sample; decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise ImportFileUnreadable("文件编码无法识别（应为 UTF-8 或 GBK/GB18030）") from None


def normalise_encoding(declared: str | None) -> str | None:
    if declared is None or not declared.strip():
        return None
    name = declared.strip().lower().replace("_", "-")
    aliases = {"gbk": "gb18030", "gb2312": "gb18030", "utf8": "utf-8", "utf-8-bom": "utf-8-sig"}
    name = aliases.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError:
        raise ImportFileUnreadable(f"不支持的编码 {declared}") from None
    return name


def _checked_header(header: list[str]) -> dict[int, str]:
    mapping, missing = map_header(header)
    if missing:
        labels = "、".join(FIELD_LABELS[f] for f in missing)
        raise ImportFileUnreadable(f"表头缺少必填列：{labels}")
    return mapping


def iter_csv(path: Path, encoding: str) -> Iterator[RawRow]:
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ImportFileUnreadable("文件是空的")
            mapping = _checked_header(header)
            for line_number, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                values = {
                    field: cells[pos].strip() if pos < len(cells) else ""
                    for pos, field in mapping.items()
                }
                yield RawRow(line_number, values)
    except UnicodeDecodeError:
        raise ImportFileUnreadable(f"文件中有不是 {encoding} 编码的字节") from None
    except csv.Error as error:
        raise ImportFileUnreadable(f"CSV 格式错误：{error}") from None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")  # type: ignore[no-any-return]
    return str(value).strip()


def iter_xlsx(path: Path) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise ImportFileUnreadable(f"XLSX 文件无法打开：{type(error).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_cells = next(rows, None)
        if header_cells is None:
            raise ImportFileUnreadable("工作表是空的")
        mapping = _checked_header([_cell_text(c) for c in header_cells])
        for row_number, cells in enumerate(rows, start=2):
            texts = [_cell_text(c) for c in cells]
            if not any(texts):
                continue
            values = {f: texts[pos] if pos < len(texts) else "" for pos, f in mapping.items()}
            yield RawRow(row_number, values)
    finally:
        workbook.close()


def iter_rows(path: Path, file_format: str, encoding: str | None) -> Iterator[RawRow]:
    if file_format == "xlsx":
        return iter_xlsx(path)
    return iter_csv(path, encoding or detect_encoding(path))


def count_rows(path: Path, file_format: str) -> int:
    """Count data rows cheaply (for the progress bar); CSV counts lines, XLSX reads the sheet."""
    if file_format == "xlsx":
        return sum(1 for _ in iter_xlsx(path))
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    # Quoted cells with line breaks would make this an over-estimate; the bar only guides.
    return max(lines - 1, 0) if lines else 0
