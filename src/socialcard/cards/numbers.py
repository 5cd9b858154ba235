"""Card numbers, card identification codes and PIN rules. Pure.

Card number (卡号, 9 characters, docs/cards.md): a series letter (A–Z without I and O), a
7-digit serial and a check digit. The check digit is the Luhn digit over the letter's two-digit
position (A = 10 … Z = 33) followed by the serial, so a mistyped digit or two swapped neighbours
are caught at the counter before any lookup. 24 series × 10⁷ serials = 240 million numbers.

Card identification code (卡识别码, 32 hex): the issuing region code (6 digits), "D156", then 22
hex characters written by the card factory (DOMAIN §2.3: only the first 10 characters are known
to mean something; the rest is treated as an opaque chip serial).
"""

from __future__ import annotations

import re
from typing import Final

SERIES_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_DIGITS: Final = 7
SERIAL_LIMIT: Final = 10**SERIAL_DIGITS
INITIAL_PIN: Final = "123456"
PIN_PATTERN: Final = re.compile(r"^[0-9]{6}$")
CARD_NUMBER_PATTERN: Final = re.compile(r"^[A-HJ-NP-Z][0-9]{8}$")
CARD_UID_PATTERN: Final = re.compile(r"^[0-9]{6}D156[0-9A-F]{22}$")


def _luhn_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: the check digit will be appended to the right
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def _payload(letter: str, serial: int) -> str:
    return f"{SERIES_LETTERS.index(letter) + 10:02d}{serial:0{SERIAL_DIGITS}d}"


def format_card_number(letter: str, serial: int) -> str:
    """The card number of a serial in a series."""
    if letter not in SERIES_LETTERS or not 0 <= serial < SERIAL_LIMIT:
        raise ValueError(f"no card number for series {letter!r} serial {serial}")
    return f"{letter}{serial:0{SERIAL_DIGITS}d}{_luhn_digit(_payload(letter, serial))}"


def is_valid_card_number(value: str) -> bool:
    """Shape and check digit."""
    if not CARD_NUMBER_PATTERN.match(value):
        return False
    letter, serial, check = value[0], int(value[1:8]), int(value[8])
    return _luhn_digit(_payload(letter, serial)) == check


def normalise_card_number(value: str) -> str:
    """Upper case, no spaces (what a clerk types)."""
    return "".join(value.split()).upper()


def next_series(letter: str) -> str | None:
    """The series after this one, or None when every series is used up."""
    position = SERIES_LETTERS.index(letter)
    return SERIES_LETTERS[position + 1] if position + 1 < len(SERIES_LETTERS) else None


def is_valid_card_uid(value: str, issuing_region_code: str) -> bool:
    """32 hex characters starting with the issuing region code and D156."""
    return bool(CARD_UID_PATTERN.match(value)) and value.startswith(issuing_region_code + "D156")


def pin_problem(pin: str) -> tuple[str, str] | None:
    """(rule, Chinese message) when a new PIN is not acceptable, else None. The initial PIN may not
    be chosen again, nor six equal digits or a straight run (DOMAIN §2.7)."""
    if not PIN_PATTERN.match(pin):
        return "six_digits", "密码应为 6 位数字。"
    if pin == INITIAL_PIN:
        return "not_initial", "新密码不能是初始密码 123456。"
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return "not_trivial", "新密码不能是相同或连续的数字。"
    return None
