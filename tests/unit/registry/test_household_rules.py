"""Row rules of the household-register import: every rejection names its field and code."""

from __future__ import annotations

from datetime import date

import pytest

from socialcard.kernel.resident_id import check_character
from socialcard.registry.household.columns import map_header
from socialcard.registry.household.rules import REASONS, PersonRecord, RowProblem, check_row
from socialcard.registry.models import PersonStatus

TODAY = date(2026, 11, 29)
COUNTY_OF: dict[str, str | None] = {
    "431100": None,
    "431124": "431124",
    "431102": "431102",
    "431171": "431103",
    "432923": "431124",
    "431121": "431181",
    "431181": "431181",
    "431103": "431103",
}


def rid(address: str = "431124", birth: str = "19900517", sequence: str = "123") -> str:
    first17 = address + birth + sequence
    return first17 + check_character(first17)


def row(**values: str) -> dict[str, str]:
    base = {"resident_id": rid(), "name": "张三", "household_region_code": "431124"}
    base.update(values)
    return base


def problems_of(values: dict[str, str]) -> list[tuple[str, str]]:
    checked = check_row(values, today=TODAY, county_of=COUNTY_OF)
    assert isinstance(checked, list), "expected the row to be rejected"
    return [(p.field, p.code) for p in checked]


def test_a_clean_row_becomes_a_normalised_record() -> None:
    record = check_row(
        row(sex="男", phone="138-1234-5678", status="正常", ethnicity=" 汉族 "),
        today=TODAY,
        county_of=COUNTY_OF,
    )
    assert isinstance(record, PersonRecord)
    assert record.name == "张三"
    assert record.phone == "13812345678"
    assert record.ethnicity == "汉族"
    assert record.residence_county_code == "431124"
    assert record.status is PersonStatus.LIVING


def test_zone_and_historical_codes_resolve_to_their_county() -> None:
    record = check_row(row(household_region_code="431171"), today=TODAY, county_of=COUNTY_OF)
    assert isinstance(record, PersonRecord)
    assert record.residence_county_code == "431103"
    assert record.household_region_code == "431171"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (row(resident_id=""), ("resident_id", "missing_resident_id")),
        (
            row(resident_id=rid()[:17] + ("1" if rid()[17] != "1" else "2")),
            ("resident_id", "bad_check_character"),
        ),
        (row(resident_id=rid(birth="20010230")), ("resident_id", "impossible_date")),
        (row(resident_id=rid(address="431199")), ("resident_id", "unknown_region")),
        (row(name=""), ("name", "missing_name")),
        (row(name="张三123"), ("name", "bad_name")),
        (row(sex="女"), ("sex", "sex_contradicts_id")),
        (row(sex="未知"), ("sex", "bad_sex")),
        (row(birth_on="1990-05-18"), ("birth_on", "birth_date_contradicts_id")),
        (row(birth_on="17/05/1990"), ("birth_on", "bad_date")),
        (row(household_region_code=""), ("household_region_code", "missing_household_region")),
        (
            row(household_region_code="430102"),
            ("household_region_code", "unknown_household_region"),
        ),
        (
            row(residence_county_code="430102"),
            ("residence_county_code", "unknown_residence_region"),
        ),
        (row(phone="12345"), ("phone", "bad_phone")),
        (row(status="失踪"), ("status", "unknown_status")),
    ],
)
def test_each_bad_field_is_named_with_a_stable_code(
    values: dict[str, str], expected: tuple[str, str]
) -> None:
    assert expected in problems_of(values)


def test_every_code_has_a_chinese_reason() -> None:
    for code, reason in REASONS.items():
        assert reason
        assert RowProblem("x", code).reason == reason


def test_several_problems_in_one_row_are_all_reported() -> None:
    found = problems_of(row(name="", sex="女", phone="1"))
    assert {("name", "missing_name"), ("sex", "sex_contradicts_id"), ("phone", "bad_phone")} <= set(
        found
    )


def test_headers_are_matched_as_departments_write_them() -> None:
    mapping, missing = map_header(
        ["\ufeff公民身份号码", "姓名（必填）", "户籍地行政区划代码", "现住址 ", "备注"]
    )
    assert mapping == {
        0: "resident_id",
        1: "name",
        2: "household_region_code",
        3: "residence_address",
    }
    assert missing == []
    assert map_header(["姓名"])[1] == ["resident_id", "household_region_code"]
