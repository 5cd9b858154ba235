"""A synthetic household register for the whole city, written as the CSV the import reads.

The file has the canonical Chinese header (socialcard.registry.household.columns) and one row
per resident. It is shaped like Yongzhou: residents per county in proportion to the 2020 census,
a Hunan age pyramid, ID numbers (GB 11643) with the address code a person of that age carries
(the pre-1995 零陵地区 code 4329xx for most people born before 1996, DOMAIN.md §1.4), Yao
residents where they live, zone codes for the three management zones, a few deaths and moves.

It streams: rows are made in blocks from precomputed tables and written at once, so memory stays
flat and a full city of 5.3 million rows takes well under a minute. The same seed and `today`
give the same bytes. Sequence codes are allocated per (address code, birth date, sex) inside a
county and address codes never repeat across counties, so ID numbers never collide.

With `messy=True` a documented share of rows (DEFECT_SHARES, about 1 %) is broken on purpose so
the import's error report has something to show; the stats say exactly how many of each kind.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Final, Protocol

from socialcard.demo.names import (
    FEMALE_GIVEN,
    GENERATION_STARTS,
    HAN,
    MALE_GIVEN,
    MOBILE_PREFIXES,
    OTHER_ETHNIC_GROUPS,
    ROAD_STEMS,
    ROAD_SUFFIXES,
    SINGLE_GIVEN_SHARE,
    SURNAMES,
    VILLAGE_STEMS,
    YAO,
    YAO_SHARE_BY_COUNTY,
    YAO_SHARE_ELSEWHERE,
    YAO_SURNAMES,
    given_name_pool,
)
from socialcard.kernel.resident_id import CHECK_CHARACTERS, WEIGHTS, check_character
from socialcard.regions.data import REGIONS, TOWNSHIPS
from socialcard.regions.models import RegionKind
from socialcard.registry.household.columns import CANONICAL_HEADER

# Hunan's age structure, 7th census (2020) shape, in per mille of the population by 5-year
# group from 0-4 to 100-104: 0-14 about 18 %, 60 and over about 19 %, a bulge from 30 to 59
# and few people over 85. Rounded estimates for a demo, not the published table.
AGE_GROUP_PER_MILLE: Final = (
    56, 65, 62, 54, 49, 56, 83, 70, 65, 89, 87, 66, 50, 54, 39, 24, 16, 8, 2.5, 0.5, 0.1,
)
MALE_SHARE: Final = 0.511  # Hunan's sex ratio is about 104.6 men per 100 women.
# Born 1996 or later: the county's current code. Born earlier: mostly the 4329xx code.
FIRST_YEAR_OF_CURRENT_CODES: Final = 1996
HISTORICAL_CODE_SHARE_BEFORE_1996: Final = 0.85
# 祁阳 was 祁阳县 (431121) until it became 祁阳市 (431181) in 2021, and numbers are never
# re-issued. Realistically most 祁阳 people born 1996-2020 carry 431121; the demo keeps this share
# small so most residents show the current code, while still exercising the old one.
QIYANG_CODE: Final = "431181"
QIYANG_2015_CODE: Final = "431121"
QIYANG_2015_CODE_SHARE: Final = 0.10
QIYANG_2015_CODE_YEARS: Final = (1996, 2020)
# People who moved in from a neighbouring county outside Yongzhou keep that county's code.
# Each county has its own neighbour, so no code is shared between two counties.
OUTSIDE_CODE_SHARE: Final = 0.015
NEIGHBOUR_CODES: Final[dict[str, str]] = {
    "431102": "430421",  # 衡阳县
    "431103": "430102",  # 长沙市芙蓉区
    "431181": "430426",  # 祁东县
    "431122": "450324",  # 全州县 (广西)
    "431123": "431002",  # 郴州市北湖区
    "431124": "450327",  # 灌阳县 (广西)
    "431125": "450332",  # 恭城瑶族自治县 (广西)
    "431126": "431024",  # 嘉禾县
    "431127": "441882",  # 连州市 (广东)
    "431128": "431021",  # 桂阳县
    "431129": "451123",  # 富川瑶族自治县 (广西)
}
# The three zones are carved out of their host counties; these shares of the host's residents
# have the zone's statistical code as household region.
ZONE_SHARES: Final[dict[str, tuple[str, float]]] = {
    "431103": ("431171", 0.06),  # 永州经济技术开发区
    "431181": ("431172", 0.05),  # 金洞管理区
    "431102": ("431173", 0.04),  # 回龙圩管理区
}
# A share of people live in the city seat rather than in the county of their household.
LIVING_IN_CITY_SEAT_SHARE: Final = 0.03
CITY_SEAT: Final = "431103"
CITY_SEAT_FOR_SEAT: Final = "431102"
DECEASED_SHARE: Final = 0.003
MOVED_AWAY_SHARE: Final = 0.005
STATUS_CHANGE_WINDOW_DAYS: Final = 3 * 365
OLDEST_AGE_YEARS: Final = 5 * len(AGE_GROUP_PER_MILLE)
BLOCK_ROWS: Final = 8192
LIVING, DECEASED, MOVED_AWAY = "正常", "死亡", "迁出"
MALE_WORD, FEMALE_WORD = "男", "女"


class DefectKind(StrEnum):
    """A kind of bad row the messy option injects. Values are the import's rejection codes."""

    BAD_CHECK_CHARACTER = "bad_check_character"  # the ID number's last character altered
    IMPOSSIBLE_DATE = "impossible_date"  # e.g. 02-30 inside the ID (check character still right)
    UNKNOWN_REGION = "unknown_region"  # the ID's address code is 431199, not a division
    UNKNOWN_HOUSEHOLD_REGION = "unknown_household_region"  # household region 431199
    MISSING_NAME = "missing_name"  # the name cell is empty
    SEX_CONTRADICTS_ID = "sex_contradicts_id"  # 男/女 is the opposite of the sequence parity
    EXACT_DUPLICATE = "exact_duplicate"  # the same row again later in the file: unchanged
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # same ID later, other phone: rejected


# Shares of persons whose row gets each defect when messy=True (about 1 % in all). The first six
# replace the person's good row; the two duplicates add a second row after the good one.
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
UNKNOWN_CODE: Final = "431199"
IMPOSSIBLE_MONTH_DAYS: Final = ("0230", "0431", "0631", "0931", "1131", "1301")


@dataclass(frozen=True, slots=True)
class HouseholdFileStats:
    """What a generated file holds: rows written, persons per county and the injected defects.

    The expected_* figures are what a first import of the file into an empty registry reports.
    """

    rows: int
    residents: int
    residents_by_county: dict[str, int]
    deceased: int
    moved_away: int
    defects: dict[DefectKind, int] = field(default_factory=dict)

    @property
    def broken_rows(self) -> int:
        """Rows that replaced a person's good row with a bad one."""
        return sum(n for kind, n in self.defects.items() if kind not in DUPLICATE_KINDS)

    @property
    def expected_accepted(self) -> int:
        return self.residents - self.broken_rows

    @property
    def expected_unchanged(self) -> int:
        return self.defects.get(DefectKind.EXACT_DUPLICATE, 0)

    @property
    def expected_rejected(self) -> int:
        return self.broken_rows + self.defects.get(DefectKind.CONFLICTING_DUPLICATE, 0)

    def to_json_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "residents": self.residents,
            "residents_by_county": dict(self.residents_by_county),
            "deceased": self.deceased,
            "moved_away": self.moved_away,
            "defects": {kind.value: n for kind, n in self.defects.items()},
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, object]) -> HouseholdFileStats:
        by_county = data["residents_by_county"]
        defects = data["defects"]
        assert isinstance(by_county, dict) and isinstance(defects, dict)
        return cls(
            rows=_as_int(data["rows"]),
            residents=_as_int(data["residents"]),
            residents_by_county={str(k): _as_int(v) for k, v in by_county.items()},
            deceased=_as_int(data["deceased"]),
            moved_away=_as_int(data["moved_away"]),
            defects={DefectKind(k): _as_int(v) for k, v in defects.items()},
        )


def _as_int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def allocate_residents(residents: int) -> dict[str, int]:
    """Split `residents` over the counties in proportion to their census population (largest
    remainder, so the parts add up exactly), in the shipped county order."""
    populations = {
        seed.code: seed.population
        for seed in REGIONS
        if seed.kind is RegionKind.COUNTY and seed.population
    }
    total = sum(populations.values())
    shares = {code: residents * population / total for code, population in populations.items()}
    allocated = {code: int(share) for code, share in shares.items()}
    left = residents - sum(allocated.values())
    by_remainder = sorted(shares, key=lambda code: shares[code] - allocated[code], reverse=True)
    for code in by_remainder[:left]:
        allocated[code] += 1
    return allocated


def historical_code_of(county_code: str) -> str:
    """The pre-1995 零陵地区 address code (4329xx) of a current county (DOMAIN.md §1.4)."""
    for seed in REGIONS:
        if (
            seed.kind is RegionKind.HISTORICAL
            and seed.code.startswith("4329")
            and seed.current_code == county_code
        ):
            return seed.code
    raise KeyError(county_code)


def _digit_sum(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


ADDRESS_WEIGHTS: Final = tuple(WEIGHTS[:6])
DATE_WEIGHTS: Final = tuple(WEIGHTS[6:14])
SEQUENCE_WEIGHTS: Final = tuple(WEIGHTS[14:17])


@dataclass(frozen=True, slots=True)
class _Calendar:
    """Per birth-date tables, indexed by the age in days (1 = born yesterday)."""

    offsets: tuple[int, ...]
    cumulative_weights: tuple[float, ...]
    compact: tuple[str, ...]  # YYYYMMDD as in the ID number
    iso: tuple[str, ...]  # YYYY-MM-DD for the 出生日期 column
    digit_sums: tuple[int, ...]  # weighted digit sum of YYYYMMDD for the check character
    years: tuple[int, ...]
    code_classes: tuple[int, ...]  # BORN_BEFORE_CURRENT_CODES, BORN_1996_TO_2020, ...
    pool_bases: tuple[int, ...]  # 2 * generation (names.GENERATION_STARTS)
    phone_shares: tuple[float, ...]
    deceased_shares: tuple[float, ...]
    event_shares: tuple[float, ...]  # deceased or moved away


@cache
def _calendar(today: date) -> _Calendar:
    days = OLDEST_AGE_YEARS * 366
    weights = [0.0] * (days + 1)
    ages = [0] * (days + 1)
    group_days: dict[int, list[int]] = {}
    for offset in range(1, days + 1):
        birth = today - timedelta(days=offset)
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        ages[offset] = age
        if age < OLDEST_AGE_YEARS:
            group_days.setdefault(age // 5, []).append(offset)
    for group, offsets in group_days.items():
        per_day = AGE_GROUP_PER_MILLE[group] / len(offsets)
        for offset in offsets:
            weights[offset] = per_day

    def by_age(table: Callable[[int], float]) -> tuple[float, ...]:
        return tuple(table(age) for age in ages)

    def normalised(shares: tuple[float, ...], mean_share: float) -> tuple[float, ...]:
        mean = sum(s * w for s, w in zip(shares, weights, strict=True)) / sum(weights)
        return tuple(s * mean_share / mean for s in shares)

    # Deaths recorded in the register rise steeply with age; moves away are mostly of people
    # of working age. Both are scaled so that their overall shares are the documented ones.
    deceased = normalised(
        by_age(lambda a: 0.2 if a < 60 else 1.5 if a < 75 else 5.0 if a < 85 else 12.0),
        DECEASED_SHARE,
    )
    moved = normalised(by_age(lambda a: 2.0 if 18 <= a <= 45 else 0.5), MOVED_AWAY_SHARE)
    births = [today - timedelta(days=offset) for offset in range(days + 1)]
    compact = tuple(b.strftime("%Y%m%d") for b in births)
    cumulative: list[float] = []
    running = 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    return _Calendar(
        offsets=tuple(range(days + 1)),
        cumulative_weights=tuple(cumulative),
        compact=compact,
        iso=tuple(b.isoformat() for b in births),
        digit_sums=tuple(_digit_sum(c, DATE_WEIGHTS) for c in compact),
        years=tuple(b.year for b in births),
        code_classes=tuple(_code_class(b.year) for b in births),
        pool_bases=tuple(2 * sum(b.year >= y for y in GENERATION_STARTS) for b in births),
        phone_shares=by_age(_phone_share),
        deceased_shares=deceased,
        event_shares=tuple(d + m for d, m in zip(deceased, moved, strict=True)),
    )


def _code_class(year: int) -> int:
    if year < FIRST_YEAR_OF_CURRENT_CODES:
        return BORN_BEFORE_CURRENT_CODES
    if year <= QIYANG_2015_CODE_YEARS[1]:
        return BORN_1996_TO_2020
    return BORN_SINCE_2021


def _phone_share(age: int) -> float:
    """Most adults give a mobile number; children rarely have one of their own."""
    if age < 12:
        return 0.0
    if age < 18:
        return 0.4
    return 0.95 if age < 70 else 0.7


@dataclass(frozen=True, slots=True)
class _Place:
    county_code: str
    township: str
    household_stem: str  # 湖南省永州市道县濂溪街道潇湘路
    residence_stem: str  # 道县濂溪街道潇湘路


@dataclass(frozen=True, slots=True)
class _CountyPlan:
    code: str
    # Address codes used in this county, by local index: current, historical, neighbour and,
    # for 祁阳 only, the 2015 code.
    address_codes: tuple[str, ...]
    address_sums: tuple[int, ...]
    places: tuple[_Place, ...]
    ethnic_groups: tuple[str, ...]
    ethnic_cumulative: tuple[float, ...]
    zone_code: str | None
    zone_share: float


CURRENT, HISTORICAL, NEIGHBOUR, QIYANG_2015 = 0, 1, 2, 3


HOUSE_NUMBERS_MAX: Final = 199


def _addresses(places: tuple[_Place, ...]) -> tuple[tuple[str, str, str, str], ...]:
    """Every house of the places: household address, county code, township, residence
    address. Made once per county so that a row picks a house instead of joining strings."""
    return tuple(
        (
            place.household_stem + number,
            place.county_code,
            place.township,
            place.residence_stem + number,
        )
        for place in places
        for number in [f"{n}号" for n in range(1, HOUSE_NUMBERS_MAX + 1)]
    )


def _county_names() -> dict[str, str]:
    return {seed.code: seed.name for seed in REGIONS if seed.kind is RegionKind.COUNTY}


def _places(county_code: str, county_name: str, rng: random.Random) -> tuple[_Place, ...]:
    places: list[_Place] = []
    for township in TOWNSHIPS[county_code]:
        if township.endswith("街道"):
            stems = rng.sample(ROAD_STEMS, 6)
            streets = [stem + rng.choice(ROAD_SUFFIXES) for stem in stems]
        else:
            villages = rng.sample(VILLAGE_STEMS, 6)
            streets = [f"{v}村{group}组" for v in villages for group in range(1, 9)]
        for street in streets:
            places.append(
                _Place(
                    county_code=county_code,
                    township=township,
                    household_stem=f"湖南省永州市{county_name}{township}{street}",
                    residence_stem=f"{county_name}{township}{street}",
                )
            )
    return tuple(places)


def _county_plans(seed: int) -> dict[str, _CountyPlan]:
    rng = random.Random(f"{seed}:places")
    plans: dict[str, _CountyPlan] = {}
    for code, name in _county_names().items():
        codes = [code, historical_code_of(code), NEIGHBOUR_CODES[code]]
        if code == QIYANG_CODE:
            codes.append(QIYANG_2015_CODE)
        yao = YAO_SHARE_BY_COUNTY.get(code, YAO_SHARE_ELSEWHERE)
        others = sum(share for _, share in OTHER_ETHNIC_GROUPS)
        groups = [(HAN, 1.0 - yao - others), (YAO, yao), *OTHER_ETHNIC_GROUPS]
        cumulative: list[float] = []
        running = 0.0
        for _, share in groups:
            running += share
            cumulative.append(running)
        zone_code, zone_share = ZONE_SHARES.get(code, (None, 0.0))
        plans[code] = _CountyPlan(
            code=code,
            address_codes=tuple(codes),
            address_sums=tuple(_digit_sum(c, ADDRESS_WEIGHTS) for c in codes),
            places=_places(code, name, rng),
            ethnic_groups=tuple(g for g, _ in groups),
            ethnic_cumulative=tuple(cumulative),
            zone_code=zone_code,
            zone_share=zone_share,
        )
    return plans


def _cumulative(weights: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    values = tuple(value for value, _ in weights)
    cumulative: list[int] = []
    running = 0
    for _, weight in weights:
        running += weight
        cumulative.append(running)
    return values, tuple(cumulative)


@dataclass
class _Tally:
    rows: int = 0
    deceased: int = 0
    moved_away: int = 0
    defects: dict[DefectKind, int] = field(default_factory=dict)

    def count(self, kind: DefectKind) -> None:
        self.defects[kind] = self.defects.get(kind, 0) + 1


Row = list[str]


class _Defects:
    """Breaks rows on purpose, with its own random stream so a messy file holds the same
    persons as the clean file of the same seed."""

    def __init__(self, seed: int, tally: _Tally) -> None:
        self._rng = random.Random(f"{seed}:messy")
        self._tally = tally
        kinds = list(DEFECT_SHARES)
        self._kinds = kinds
        self._thresholds: list[float] = []
        running = 0.0
        for kind in kinds:
            running += DEFECT_SHARES[kind]
            self._thresholds.append(running)
        self._total = running

    def apply(self, row: Row, later: list[Row]) -> None:
        """Maybe break `row` in place, or queue a duplicate of it in `later`."""
        draw = self._rng.random()
        if draw >= self._total:
            return
        kind = next(k for k, t in zip(self._kinds, self._thresholds, strict=True) if draw < t)
        self._tally.count(kind)
        resident_id = row[0]
        if kind is DefectKind.BAD_CHECK_CHARACTER:
            wrong = CHECK_CHARACTERS.replace(resident_id[17], "")
            row[0] = resident_id[:17] + self._rng.choice(wrong)
        elif kind is DefectKind.IMPOSSIBLE_DATE:
            month_day = self._rng.choice(IMPOSSIBLE_MONTH_DAYS)
            first17 = resident_id[:10] + month_day + resident_id[14:17]
            row[0] = first17 + check_character(first17)
            row[4] = f"{resident_id[6:10]}-{month_day[:2]}-{month_day[2:]}"
        elif kind is DefectKind.UNKNOWN_REGION:
            first17 = UNKNOWN_CODE + resident_id[6:17]
            row[0] = first17 + check_character(first17)
        elif kind is DefectKind.UNKNOWN_HOUSEHOLD_REGION:
            row[5] = UNKNOWN_CODE
        elif kind is DefectKind.MISSING_NAME:
            row[1] = ""
        elif kind is DefectKind.SEX_CONTRADICTS_ID:
            row[2] = FEMALE_WORD if row[2] == MALE_WORD else MALE_WORD
        elif kind is DefectKind.EXACT_DUPLICATE:
            later.append(list(row))
        else:
            duplicate = list(row)
            duplicate[10] = self._other_phone(row[10])
            later.append(duplicate)

    def _other_phone(self, phone: str) -> str:
        while True:
            other = f"1{self._rng.randrange(3, 10)}{self._rng.randrange(10**9):09d}"
            if other != phone:
                return other


def write_household_csv(
    path: Path, *, residents: int, seed: int, today: date, messy: bool = False
) -> HouseholdFileStats:
    """Write a synthetic household register of `residents` persons to `path` (UTF-8 CSV).

    The file appears complete or not at all: it is written next to `path` and renamed.
    """
    if residents < 0:
        raise ValueError("residents must not be negative")
    allocation = allocate_residents(residents)
    calendar = _calendar(today)
    plans = _county_plans(seed)
    rng = random.Random(seed)
    tally = _Tally()
    defects = _Defects(seed, tally) if messy else None
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with partial.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle:
            writer = csv.writer(handle)
            writer.writerow(CANONICAL_HEADER)
            for county_code, count in allocation.items():
                _write_county(
                    writer, rng, plans, plans[county_code], count, calendar, today, tally, defects
                )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return HouseholdFileStats(
        rows=tally.rows,
        residents=residents,
        residents_by_county=allocation,
        deceased=tally.deceased,
        moved_away=tally.moved_away,
        defects=dict(sorted(tally.defects.items())),
    )


class _RowWriter(Protocol):
    """The part of a csv writer this module uses."""

    def writerows(self, rows: Iterable[Iterable[str]], /) -> None: ...


def _write_county(
    writer: _RowWriter,
    rng: random.Random,
    plans: Mapping[str, _CountyPlan],
    plan: _CountyPlan,
    count: int,
    calendar: _Calendar,
    today: date,
    tally: _Tally,
    defects: _Defects | None,
) -> None:
    """Write one county's residents in blocks of rows.

    Everything that depends only on the birth date or the address code is looked up in tables
    made once per county; a row costs a few random draws, one dict update for its sequence code
    and string joins.
    """
    random_ = rng.random
    surnames, surname_cumulative = _cumulative(SURNAMES)
    yao_surnames, yao_cumulative = _cumulative(YAO_SURNAMES)
    pools = _given_name_pools()
    pool_sizes = tuple(len(pool) for pool in pools)
    addresses = _addresses(plan.places)
    tails = _sequence_tails()
    code_choices = _address_code_choices(plan)
    id_prefixes = [tuple(code + c for c in calendar.compact) for code in plan.address_codes]
    id_remainders = [
        tuple((code_sum + s) % 11 for s in calendar.digit_sums) for code_sum in plan.address_sums
    ]
    seat_code = CITY_SEAT_FOR_SEAT if plan.code == CITY_SEAT else CITY_SEAT
    seat_addresses = _addresses(plans[seat_code].places)
    seat_count = len(seat_addresses)
    iso, code_classes = calendar.iso, calendar.code_classes
    pool_bases = calendar.pool_bases
    phone_shares, event_shares = calendar.phone_shares, calendar.event_shares
    deceased_shares = calendar.deceased_shares
    prefixes, prefix_count = MOBILE_PREFIXES, len(MOBILE_PREFIXES)
    sex_words = (FEMALE_WORD, MALE_WORD)
    # Odd sequences 001-999 are men's (500 of them), even 002-998 women's (499).
    sequence_bases, sequence_spans = (2, 1), (499, 500)
    household_default = plan.code
    zone_code, zone_share = plan.zone_code or plan.code, plan.zone_share
    # How many persons so far per (address code, birth date, sex) in this county.
    seen: dict[int, int] = {}
    remaining = count
    while remaining:
        size = min(BLOCK_ROWS, remaining)
        remaining -= size
        offsets = rng.choices(calendar.offsets, cum_weights=calendar.cumulative_weights, k=size)
        family = rng.choices(surnames, cum_weights=surname_cumulative, k=size)
        yao_family = rng.choices(yao_surnames, cum_weights=yao_cumulative, k=size)
        ethnic = rng.choices(plan.ethnic_groups, cum_weights=plan.ethnic_cumulative, k=size)
        homes = rng.choices(addresses, k=size)
        rows: list[Row] = []
        later: list[Row] = []
        for i in range(size):
            offset = offsets[i]
            is_male = int(random_() < MALE_SHARE)
            local = code_choices[code_classes[offset]][int(random_() * CODE_CHOICE_SLOTS)]
            key = (local << 17 | offset) << 1 | is_male
            nth = seen.get(key, 0)
            seen[key] = nth + 1
            if nth >= sequence_spans[is_male]:
                raise ValueError("too many residents born on one day with one address code")
            # The start differs per key so that sequence codes do not all begin at 001.
            sequence = sequence_bases[is_male] + 2 * ((key * 7 + nth) % sequence_spans[is_male])
            group = ethnic[i]
            pool = pool_bases[offset] + is_male
            home = homes[i]
            residence = home
            if random_() < LIVING_IN_CITY_SEAT_SHARE:
                residence = seat_addresses[int(random_() * seat_count)]
            phone = ""
            if random_() < phone_shares[offset]:
                phone = prefixes[int(random_() * prefix_count)] + str(
                    100_000_000 + int(random_() * 100_000_000)
                )[1:]
            status = LIVING
            changed_on = ""
            draw = random_()
            if draw < event_shares[offset]:
                if draw < deceased_shares[offset]:
                    status = DECEASED
                    tally.deceased += 1
                else:
                    status = MOVED_AWAY
                    tally.moved_away += 1
                window = min(STATUS_CHANGE_WINDOW_DAYS, offset)
                changed_on = (today - timedelta(days=int(random_() * window))).isoformat()
            row: Row = [
                id_prefixes[local][offset] + tails[id_remainders[local][offset]][sequence],
                (yao_family[i] if group == YAO else family[i])
                + pools[pool][int(random_() * pool_sizes[pool])],
                sex_words[is_male],
                group,
                iso[offset],
                zone_code if random_() < zone_share else household_default,
                home[0],
                residence[1],
                residence[2],
                residence[3],
                phone,
                status,
                changed_on,
            ]
            if defects is not None:
                defects.apply(row, later)
            rows.append(row)
        rows.extend(later)
        tally.rows += len(rows)
        writer.writerows(rows)


CODE_CHOICE_SLOTS: Final = 2000
BORN_BEFORE_CURRENT_CODES, BORN_1996_TO_2020, BORN_SINCE_2021 = 0, 1, 2


def _address_code_choices(plan: _CountyPlan) -> tuple[tuple[int, ...], ...]:
    """For each birth-year class, CODE_CHOICE_SLOTS local address-code indexes in the documented
    proportions: a uniform pick from the slots picks a code."""

    def slots(shares: list[tuple[int, float]]) -> tuple[int, ...]:
        table: list[int] = []
        for local, share in shares:
            table.extend([local] * round(share * CODE_CHOICE_SLOTS))
        table.extend([shares[0][0]] * (CODE_CHOICE_SLOTS - len(table)))
        return tuple(table[:CODE_CHOICE_SLOTS])

    inside = 1.0 - OUTSIDE_CODE_SHARE
    is_qiyang = len(plan.address_codes) > QIYANG_2015
    old_current = QIYANG_2015 if is_qiyang else CURRENT
    before = slots(
        [
            (HISTORICAL, inside * HISTORICAL_CODE_SHARE_BEFORE_1996),
            (old_current, inside * (1 - HISTORICAL_CODE_SHARE_BEFORE_1996)),
            (NEIGHBOUR, OUTSIDE_CODE_SHARE),
        ]
    )
    since_2021 = slots([(CURRENT, inside), (NEIGHBOUR, OUTSIDE_CODE_SHARE)])
    middle = since_2021
    if is_qiyang:
        middle = slots(
            [
                (CURRENT, inside * (1 - QIYANG_2015_CODE_SHARE)),
                (QIYANG_2015, inside * QIYANG_2015_CODE_SHARE),
                (NEIGHBOUR, OUTSIDE_CODE_SHARE),
            ]
        )
    return before, middle, since_2021


@cache
def _given_name_pools() -> tuple[tuple[str, ...], ...]:
    """Pools indexed by generation * 2 + is_male."""
    pools: list[tuple[str, ...]] = []
    for generation in range(3):
        share = SINGLE_GIVEN_SHARE[generation]
        pools.append(given_name_pool(FEMALE_GIVEN[generation], share))
        pools.append(given_name_pool(MALE_GIVEN[generation], share))
    return tuple(pools)


@cache
def _sequence_tails() -> tuple[tuple[str, ...], ...]:
    """The last four characters of an ID number (sequence code and check character), indexed by
    the remainder mod 11 of the first 14 digits' weighted sum and then by the sequence code."""
    texts = [f"{n:03d}" for n in range(1000)]
    sums = [_digit_sum(t, SEQUENCE_WEIGHTS) for t in texts]
    return tuple(
        tuple(t + CHECK_CHARACTERS[(remainder + s) % 11] for t, s in zip(texts, sums, strict=True))
        for remainder in range(11)
    )
