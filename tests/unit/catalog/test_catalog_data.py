"""The shipped catalogue (catalog/data/catalog.json) against the appendix of the plan it was taken
from (永政办发〔2015〕26号 附件：永州市社会保障卡应用责任目录). Pure: no database.

The numbers asserted here were counted by reading the seed, not computed from the data file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String

from socialcard.catalog.models import USAGE_KIND_LABELS, CatalogItem, UsageKind

REPO = Path(__file__).resolve().parents[3]
# A copy of the city's plan (永政办发〔2015〕26号, the shared seed), kept with the tests so the
# cross-check runs wherever the repository is cloned.
SEED = REPO / "tests" / "data" / "yongzhou-plan-2015-26.txt"
CORRECTIONS_DOC = REPO / "docs" / "catalog-corrections.md"
APPENDIX_START = "附件：永州市社会保障卡应用责任目录"
APPENDIX_END = "抄送："

# The categories as the seed writes them (without the ordinal 一、二、…), in order.
CATEGORIES = (
    "就业",
    "社会保险公共业务",
    "养老保险待遇业务",
    "医疗保险待遇业务",
    "工伤保险待遇业务",
    "失业保险待遇业务",
    "生育保险待遇业务",
    "人事人才",
    "劳动关系",
    "工资",
    "政府财政资金发放",
)
ITEMS_PER_CATEGORY = {
    "就业": 21,  # 1-21
    "社会保险公共业务": 10,  # 22-31
    "养老保险待遇业务": 7,  # 32-38
    "医疗保险待遇业务": 19,  # 39-57
    "工伤保险待遇业务": 16,  # 58-73
    "失业保险待遇业务": 6,  # 74-79
    "生育保险待遇业务": 9,  # 80-88
    "人事人才": 6,  # 89-94
    "劳动关系": 8,  # 95-102
    "工资": 1,  # 103
    "政府财政资金发放": 8,  # 104-111
}
ITEMS_PER_USAGE_KIND = {
    "credential": 42,
    "record": 12,
    "query": 27,
    "settlement": 5,
    "money": 25,
}
ITEMS_PER_COMPLETION = {
    "2014年12月": 2,
    "2015年4月": 7,
    "2015年6月": 22,
    "2015年9月": 41,
    "2015年12月": 9,
    "2015-2017年": 9,
    "2015-2017年根据部省应用系统建设进度确定": 13,
    "": 8,
}
# Items whose units and completion cells hold a note instead (70-73, 88) or are blank in the seed
# (48, 55, 102): no responsible unit, no planned completion.
WITHOUT_UNITS = frozenset({48, 55, 70, 71, 72, 73, 88, 102})
WITH_NOTES = frozenset({30, 31, 70, 71, 72, 73, 88})
# Obvious typos fixed in the data, as listed in docs/catalog-corrections.md:
# item -> (field, text in the seed, text in the data).
CORRECTIONS = {
    69: ("description", "结算记录信息信息。", "结算记录信息。"),
    102: ("description", "发放到社会博张卡加载", "发放到社会保障卡加载"),
    109: ("name", "等补贴。等卫计委", "等补贴等卫计委"),
}
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _load() -> dict[str, Any]:
    text = resources.files("socialcard.catalog").joinpath("data/catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


DATA = _load()
ITEMS: list[dict[str, Any]] = DATA["items"]


@pytest.fixture(scope="module")
def appendix_lines() -> list[str]:
    """The lines of the seed's appendix, up to the distribution list (抄送) after the table."""
    text = SEED.read_text("utf-8")
    start = text.index(APPENDIX_START)
    end = text.index(APPENDIX_END, start)
    return text[start:end].splitlines()


@pytest.fixture(scope="module")
def appendix(appendix_lines: list[str]) -> str:
    """The appendix with line breaks removed (cells wrap over lines in the seed)."""
    return "".join(appendix_lines)


def _as_in_seed(item: dict[str, Any], key: str) -> str:
    value = str(item[key])
    correction = CORRECTIONS.get(item["item_no"])
    if correction is not None and correction[0] == key:
        assert value.count(correction[2]) == 1
        value = value.replace(correction[2], correction[1])
    return value


def test_header_names_version_and_source() -> None:
    assert DATA["catalog_version"] == "2015-yzf-26"
    assert DATA["source"] == "永政办发〔2015〕26号 附件"
    assert set(DATA) == {"catalog_version", "source", "items"}


def test_111_items_numbered_in_order() -> None:
    assert [item["item_no"] for item in ITEMS] == list(range(1, 112))
    keys = {
        "item_no",
        "category",
        "usage_kind",
        "usage_kind_label",
        "name",
        "description",
        "responsible_units",
        "planned_completion",
        "notes",
    }
    assert all(set(item) == keys for item in ITEMS)


def test_usage_kinds_are_the_five_with_their_labels() -> None:
    for item in ITEMS:
        kind = UsageKind(item["usage_kind"])
        assert item["usage_kind_label"] == USAGE_KIND_LABELS[kind], item["item_no"]


def test_categories_are_the_seeds_in_order() -> None:
    first_seen = list(dict.fromkeys(item["category"] for item in ITEMS))
    assert first_seen == list(CATEGORIES)
    # merged cells: a category is one run of consecutive items
    runs = [item["category"] for item in ITEMS]
    assert [c for i, c in enumerate(runs) if i == 0 or runs[i - 1] != c] == list(CATEGORIES)


def test_no_field_is_empty_except_notes_and_the_unassigned_items() -> None:
    for item in ITEMS:
        no = item["item_no"]
        for key in ("category", "usage_kind", "usage_kind_label", "name", "description"):
            assert isinstance(item[key], str), (no, key)
            assert item[key].strip() == item[key] != "", (no, key)
        units = item["responsible_units"]
        planned = item["planned_completion"]
        if no in WITHOUT_UNITS:
            assert units == [], no
            assert planned == {
                "text": "",
                "from_month": None,
                "to_month": None,
                "by_ministry_progress": False,
            }, no
        else:
            assert units, no
            assert all(unit.startswith("市") and "、" not in unit for unit in units), no
            assert len(set(units)) == len(units), no
            assert planned["text"], no
        notes = item["notes"]
        assert (notes is not None) == (no in WITH_NOTES), no
        assert notes is None or notes.strip() == notes != "", no


def test_planned_completion_months_follow_the_text() -> None:
    for item in ITEMS:
        planned = item["planned_completion"]
        text, start, end = planned["text"], planned["from_month"], planned["to_month"]
        if not text:
            continue
        assert MONTH.match(start), item["item_no"]
        assert MONTH.match(end), item["item_no"]
        assert start <= end
        if m := re.match(r"^(\d{4})年(\d{1,2})月$", text):
            assert start == end == f"{m[1]}-{int(m[2]):02d}"
        else:
            m = re.match(r"^(\d{4})-(\d{4})年", text)
            assert m is not None, text
            assert (start, end) == (f"{m[1]}-01", f"{m[2]}-12")
        assert planned["by_ministry_progress"] == ("根据部省" in text)


def test_counts_per_category_usage_kind_and_completion() -> None:
    assert Counter(item["category"] for item in ITEMS) == ITEMS_PER_CATEGORY
    assert Counter(item["usage_kind"] for item in ITEMS) == ITEMS_PER_USAGE_KIND
    assert Counter(item["planned_completion"]["text"] for item in ITEMS) == ITEMS_PER_COMPLETION
    assert sum(ITEMS_PER_CATEGORY.values()) == sum(ITEMS_PER_USAGE_KIND.values()) == 111


def test_names_are_unique_within_a_category() -> None:
    pairs = [(item["category"], item["name"]) for item in ITEMS]
    assert len(set(pairs)) == len(pairs)


def _column_length(name: str) -> int:
    column_type = CatalogItem.__table__.c[name].type
    assert isinstance(column_type, String)
    assert column_type.length is not None
    return column_type.length


def test_values_fit_the_catalogue_table() -> None:
    assert len(DATA["catalog_version"]) <= _column_length("catalog_version")
    for item in ITEMS:
        assert len(item["category"]) <= _column_length("category")
        assert len(item["name"]) <= _column_length("name")
        assert len(item["planned_completion"]["text"]) <= _column_length("planned_completion")


def _row_as_in_seed(item: dict[str, Any]) -> str:
    """The item's cells from its name on, as the seed runs them together, up to the next number."""
    units = "、".join(item["responsible_units"])
    notes = item["notes"] or ""
    after = f"（{notes}）" if units and notes else notes  # beside the units (30, 31) or instead
    following = str(item["item_no"] + 1) if item["item_no"] < len(ITEMS) else ""
    return (
        _as_in_seed(item, "name")
        + _as_in_seed(item, "description")
        + units
        + after
        + str(item["planned_completion"]["text"])
        + following
    )


def test_every_item_reads_as_in_the_seed(appendix: str) -> None:
    for item in ITEMS:
        assert _row_as_in_seed(item) in appendix, item["item_no"]
    assert appendix.endswith(_row_as_in_seed(ITEMS[-1]))


def test_categories_are_those_of_the_seed(appendix_lines: list[str]) -> None:
    category_line = re.compile(r"^[一二三四五六七八九十]+、(.+)$")
    seen = [m[1] for line in appendix_lines if (m := category_line.match(line.strip()))]
    # 六 and 十一 are repeated where a page break splits their merged cell
    assert list(dict.fromkeys(seen)) == list(CATEGORIES)
    assert len(seen) == len(CATEGORIES) + 2


def test_corrections_are_applied_and_documented(appendix: str) -> None:
    doc = CORRECTIONS_DOC.read_text("utf-8")
    for no, (key, seed_text, fixed) in CORRECTIONS.items():
        item = ITEMS[no - 1]
        assert seed_text in appendix, no
        assert fixed in item[key], no
        assert seed_text not in item[key], no
        assert f"`{seed_text}`" in doc, no
        assert f"`{fixed}`" in doc, no
