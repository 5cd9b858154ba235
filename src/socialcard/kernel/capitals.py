"""Amounts in Chinese capital numerals (大写金额) as receipts and vouchers print them, following
the usual rules of the People's Bank's settlement instructions: 零 for skipped places, 整 when
there is no fen, 元 always written, and 零 between 元 and fen when there is no jiao."""

from __future__ import annotations

from typing import Final

DIGITS: Final = "零壹贰叁肆伍陆柒捌玖"
_PLACES: Final = ("", "拾", "佰", "仟")
_GROUPS: Final = ("", "万", "亿", "万亿")


def _group(value: int) -> str:
    """Capitals of 0 < value < 10000, with 零 for inner gaps (1001 → 壹仟零壹)."""
    text = ""
    zero = False
    for place in range(3, -1, -1):
        digit = value // 10**place % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[digit] + _PLACES[place]
    return text


def _yuan(value: int) -> str:
    if value == 0:
        return ""
    groups: list[int] = []
    while value:
        groups.append(value % 10_000)
        value //= 10_000
    if len(groups) > len(_GROUPS):
        raise ValueError("amount too large for capitals")
    text = ""
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(text)
            continue
        if text and (need_zero or group < 1000):
            text += "零"
        text += _group(group) + _GROUPS[index]
        need_zero = False
    return text


def amount_in_capitals(minor: int) -> str:
    """12345 fen → 壹佰贰拾叁元肆角伍分; 10000 → 壹佰元整; 0 → 零元整."""
    if minor < 0:
        return "负" + amount_in_capitals(-minor)
    yuan, fen_total = divmod(minor, 100)
    jiao, fen = divmod(fen_total, 10)
    text = _yuan(yuan)
    if not text and fen_total == 0:
        return "零元整"
    if text:
        text += "元"
    if fen_total == 0:
        return text + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    else:
        text += "整"
    return text
