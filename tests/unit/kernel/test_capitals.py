"""Amounts in capital numerals, as the bank's settlement rules write them on vouchers."""

from __future__ import annotations

import pytest

from socialcard.kernel.capitals import amount_in_capitals


@pytest.mark.parametrize(
    ("minor", "words"),
    [
        (0, "零元整"),
        (1, "壹分"),
        (5_000, "伍拾元整"),
        (15_000, "壹佰伍拾元整"),
        (12_345, "壹佰贰拾叁元肆角伍分"),
        (100_100, "壹仟零壹元整"),
        (1_000_000, "壹万元整"),
        (10_000_005, "壹拾万元零伍分"),
        (1_010_000_000, "壹仟零壹拾万元整"),
        (2_000_000_100, "贰仟万零壹元整"),
        (1_234_567_890, "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整"),
        (10_000_000_000, "壹亿元整"),
        (10_000_100_000, "壹亿零壹仟元整"),
        (-250, "负贰元伍角整"),
    ],
)
def test_amount_in_capitals(minor: int, words: str) -> None:
    assert amount_in_capitals(minor) == words
