"""GB 11643 resident ID numbers: check character, normalisation, upgrade, derived fields."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcard.kernel.resident_id import (
    YONGZHOU_CURRENT_CODES,
    YONGZHOU_HISTORICAL_CODES,
    InvalidResidentId,
    ResidentId,
    Sex,
    check_character,
)

TODAY = date(2026, 11, 29)
ADDRESS_CODES = [*sorted(YONGZHOU_CURRENT_CODES | YONGZHOU_HISTORICAL_CODES), "110105", "440524"]


def make_id(address: str, birth: date, sequence: int) -> str:
    first17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    "number", ["11010519491231002X", "440524188001010014", "34052419800101001X"]
)
def test_standard_examples_have_the_right_check_character(number: str) -> None:
    assert check_character(number[:17]) == number[17]


def test_lowercase_x_fullwidth_digits_and_spaces_are_normalised() -> None:
    assert ResidentId.parse(" 11010519491231002x ").value == "11010519491231002X"
    fullwidth = "１１０１０５１９４９１２３１００２Ｘ"
    assert ResidentId.parse(fullwidth).value == "11010519491231002X"


def test_fifteen_digit_numbers_are_upgraded_with_century_and_check_character() -> None:
    upgraded = ResidentId.parse("432923800101001")
    assert upgraded.value == make_id("432923", date(1980, 1, 1), 1)
    assert upgraded.birth_on == date(1980, 1, 1)


def test_derived_fields_come_from_the_number() -> None:
    rid = ResidentId.parse(make_id("431124", date(1990, 5, 17), 123))
    assert rid.birth_on == date(1990, 5, 17)
    assert rid.sex is Sex.MALE
    assert rid.origin_code == "431124"
    assert rid.is_from_yongzhou
    assert ResidentId.parse(make_id("432923", date(1970, 1, 1), 2)).is_from_yongzhou
    assert not ResidentId.parse(make_id("110105", date(1970, 1, 1), 2)).is_from_yongzhou


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("11010519491231002", "format"),
        ("1101051949123100X2", "format"),
        ("110105194912310021", "check_character"),
        (make_id("431124", date(2001, 1, 1), 1)[:10] + "0230" + "0011", "check_character"),
        (make_id("999999", date(1990, 1, 1), 1), "unknown_region"),
        (make_id("431199", date(1990, 1, 1), 1), "unknown_region"),
        (make_id("432999", date(1990, 1, 1), 1), "unknown_region"),
        (make_id("431124", date(1880, 1, 1), 1), "too_old"),
    ],
)
def test_invalid_numbers_name_the_rule(raw: str, rule: str) -> None:
    with pytest.raises(InvalidResidentId) as caught:
        ResidentId.parse(raw, today=TODAY)
    assert caught.value.rule == rule
    assert caught.value.field == "resident_id"


def test_impossible_and_future_birth_dates_are_refused() -> None:
    first17 = "43112420010230001"
    with pytest.raises(InvalidResidentId) as caught:
        ResidentId.parse(first17 + check_character(first17), today=TODAY)
    assert caught.value.rule == "impossible_date"
    future = make_id("431124", TODAY + timedelta(days=1), 1)
    with pytest.raises(InvalidResidentId) as caught:
        ResidentId.parse(future, today=TODAY)
    assert caught.value.rule == "future_birth_date"


def test_error_messages_and_repr_never_contain_the_number() -> None:
    number = make_id("431124", date(1990, 5, 17), 123)
    assert number not in repr(ResidentId.parse(number))
    broken = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(InvalidResidentId) as caught:
        ResidentId.parse(broken)
    assert broken not in str(caught.value)


births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


@given(address=st.sampled_from(ADDRESS_CODES), birth=births, sequence=st.integers(0, 999))
def test_every_generated_number_round_trips(address: str, birth: date, sequence: int) -> None:
    number = make_id(address, birth, sequence)
    rid = ResidentId.parse(number, today=TODAY)
    assert rid.value == number
    assert rid.birth_on == birth
    assert rid.sex is (Sex.MALE if sequence % 2 else Sex.FEMALE)
    assert ResidentId.parse(number.lower(), today=TODAY) == rid


@given(
    address=st.sampled_from(ADDRESS_CODES),
    birth=births,
    sequence=st.integers(0, 999),
    position=st.integers(0, 16),
    replacement=st.integers(0, 9),
)
def test_any_single_digit_change_is_caught(
    address: str, birth: date, sequence: int, position: int, replacement: int
) -> None:
    number = make_id(address, birth, sequence)
    if number[position] == str(replacement):
        return
    changed = number[:position] + str(replacement) + number[position + 1 :]
    with pytest.raises(InvalidResidentId):
        ResidentId.parse(changed, today=TODAY)


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    sequence=st.integers(0, 999),
)
def test_fifteen_digit_upgrade_matches_the_eighteen_digit_number(
    birth: date, sequence: int
) -> None:
    old = f"432923{birth:%y%m%d}{sequence:03d}"
    assert ResidentId.parse(old, today=TODAY).value == make_id("432923", birth, sequence)
