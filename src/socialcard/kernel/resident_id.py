"""The resident ID number (社会保障号码 = 公民身份号码, GB 11643-1999).

18 characters: a 6-digit GB/T 2260 address code, an 8-digit birth date, a 3-digit sequence whose
parity is the sex (odd male, even female) and an ISO 7064 MOD 11-2 check character. Old 15-digit
numbers (GB 11643-1989) are upgraded by inserting the century 19 and computing the check character.
Error messages never repeat the number: they name the rule that failed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from operator import mul
from typing import Final

from socialcard.errors import InvalidField

WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS: Final = "10X98765432"

# GB/T 2260 province-level prefixes. An address code outside Yongzhou is accepted when its
# province exists; the platform has no reason to hold every county of the country.
PROVINCE_PREFIXES: Final = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)

# Yongzhou's county-level codes, current (4311xx, with 祁阳's 2015 code 431121) and from the
# 零陵地区 before 1995 (4329xx, DOMAIN.md §1.4). Inside these two prefixes only listed codes exist.
YONGZHOU_CURRENT_CODES: Final = frozenset(
    [
        "431100",
        "431101",
        "431102",
        "431103",
        "431121",
        "431122",
        "431123",
        "431124",
        "431125",
        "431126",
        "431127",
        "431128",
        "431129",
        "431181",
    ]
)
YONGZHOU_HISTORICAL_CODES: Final = frozenset(
    [
        "432900",
        "432901",
        "432902",
        "432922",
        "432923",
        "432924",
        "432925",
        "432926",
        "432927",
        "432928",
        "432929",
        "432930",
    ]
)
YONGZHOU_PREFIXES: Final = ("4311", "4329")

OLDEST_BIRTH_YEAR: Final = 1890


class Sex(StrEnum):
    """Sex as the ID number's sequence parity states it."""

    MALE = "male"  # odd sequence code
    FEMALE = "female"  # even sequence code


class InvalidResidentId(InvalidField):
    """The text is not a valid resident ID number; `rule` says which check failed."""

    code = "invalid_resident_id"

    def __init__(self, rule: str, message: str, field: str = "resident_id") -> None:
        super().__init__(field, rule, message)


_ASCII_ZERO_WEIGHT: Final = ord("0") * sum(WEIGHTS)


def check_character(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for 17 digits."""
    if len(first17) == len(WEIGHTS) and first17.isascii():
        # The digits' code points weighted, less the weighted code point of "0" (no int() per
        # character: a city-wide list checks a million numbers).
        total = sum(map(mul, first17.encode("ascii"), WEIGHTS)) - _ASCII_ZERO_WEIGHT
    else:
        total = sum(map(mul, map(int, first17), WEIGHTS))
    return CHECK_CHARACTERS[total % 11]


def is_known_address_code(code: str) -> bool:
    """Tell whether a 6-digit address code can appear in a valid ID number."""
    if code.startswith(YONGZHOU_PREFIXES):
        return code in YONGZHOU_CURRENT_CODES or code in YONGZHOU_HISTORICAL_CODES
    return code[:2] in PROVINCE_PREFIXES and code[2:] != "0000"


@lru_cache(maxsize=1 << 16)
def _birth_date(digits: str) -> date:
    """The date of eight digits YYYYMMDD; ValueError if there is none. Cached: a city-wide list
    holds a million numbers and about thirty thousand birth dates."""
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def _normalise_text(raw: str) -> str:
    if raw.isascii():
        return raw.strip().replace(" ", "").upper()
    # NFKC turns full-width digits and letters into ASCII; people paste numbers from Word.
    return unicodedata.normalize("NFKC", raw).strip().replace(" ", "").upper()


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A validated 18-character resident ID number. `str()` gives the full value: mask it before
    showing it to anyone (socialcard.kernel.masking)."""

    value: str

    def __repr__(self) -> str:
        # Keep the plaintext out of tracebacks and logs.
        return f"ResidentId({self.value[:6]}********{self.value[-4:]})"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, raw: str, *, today: date | None = None) -> ResidentId:
        """Validate and normalise an ID number (18 or old 15 characters).

        Raises:
            InvalidResidentId: with rule format, check_character, impossible_date,
                future_birth_date, too_old or unknown_region.
        """
        text = _normalise_text(raw)
        if len(text) == 15:
            if not text.isdigit():
                raise InvalidResidentId("format", "15 位旧号码只能由数字组成")
            first17 = text[:6] + "19" + text[6:]
            text = first17 + check_character(first17)
        if len(text) != 18:
            raise InvalidResidentId("format", f"身份号码应为 18 位，实际为 {len(text)} 位")
        if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
            raise InvalidResidentId("format", "身份号码前 17 位须为数字，末位为数字或 X")
        if check_character(text[:17]) != text[17]:
            raise InvalidResidentId("check_character", "身份号码校验码错误")
        try:
            birth = _birth_date(text[6:14])
        except ValueError:
            raise InvalidResidentId("impossible_date", "身份号码中的出生日期不存在") from None
        if today is not None and birth > today:
            raise InvalidResidentId("future_birth_date", "身份号码中的出生日期晚于今天")
        if birth.year < OLDEST_BIRTH_YEAR:
            raise InvalidResidentId("too_old", f"出生年份早于 {OLDEST_BIRTH_YEAR} 年")
        if not is_known_address_code(text[:6]):
            raise InvalidResidentId("unknown_region", "身份号码中的地址码不是有效的行政区划代码")
        return cls(text)

    @property
    def origin_code(self) -> str:
        """The address code: where the household was registered when the number was assigned."""
        return self.value[:6]

    @property
    def birth_on(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def sex(self) -> Sex:
        return Sex.MALE if int(self.value[16]) % 2 == 1 else Sex.FEMALE

    @property
    def is_from_yongzhou(self) -> bool:
        """Whether the number was assigned in Yongzhou (4311xx or the pre-1995 4329xx).

        This says nothing about where the person lives now: the address code never changes.
        """
        return self.value.startswith(YONGZHOU_PREFIXES)
