"""A synthetic household register for the whole city, written as the CSV the import reads.

The file has the canonical Chinese header (socialcard.registry.household.columns) and one row
per resident, county after county: residents per county in proportion to the 2020 census, a
Hunan age pyramid, valid ID numbers (GB 11643) with the address code a person of that age
carries, Yao residents where they live, zone codes for the management zones, a few deaths and
moves away (socialcard.demo.population has the shares).

It streams: rows are made in blocks from precomputed tables and written at once, so memory
stays flat whatever the size. The same seed and `today` give the same bytes. Sequence codes are
counted per (address code, birth date, sex) within a county, and no address code is used by two
counties, so ID numbers never collide.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Final, Protocol

from socialcard.demo.defects import DUPLICATE_KINDS, DefectInjector, DefectKind, Row
from socialcard.demo.names import (
    FEMALE_GIVEN,
    MALE_GIVEN,
    MOBILE_PREFIXES,
    SINGLE_GIVEN_SHARE,
    SURNAMES,
    YAO,
    YAO_SURNAMES,
    given_name_pool,
)
from socialcard.demo.population import (
    CITY_SEAT,
    CITY_SEAT_OF_THE_SEAT,
    CODE_CHOICE_SLOTS,
    LIVING_IN_CITY_SEAT_SHARE,
    MALE_SHARE,
    SEQUENCE_WEIGHTS,
    BirthCalendar,
    CountyPlan,
    allocate_residents,
    birth_calendar,
    county_plans,
    weighted_digit_sum,
)
from socialcard.kernel.collector import collector_paused
from socialcard.kernel.resident_id import CHECK_CHARACTERS
from socialcard.registry.household.columns import CANONICAL_HEADER

BLOCK_ROWS: Final = 8192
STATUS_CHANGE_WINDOW_DAYS: Final = 3 * 365
LIVING, DECEASED, MOVED_AWAY = "正常", "死亡", "迁出"
MALE_WORD, FEMALE_WORD = "男", "女"


@dataclass(frozen=True, slots=True)
class HouseholdFileStats:
    """What a generated file holds: rows written, persons per county and injected defects.

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
        if not isinstance(by_county, dict) or not isinstance(defects, dict):
            raise TypeError("residents_by_county and defects must be objects")
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


@dataclass
class _Tally:
    rows: int = 0
    deceased: int = 0
    moved_away: int = 0


class _RowWriter(Protocol):
    """The part of a csv writer this module uses."""

    def writerows(self, rows: Iterable[Iterable[str]], /) -> None: ...


def write_household_csv(
    path: Path, *, residents: int, seed: int, today: date, messy: bool = False
) -> HouseholdFileStats:
    """Write a synthetic household register of `residents` persons to `path` (UTF-8 CSV).

    With `messy` a documented share of rows is broken (socialcard.demo.defects.DEFECT_SHARES).
    The file appears complete or not at all: it is written beside `path`, then renamed.
    """
    if residents < 0:
        raise ValueError("residents must not be negative")
    allocation = allocate_residents(residents)
    calendar = birth_calendar(today)
    plans = county_plans(seed)
    rng = random.Random(seed)
    tally = _Tally()
    defects = DefectInjector(seed) if messy else None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    # Rows hold only strings, so they can form no reference cycles; the cyclic collector would
    # only rescan millions of fresh rows (about 10 % of the time).
    try:
        with (
            collector_paused(),
            partial.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle,
        ):
            writer = csv.writer(handle)
            writer.writerow(CANONICAL_HEADER)
            for county_code, count in allocation.items():
                seat_code = CITY_SEAT_OF_THE_SEAT if county_code == CITY_SEAT else CITY_SEAT
                _write_county(
                    writer,
                    rng,
                    plan=plans[county_code],
                    seat=plans[seat_code],
                    count=count,
                    calendar=calendar,
                    today=today,
                    tally=tally,
                    defects=defects,
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
        defects=dict(sorted(defects.counts.items())) if defects else {},
    )


def stats_path_of(path: Path) -> Path:
    """Where ensure_household_csv keeps the stats of the file at `path`."""
    return path.with_suffix(".json")


def ensure_household_csv(
    path: Path, *, residents: int, seed: int, today: date, messy: bool = False
) -> HouseholdFileStats:
    """Reuse the file at `path` when it and its stats exist (the caller names the file after its
    parameters); otherwise write both. A file written on an earlier day stays valid."""
    stats_path = stats_path_of(path)
    if path.exists() and stats_path.exists():
        return HouseholdFileStats.from_json_dict(json.loads(stats_path.read_text("utf-8")))
    stats = write_household_csv(path, residents=residents, seed=seed, today=today, messy=messy)
    stats_path.write_text(json.dumps(stats.to_json_dict(), ensure_ascii=False), "utf-8")
    return stats


def _write_county(
    writer: _RowWriter,
    rng: random.Random,
    *,
    plan: CountyPlan,
    seat: CountyPlan,
    count: int,
    calendar: BirthCalendar,
    today: date,
    tally: _Tally,
    defects: DefectInjector | None,
) -> None:
    """Write one county's residents, a block of rows at a time.

    Whatever depends only on the birth date, the address code or the house is looked up in
    tables made once per county; a row costs a few random draws, one dict update for its
    sequence code and a few string joins. Names are local variables because this loop runs
    5.3 million times for the full city.
    """
    random_ = rng.random
    surnames, surname_cumulative = _cumulative(SURNAMES)
    yao_surnames, yao_cumulative = _cumulative(YAO_SURNAMES)
    pools = _given_name_pools()
    pool_sizes = tuple(len(pool) for pool in pools)
    tails = _id_tails()
    houses = plan.houses()
    seat_houses = seat.houses()
    seat_count = len(seat_houses)
    code_choices = plan.address_code_choices()
    id_heads = [tuple(code + c for c in calendar.compact) for code in plan.address_codes]
    id_remainders = [
        tuple((code_sum + s) % 11 for s in calendar.digit_sums) for code_sum in plan.address_sums
    ]
    iso, code_classes, generations = calendar.iso, calendar.code_classes, calendar.generations
    phone_shares, event_shares = calendar.phone_shares, calendar.event_shares
    deceased_shares = calendar.deceased_shares
    prefixes, prefix_count = MOBILE_PREFIXES, len(MOBILE_PREFIXES)
    sex_words = (FEMALE_WORD, MALE_WORD)
    # Odd sequence codes 001-999 are men's (500 of them), even 002-998 women's (499).
    sequence_bases, sequence_spans = (2, 1), (499, 500)
    household_code, zone_code, zone_share = plan.code, plan.zone_code or plan.code, plan.zone_share
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
        homes = rng.choices(houses, k=size)
        rows: list[Row] = []
        later: list[Row] = []
        for i in range(size):
            offset = offsets[i]
            is_male = random_() < MALE_SHARE
            local = code_choices[code_classes[offset]][int(random_() * CODE_CHOICE_SLOTS)]
            key = (local << 17 | offset) << 1 | is_male
            nth = seen.get(key, 0)
            seen[key] = nth + 1
            span = sequence_spans[is_male]
            if nth >= span:
                raise ValueError("too many residents born on one day with one address code")
            # The first sequence code differs per key, so that codes do not all start at 001.
            sequence = sequence_bases[is_male] + 2 * ((key * 7 + nth) % span)
            group = ethnic[i]
            pool = 2 * generations[offset] + is_male
            home = homes[i]
            residence = home
            if random_() < LIVING_IN_CITY_SEAT_SHARE:
                residence = seat_houses[int(random_() * seat_count)]
            phone = ""
            if random_() < phone_shares[offset]:
                number = str(100_000_000 + int(random_() * 100_000_000))
                phone = prefixes[int(random_() * prefix_count)] + number[1:]
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
            row: Row = (
                id_heads[local][offset] + tails[id_remainders[local][offset]][sequence],
                (yao_family[i] if group == YAO else family[i])
                + pools[pool][int(random_() * pool_sizes[pool])],
                sex_words[is_male],
                group,
                iso[offset],
                zone_code if random_() < zone_share else household_code,
                home[0],
                residence[1],
                residence[2],
                residence[3],
                phone,
                status,
                changed_on,
            )
            if defects is not None:
                row = defects.apply(row, later)
            rows.append(row)
        rows.extend(later)
        tally.rows += len(rows)
        writer.writerows(rows)


def _cumulative(weights: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    values = tuple(value for value, _ in weights)
    cumulative: list[int] = []
    running = 0
    for _, weight in weights:
        running += weight
        cumulative.append(running)
    return values, tuple(cumulative)


@cache
def _given_name_pools() -> tuple[tuple[str, ...], ...]:
    """Given-name pools indexed by 2 * generation + is_male."""
    pools: list[tuple[str, ...]] = []
    for generation, share in enumerate(SINGLE_GIVEN_SHARE):
        pools.append(given_name_pool(FEMALE_GIVEN[generation], share))
        pools.append(given_name_pool(MALE_GIVEN[generation], share))
    return tuple(pools)


@cache
def _id_tails() -> tuple[tuple[str, ...], ...]:
    """The last four characters of an ID number (sequence code and check character), indexed
    by the weighted sum of the first 14 digits mod 11, then by the sequence code."""
    texts = [f"{n:03d}" for n in range(1000)]
    sums = [weighted_digit_sum(t, SEQUENCE_WEIGHTS) for t in texts]
    return tuple(
        tuple(t + CHECK_CHARACTERS[(remainder + s) % 11] for t, s in zip(texts, sums, strict=True))
        for remainder in range(11)
    )
