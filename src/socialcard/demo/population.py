"""Who lives where and was born when: the shape of the synthetic city's population.

Residents are split over the counties in proportion to the 2020 census (socialcard.regions.data),
ages follow a Hunan age pyramid, and each person's ID address code is the one a person of that
age and county carries (DOMAIN.md §1.4). The tables here are computed once per seed or per day
so that writing a row is only look-ups.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Final

from socialcard.demo.names import (
    GENERATION_STARTS,
    HAN,
    OTHER_ETHNIC_GROUPS,
    ROAD_STEMS,
    ROAD_SUFFIXES,
    VILLAGE_STEMS,
    YAO,
    YAO_SHARE_BY_COUNTY,
    YAO_SHARE_ELSEWHERE,
)
from socialcard.kernel.resident_id import WEIGHTS
from socialcard.regions.data import REGIONS, TOWNSHIPS
from socialcard.regions.models import RegionKind

# Hunan's age structure, 7th census (2020) shape, in per mille of the population by 5-year
# group from 0-4 to 100-104: 0-14 about 18 %, 60 and over about 19 %, a bulge from 30 to 59
# and few people over 85. Rounded estimates for a demo, not the published table.
AGE_GROUP_PER_MILLE: Final = (
    56, 65, 62, 54, 49, 56, 83, 70, 65, 89, 87, 66, 50, 54, 39, 24, 16, 8, 2.5, 0.5, 0.1,
)  # fmt: skip
OLDEST_AGE_YEARS: Final = 5 * len(AGE_GROUP_PER_MILLE)
MALE_SHARE: Final = 0.511  # Hunan's sex ratio is about 104.6 men per 100 women.

# Born 1996 or later: the county's current code. Born earlier: mostly the 4329xx code, which
# numbers assigned before 1995 carry for life.
FIRST_YEAR_OF_CURRENT_CODES: Final = 1996
HISTORICAL_CODE_SHARE_BEFORE_1996: Final = 0.85
# 祁阳 was 祁阳县 (431121) until it became 祁阳市 (431181) in 2021, and numbers are never
# re-issued: 祁阳 people born 1996-2020 carry 431121. A few carry 431181 (numbers re-assigned
# after a household moved within the county), so both codes are exercised.
QIYANG_CODE: Final = "431181"
QIYANG_2015_CODE: Final = "431121"
QIYANG_2015_CODE_SHARE: Final = 0.95
LAST_YEAR_OF_QIYANG_2015_CODE: Final = 2020
# People who moved in from outside Yongzhou keep their old county's code. Each county has its
# own neighbour, so that no address code is used by two counties.
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
# The three zones lie inside their host counties; this share of the host's residents has the
# zone's statistical code as household region (DOMAIN.md §1.4: never an ID address code).
ZONE_SHARES: Final[dict[str, tuple[str, float]]] = {
    "431103": ("431171", 0.06),  # 永州经济技术开发区
    "431181": ("431172", 0.05),  # 金洞管理区
    "431102": ("431173", 0.04),  # 回龙圩管理区
}
# Some people live in the city seat (冷水滩区) rather than in their household county; people of
# the seat itself then live in 零陵区.
LIVING_IN_CITY_SEAT_SHARE: Final = 0.03
CITY_SEAT: Final = "431103"
CITY_SEAT_OF_THE_SEAT: Final = "431102"
DECEASED_SHARE: Final = 0.003
MOVED_AWAY_SHARE: Final = 0.005
# Houses per street in a town, and per village group (组) in a township.
STREET_HOUSES_MAX: Final = 199
VILLAGE_GROUP_HOUSES_MAX: Final = 60

ADDRESS_WEIGHTS: Final = tuple(WEIGHTS[:6])
DATE_WEIGHTS: Final = tuple(WEIGHTS[6:14])
SEQUENCE_WEIGHTS: Final = tuple(WEIGHTS[14:17])

# Local indexes of a county's address codes.
CURRENT, HISTORICAL, NEIGHBOUR, QIYANG_2015 = 0, 1, 2, 3
# Birth-year classes that decide which address codes are possible.
BORN_BEFORE_1996, BORN_1996_TO_2020, BORN_SINCE_2021 = 0, 1, 2
CODE_CHOICE_SLOTS: Final = 2000


def weighted_digit_sum(digits: str, weights: tuple[int, ...]) -> int:
    """Part of the GB 11643 check sum: the sum of digit times weight over some positions."""
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


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


@dataclass(frozen=True, slots=True)
class BirthCalendar:
    """Tables per possible birth date, indexed by the age in days on `today` (1 = yesterday)."""

    offsets: tuple[int, ...]
    cumulative_weights: tuple[float, ...]  # the age pyramid, for random.choices
    compact: tuple[str, ...]  # YYYYMMDD as in the ID number
    iso: tuple[str, ...]  # YYYY-MM-DD for the 出生日期 column
    digit_sums: tuple[int, ...]  # weighted digit sum of YYYYMMDD, for the check character
    code_classes: tuple[int, ...]  # BORN_BEFORE_1996, BORN_1996_TO_2020 or BORN_SINCE_2021
    generations: tuple[int, ...]  # 0, 1, 2 per names.GENERATION_STARTS
    phone_shares: tuple[float, ...]  # chance of having a mobile number
    deceased_shares: tuple[float, ...]
    event_shares: tuple[float, ...]  # chance of being deceased or moved away


def _phone_share(age: int) -> float:
    """Most adults give a mobile number; children rarely have one of their own."""
    if age < 12:
        return 0.0
    if age < 18:
        return 0.4
    return 0.95 if age < 70 else 0.7


def _deceased_weight(age: int) -> float:
    # Deaths recorded in the register rise steeply with age.
    return 0.2 if age < 60 else 1.5 if age < 75 else 5.0 if age < 85 else 12.0


def _moved_away_weight(age: int) -> float:
    # Moves out of the city are mostly of people of working age.
    return 2.0 if 18 <= age <= 45 else 0.5


def _code_class(year: int) -> int:
    if year < FIRST_YEAR_OF_CURRENT_CODES:
        return BORN_BEFORE_1996
    if year <= LAST_YEAR_OF_QIYANG_2015_CODE:
        return BORN_1996_TO_2020
    return BORN_SINCE_2021


@lru_cache(maxsize=2)
def birth_calendar(today: date) -> BirthCalendar:
    """The birth-date tables for residents counted on `today`."""
    days = OLDEST_AGE_YEARS * 366
    births = [today - timedelta(days=offset) for offset in range(days + 1)]
    ages = [today.year - b.year - ((today.month, today.day) < (b.month, b.day)) for b in births]
    group_sizes: dict[int, int] = {}
    for offset in range(1, days + 1):
        if ages[offset] < OLDEST_AGE_YEARS:
            group_sizes[ages[offset] // 5] = group_sizes.get(ages[offset] // 5, 0) + 1
    # Nobody is born today (offset 0) or older than the pyramid, so their weight is zero.
    weights = [
        AGE_GROUP_PER_MILLE[age // 5] / group_sizes[age // 5]
        if offset > 0 and age < OLDEST_AGE_YEARS
        else 0.0
        for offset, age in enumerate(ages)
    ]
    total_weight = sum(weights)

    def by_age(share_of: Callable[[int], float], mean_share: float) -> tuple[float, ...]:
        # Scaled so that the share over the whole pyramid is mean_share.
        raw = [share_of(age) for age in ages]
        mean = sum(r * w for r, w in zip(raw, weights, strict=True)) / total_weight
        return tuple(r * mean_share / mean for r in raw)

    deceased = by_age(_deceased_weight, DECEASED_SHARE)
    moved_away = by_age(_moved_away_weight, MOVED_AWAY_SHARE)
    compact = tuple(b.strftime("%Y%m%d") for b in births)
    cumulative: list[float] = []
    running = 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    return BirthCalendar(
        offsets=tuple(range(days + 1)),
        cumulative_weights=tuple(cumulative),
        compact=compact,
        iso=tuple(b.isoformat() for b in births),
        digit_sums=tuple(weighted_digit_sum(c, DATE_WEIGHTS) for c in compact),
        code_classes=tuple(_code_class(b.year) for b in births),
        generations=tuple(sum(b.year >= y for y in GENERATION_STARTS) for b in births),
        phone_shares=tuple(_phone_share(age) for age in ages),
        deceased_shares=deceased,
        event_shares=tuple(d + m for d, m in zip(deceased, moved_away, strict=True)),
    )


@dataclass(frozen=True, slots=True)
class Place:
    """A street (in a 街道) or a village group (in a 镇) where residents live."""

    county_code: str
    township: str
    household_stem: str  # 湖南省永州市道县濂溪街道潇湘路
    residence_stem: str  # 道县濂溪街道潇湘路
    houses_max: int


# A house: household address, residence county code, residence township, residence address.
House = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class CountyPlan:
    """What residents of one county can look like."""

    code: str
    # Address codes by local index: CURRENT, HISTORICAL, NEIGHBOUR and, for 祁阳, QIYANG_2015.
    address_codes: tuple[str, ...]
    address_sums: tuple[int, ...]
    places: tuple[Place, ...]
    ethnic_groups: tuple[str, ...]
    ethnic_cumulative: tuple[float, ...]
    zone_code: str | None
    zone_share: float

    @property
    def is_qiyang(self) -> bool:
        return len(self.address_codes) > QIYANG_2015

    def houses(self) -> tuple[House, ...]:
        """Every house of every place, so that a row picks a house instead of joining text."""
        return _houses(self.places)

    def address_code_choices(self) -> tuple[tuple[int, ...], ...]:
        """Per birth-year class, CODE_CHOICE_SLOTS local address-code indexes in the documented
        proportions: a uniform pick among the slots picks a code."""
        inside = 1.0 - OUTSIDE_CODE_SHARE
        old_current = QIYANG_2015 if self.is_qiyang else CURRENT
        before_1996 = _slots(
            [
                (HISTORICAL, inside * HISTORICAL_CODE_SHARE_BEFORE_1996),
                (old_current, inside * (1 - HISTORICAL_CODE_SHARE_BEFORE_1996)),
                (NEIGHBOUR, OUTSIDE_CODE_SHARE),
            ]
        )
        since_2021 = _slots([(CURRENT, inside), (NEIGHBOUR, OUTSIDE_CODE_SHARE)])
        from_1996_to_2020 = since_2021
        if self.is_qiyang:
            from_1996_to_2020 = _slots(
                [
                    (CURRENT, inside * (1 - QIYANG_2015_CODE_SHARE)),
                    (QIYANG_2015, inside * QIYANG_2015_CODE_SHARE),
                    (NEIGHBOUR, OUTSIDE_CODE_SHARE),
                ]
            )
        return before_1996, from_1996_to_2020, since_2021


# A county's houses and the city seat's are needed together; three entries keep the seat's
# houses cached across counties without holding every county's in memory after a run.
@lru_cache(maxsize=3)
def _houses(places: tuple[Place, ...]) -> tuple[House, ...]:
    most = max(STREET_HOUSES_MAX, VILLAGE_GROUP_HOUSES_MAX)
    numbers = [f"{n}号" for n in range(1, most + 1)]
    return tuple(
        (
            place.household_stem + number,
            place.county_code,
            place.township,
            place.residence_stem + number,
        )
        for place in places
        for number in numbers[: place.houses_max]
    )


def _slots(shares: list[tuple[int, float]]) -> tuple[int, ...]:
    table: list[int] = []
    for local, share in shares:
        table.extend([local] * round(share * CODE_CHOICE_SLOTS))
    table.extend([shares[0][0]] * (CODE_CHOICE_SLOTS - len(table)))
    return tuple(table[:CODE_CHOICE_SLOTS])


def _places(county_code: str, county_name: str, rng: random.Random) -> tuple[Place, ...]:
    places: list[Place] = []
    for township in TOWNSHIPS[county_code]:
        if township.endswith("街道"):
            stems = rng.sample(ROAD_STEMS, 6)
            streets = [stem + rng.choice(ROAD_SUFFIXES) for stem in stems]
            houses_max = STREET_HOUSES_MAX
        else:
            villages = rng.sample(VILLAGE_STEMS, 6)
            streets = [f"{village}村{group}组" for village in villages for group in range(1, 9)]
            houses_max = VILLAGE_GROUP_HOUSES_MAX
        places.extend(
            Place(
                county_code=county_code,
                township=township,
                household_stem=f"湖南省永州市{county_name}{township}{street}",
                residence_stem=f"{county_name}{township}{street}",
                houses_max=houses_max,
            )
            for street in streets
        )
    return tuple(places)


def _cumulative(shares: list[tuple[str, float]]) -> tuple[float, ...]:
    cumulative: list[float] = []
    running = 0.0
    for _, share in shares:
        running += share
        cumulative.append(running)
    return tuple(cumulative)


def county_plans(seed: int) -> dict[str, CountyPlan]:
    """One plan per county, in the shipped order; street and village names depend on `seed`."""
    rng = random.Random(f"{seed}:places")
    plans: dict[str, CountyPlan] = {}
    for region in REGIONS:
        if region.kind is not RegionKind.COUNTY:
            continue
        code = region.code
        codes = [code, historical_code_of(code), NEIGHBOUR_CODES[code]]
        if code == QIYANG_CODE:
            codes.append(QIYANG_2015_CODE)
        yao = YAO_SHARE_BY_COUNTY.get(code, YAO_SHARE_ELSEWHERE)
        others = sum(share for _, share in OTHER_ETHNIC_GROUPS)
        groups = [(HAN, 1.0 - yao - others), (YAO, yao), *OTHER_ETHNIC_GROUPS]
        zone_code, zone_share = ZONE_SHARES.get(code, (None, 0.0))
        plans[code] = CountyPlan(
            code=code,
            address_codes=tuple(codes),
            address_sums=tuple(weighted_digit_sum(c, ADDRESS_WEIGHTS) for c in codes),
            places=_places(code, region.name, rng),
            ethnic_groups=tuple(group for group, _ in groups),
            ethnic_cumulative=_cumulative(groups),
            zone_code=zone_code,
            zone_share=zone_share,
        )
    return plans
