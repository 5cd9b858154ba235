"""Bad rows on purpose: what a messy household register contains, for the import's error report.

Each kind's value is the rejection code the import gives the row, except the exact duplicate,
which the import counts as unchanged. Defects draw from their own random stream, so a messy
file holds the same persons as the clean file of the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from socialcard.kernel.resident_id import CHECK_CHARACTERS, check_character


class DefectKind(StrEnum):
    """A kind of bad row injected into a messy file."""

    BAD_CHECK_CHARACTER = "bad_check_character"  # the ID number's last character altered
    IMPOSSIBLE_DATE = "impossible_date"  # e.g. 02-30 inside the ID; the check character fits
    UNKNOWN_REGION = "unknown_region"  # the ID's address code is 431199, not a division
    UNKNOWN_HOUSEHOLD_REGION = "unknown_household_region"  # household region 431199
    MISSING_NAME = "missing_name"  # the name cell is empty
    SEX_CONTRADICTS_ID = "sex_contradicts_id"  # 男/女 opposite to the sequence code's parity
    EXACT_DUPLICATE = "exact_duplicate"  # the same row again later in the file: unchanged
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # same ID later with another phone: rejected


# Shares of persons whose row gets each defect when messy=True, about 1 % in all. The first six
# replace the person's good row with a bad one; the duplicates add a row after the good one.
DEFECT_SHARES: Final[dict[DefectKind, float]] = {
    DefectKind.BAD_CHECK_CHARACTER: 0.002,
    DefectKind.IMPOSSIBLE_DATE: 0.001,
    DefectKind.UNKNOWN_REGION: 0.001,
    DefectKind.UNKNOWN_HOUSEHOLD_REGION: 0.001,
    DefectKind.MISSING_NAME: 0.001,
    DefectKind.SEX_CONTRADICTS_ID: 0.001,
    DefectKind.EXACT_DUPLICATE: 0.002,
    DefectKind.CONFLICTING_DUPLICATE: 0.001,
}
DUPLICATE_KINDS: Final = frozenset({DefectKind.EXACT_DUPLICATE, DefectKind.CONFLICTING_DUPLICATE})
UNKNOWN_REGION_CODE: Final = "431199"
IMPOSSIBLE_MONTH_DAYS: Final = ("0230", "0431", "0631", "0931", "1131", "1301")

# Positions in a row written with CANONICAL_HEADER.
RESIDENT_ID, NAME, SEX, BIRTH_ON, HOUSEHOLD_REGION, PHONE = 0, 1, 2, 4, 5, 10
MALE_WORD, FEMALE_WORD = "男", "女"

# A row as written: a tuple for the millions of good rows, a list when a defect changed it.
Row = Sequence[str]


class DefectInjector:
    """Breaks a documented share of rows and counts what it did."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"{seed}:messy")
        self.counts: dict[DefectKind, int] = {}
        self._thresholds: list[tuple[float, DefectKind]] = []
        running = 0.0
        for kind, share in DEFECT_SHARES.items():
            running += share
            self._thresholds.append((running, kind))
        self._total = running

    def apply(self, good: Row, later: list[Row]) -> Row:
        """Return the row to write in place of `good` (broken or not), and maybe queue a
        duplicate of it in `later` (written after the current block, so after the original)."""
        draw = self._rng.random()
        if draw >= self._total:
            return good
        kind = next(kind for threshold, kind in self._thresholds if draw < threshold)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        row = list(good)
        resident_id = row[RESIDENT_ID]
        if kind is DefectKind.BAD_CHECK_CHARACTER:
            wrong = CHECK_CHARACTERS.replace(resident_id[17], "")
            row[RESIDENT_ID] = resident_id[:17] + self._rng.choice(wrong)
        elif kind is DefectKind.IMPOSSIBLE_DATE:
            month_day = self._rng.choice(IMPOSSIBLE_MONTH_DAYS)
            first17 = resident_id[:10] + month_day + resident_id[14:17]
            row[RESIDENT_ID] = first17 + check_character(first17)
            row[BIRTH_ON] = f"{resident_id[6:10]}-{month_day[:2]}-{month_day[2:]}"
        elif kind is DefectKind.UNKNOWN_REGION:
            first17 = UNKNOWN_REGION_CODE + resident_id[6:17]
            row[RESIDENT_ID] = first17 + check_character(first17)
        elif kind is DefectKind.UNKNOWN_HOUSEHOLD_REGION:
            row[HOUSEHOLD_REGION] = UNKNOWN_REGION_CODE
        elif kind is DefectKind.MISSING_NAME:
            row[NAME] = ""
        elif kind is DefectKind.SEX_CONTRADICTS_ID:
            row[SEX] = FEMALE_WORD if row[SEX] == MALE_WORD else MALE_WORD
        elif kind is DefectKind.EXACT_DUPLICATE:
            later.append(good)
            return good
        else:
            row[PHONE] = self._other_phone(good[PHONE])
            later.append(row)
            return good
        return row

    def _other_phone(self, phone: str) -> str:
        while True:
            other = f"1{self._rng.randrange(3, 10)}{self._rng.randrange(10**9):09d}"
            if other != phone:
                return other
