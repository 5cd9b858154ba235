"""The header names departments write, mapped to the registry's fields (docs/household-import.md).

Matching ignores spaces, full-width parentheses and a trailing "（必填）"-style note.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

FIELD_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "resident_id": (
        "公民身份号码",
        "身份证号码",
        "身份证号",
        "社会保障号码",
        "证件号码",
        "身份号码",
    ),
    "name": ("姓名",),
    "sex": ("性别",),
    "ethnicity": ("民族",),
    "birth_on": ("出生日期",),
    "household_region_code": (
        "户籍地区划",
        "户籍地区划代码",
        "户籍区划代码",
        "户籍地行政区划代码",
        "户籍地区划码",
    ),
    "household_address": ("户籍地址", "户籍地详址", "户籍住址"),
    "residence_county_code": ("现住地区划", "现住地区划代码", "居住地区划代码", "居住地区划"),
    "residence_township": ("现住乡镇", "现住乡镇（街道）", "乡镇（街道）", "乡镇街道", "所属乡镇"),
    "residence_address": ("现住址", "居住地址", "现居住地址"),
    "phone": ("联系电话", "手机号码", "电话号码", "联系方式"),
    "status": ("人员状态", "状态"),
    "status_changed_on": ("状态变更日期", "变动日期", "注销日期"),
}

REQUIRED_FIELDS: Final = ("resident_id", "name", "household_region_code")

# Field names in Chinese, for error reports a clerk reads.
FIELD_LABELS: Final[dict[str, str]] = {
    field: aliases[0] for field, aliases in FIELD_ALIASES.items()
}
FIELD_LABELS["row"] = "整行"

# The header the demo writes and the documentation shows: the first alias of every field.
CANONICAL_HEADER: Final = tuple(aliases[0] for aliases in FIELD_ALIASES.values())

_NOTE = re.compile(r"[（(][^）)]*[）)]$")


def _normalise_header(text: str) -> str:
    cleaned = unicodedata.normalize("NFKC", text).strip().replace(" ", "").lstrip("\ufeff")
    return cleaned


def map_header(header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Map column positions to field names; return the mapping and the missing required fields."""
    lookup: dict[str, str] = {}
    for field, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            lookup[_normalise_header(alias)] = field
    mapping: dict[int, str] = {}
    for position, raw in enumerate(header):
        name = _normalise_header(raw or "")
        matched = lookup.get(name) or lookup.get(_NOTE.sub("", name))
        if matched is not None and matched not in mapping.values():
            mapping[position] = matched
    missing = [f for f in REQUIRED_FIELDS if f not in mapping.values()]
    return mapping, missing
