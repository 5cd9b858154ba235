"""Money in integer fen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcard.kernel.money import Money, round_to_minor


def test_yuan_text_is_parsed_exactly() -> None:
    assert Money.yuan("12.34") == Money(1234)
    assert Money.yuan("0.1").minor + Money.yuan("0.2").minor == 30
    with pytest.raises(ValueError, match="two decimal places"):
        Money.yuan("1.234")


def test_float_minor_units_are_refused() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]


def test_currencies_do_not_mix() -> None:
    with pytest.raises(ValueError, match="cannot combine"):
        Money(1) + Money(1, "USD")


def test_rounding_is_half_up_in_one_place() -> None:
    assert round_to_minor(Decimal("2.5")) == 3
    assert round_to_minor(Decimal("2.4999")) == 2


def test_format_shows_yuan_with_separators() -> None:
    assert Money(123456789).format_yuan() == "¥1,234,567.89"
    assert Money(-5).format_yuan() == "-¥0.05"


@given(
    amount=st.integers(0, 10**12), weights=st.lists(st.integers(0, 1000), min_size=1, max_size=20)
)
def test_allocation_conserves_every_fen(amount: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        return
    parts = Money(amount).allocate(weights)
    assert sum(p.minor for p in parts) == amount
    assert all(p.minor >= 0 for p in parts)
    for part, weight in zip(parts, weights, strict=True):
        if weight == 0:
            assert part.minor == 0
