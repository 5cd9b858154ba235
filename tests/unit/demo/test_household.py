"""The synthetic household register: valid, unique, shaped like Yongzhou, deterministic, and with
exactly the defects it says it injected (checked with the import's own row rules)."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from socialcard.demo.defects import DEFECT_SHARES, DefectKind
from socialcard.demo.household import HouseholdFileStats, write_household_csv
from socialcard.demo.population import (
    NEIGHBOUR_CODES,
    QIYANG_2015_CODE,
    QIYANG_CODE,
    ZONE_SHARES,
    allocate_residents,
    historical_code_of,
)
from socialcard.kernel.resident_id import (
    YONGZHOU_CURRENT_CODES,
    YONGZHOU_HISTORICAL_CODES,
    ResidentId,
    Sex,
)
from socialcard.regions.data import REGIONS, TOWNSHIPS
from socialcard.regions.models import RegionKind
from socialcard.registry.household.columns import CANONICAL_HEADER, map_header
from socialcard.registry.household.rules import PersonRecord, check_row

TODAY = date(2026, 3, 1)
RESIDENTS = 20_000
SEED = 7

COUNTIES = {seed.code: seed for seed in REGIONS if seed.kind is RegionKind.COUNTY}


def current_county(code: str) -> str | None:
    seed = next(seed for seed in REGIONS if seed.code == code)
    if seed.kind is RegionKind.COUNTY:
        return code
    successor = seed.host_code or seed.current_code
    return current_county(successor) if successor else None


# Every Yongzhou code the import knows, mapped to its current county (None for the city), as
# the import job builds it from the regions table.
COUNTY_OF: dict[str, str | None] = {seed.code: current_county(seed.code) for seed in REGIONS}
FIELDS = {name: position for position, name in map_header(list(CANONICAL_HEADER))[0].items()}


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    stats: HouseholdFileStats
    rows: list[dict[str, str]]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == list(CANONICAL_HEADER)
        return [{field: cells[pos] for field, pos in FIELDS.items()} for cells in reader]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> GeneratedFile:
    path = tmp_path_factory.mktemp("demo") / "household.csv"
    stats = write_household_csv(path, residents=RESIDENTS, seed=SEED, today=TODAY)
    return GeneratedFile(path, stats, read_rows(path))


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> GeneratedFile:
    path = tmp_path_factory.mktemp("demo") / "household-messy.csv"
    stats = write_household_csv(path, residents=RESIDENTS, seed=SEED, today=TODAY, messy=True)
    return GeneratedFile(path, stats, read_rows(path))


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class TestCleanFile:
    def test_every_row_passes_the_import_rules(self, clean: GeneratedFile) -> None:
        rejected = [
            (number, checked)
            for number, values in enumerate(clean.rows, start=2)
            if isinstance(checked := check_row(values, today=TODAY, county_of=COUNTY_OF), list)
        ]
        assert rejected == []
        assert clean.stats.rows == len(clean.rows) == RESIDENTS
        assert clean.stats.defects == {}

    def test_id_numbers_are_valid_and_unique(self, clean: GeneratedFile) -> None:
        ids = [ResidentId.parse(row["resident_id"], today=TODAY) for row in clean.rows]
        assert len({rid.value for rid in ids}) == RESIDENTS
        for rid, row in zip(ids, clean.rows, strict=True):
            assert rid.value == row["resident_id"], "already normalised"
            assert row["sex"] == ("男" if rid.sex is Sex.MALE else "女")
            assert row["birth_on"] == rid.birth_on.isoformat()

    def test_residents_per_county_follow_the_census(self, clean: GeneratedFile) -> None:
        by_county = Counter(COUNTY_OF[row["household_region_code"]] for row in clean.rows)
        assert by_county == clean.stats.residents_by_county
        census_total = sum(seed.population or 0 for seed in COUNTIES.values())
        for code, seed in COUNTIES.items():
            expected = RESIDENTS * (seed.population or 0) / census_total
            assert abs(by_county[code] - expected) <= 1

    def test_allocation_adds_up_exactly(self) -> None:
        for residents in (0, 1, 11, 999, 5_289_824):
            allocation = allocate_residents(residents)
            assert sum(allocation.values()) == residents
            assert set(allocation) == set(COUNTIES)

    def test_age_pyramid_looks_like_hunan(self, clean: GeneratedFile) -> None:
        ages = [age_on(date.fromisoformat(row["birth_on"]), TODAY) for row in clean.rows]
        share = {
            "children": sum(a < 15 for a in ages) / RESIDENTS,
            "working_bulge": sum(30 <= a < 60 for a in ages) / RESIDENTS,
            "sixty_plus": sum(a >= 60 for a in ages) / RESIDENTS,
            "eighty_five_plus": sum(a >= 85 for a in ages) / RESIDENTS,
        }
        assert 0.15 < share["children"] < 0.22
        assert 0.40 < share["working_bulge"] < 0.52
        assert 0.15 < share["sixty_plus"] < 0.24
        assert share["eighty_five_plus"] < 0.02
        assert share["children"] < share["working_bulge"]
        assert min(ages) >= 0
        assert max(ages) < 106
        assert all(date.fromisoformat(row["birth_on"]) < TODAY for row in clean.rows)

    def test_address_codes_match_age_and_county(self, clean: GeneratedFile) -> None:
        historical_before_1996 = 0
        yongzhou_before_1996 = 0
        qiyang_2015 = 0
        for row in clean.rows:
            county = COUNTY_OF[row["household_region_code"]]
            assert county is not None
            origin = row["resident_id"][:6]
            year = int(row["resident_id"][6:10])
            if origin == NEIGHBOUR_CODES[county]:
                continue
            assert origin in YONGZHOU_CURRENT_CODES | YONGZHOU_HISTORICAL_CODES
            if year >= 1996:
                allowed = {county}
                if county == QIYANG_CODE and year <= 2020:
                    allowed.add(QIYANG_2015_CODE)
                assert origin in allowed
                qiyang_2015 += origin == QIYANG_2015_CODE
            else:
                yongzhou_before_1996 += 1
                if origin == historical_code_of(county):
                    historical_before_1996 += 1
                else:
                    assert origin == (QIYANG_2015_CODE if county == QIYANG_CODE else county)
        assert historical_before_1996 / yongzhou_before_1996 > 0.8
        assert qiyang_2015 > 0

    def test_historical_codes_follow_the_domain_table(self) -> None:
        assert historical_code_of("431102") == "432901"
        assert historical_code_of("431103") == "432902"
        assert historical_code_of("431126") == "432924"
        assert historical_code_of("431125") == "432925"
        assert historical_code_of("431181") == "432930"

    def test_zone_codes_appear_only_for_their_host_counties(self, clean: GeneratedFile) -> None:
        zones = Counter(row["household_region_code"] for row in clean.rows)
        for host, (zone, share) in ZONE_SHARES.items():
            host_count = clean.stats.residents_by_county[host]
            assert 0.5 * share < zones[zone] / host_count < 1.5 * share

    def test_townships_and_addresses_belong_to_the_residence_county(
        self, clean: GeneratedFile
    ) -> None:
        for row in clean.rows:
            county = row["residence_county_code"]
            assert row["residence_township"] in TOWNSHIPS[county]
            assert row["residence_address"].startswith(
                COUNTIES[county].name + row["residence_township"]
            )
            assert row["residence_address"].endswith("号")
            assert row["household_address"].startswith("湖南省永州市")
        elsewhere = sum(
            row["residence_county_code"] != COUNTY_OF[row["household_region_code"]]
            for row in clean.rows
        )
        assert 0.01 < elsewhere / RESIDENTS < 0.06

    def test_surnames_follow_frequency_and_given_names_are_short(
        self, clean: GeneratedFile
    ) -> None:
        surnames = Counter(
            row["name"][:2] if row["name"].startswith("欧阳") else row["name"][0]
            for row in clean.rows
        )
        top = {name for name, _ in surnames.most_common(6)}
        assert {"王", "李", "张"} <= top
        assert 0 < surnames["欧阳"] < surnames["王"] / 20
        for row in clean.rows:
            surname_length = 2 if row["name"].startswith("欧阳") else 1
            assert 1 <= len(row["name"]) - surname_length <= 2

    def test_yao_residents_live_mostly_in_jianghua_and_jiangyong(
        self, clean: GeneratedFile
    ) -> None:
        total = Counter(COUNTY_OF[row["household_region_code"]] for row in clean.rows)
        yao = Counter(
            COUNTY_OF[row["household_region_code"]]
            for row in clean.rows
            if row["ethnicity"] == "瑶族"
        )
        assert yao["431129"] / total["431129"] > 0.4
        assert yao["431125"] / total["431125"] > 0.3
        assert yao["431103"] / total["431103"] < 0.02
        assert sum(row["ethnicity"] == "汉族" for row in clean.rows) / RESIDENTS > 0.85

    def test_most_adults_have_a_mobile_number_and_young_children_none(
        self, clean: GeneratedFile
    ) -> None:
        adults = children = adults_with_phone = 0
        for row in clean.rows:
            age = age_on(date.fromisoformat(row["birth_on"]), TODAY)
            if row["phone"]:
                assert re.fullmatch(r"1[3-9]\d{9}", row["phone"])
            if age < 12:
                children += 1
                assert row["phone"] == ""
            elif age >= 18:
                adults += 1
                adults_with_phone += bool(row["phone"])
        assert adults_with_phone / adults > 0.85
        assert children > 0

    def test_few_residents_are_deceased_or_moved_away_with_a_date(
        self, clean: GeneratedFile
    ) -> None:
        statuses = Counter(row["status"] for row in clean.rows)
        assert set(statuses) <= {"正常", "死亡", "迁出"}
        assert 0.001 < statuses["死亡"] / RESIDENTS < 0.006
        assert 0.002 < statuses["迁出"] / RESIDENTS < 0.009
        assert statuses["死亡"] == clean.stats.deceased
        assert statuses["迁出"] == clean.stats.moved_away
        for row in clean.rows:
            if row["status"] == "正常":
                assert row["status_changed_on"] == ""
            else:
                changed_on = date.fromisoformat(row["status_changed_on"])
                assert date.fromisoformat(row["birth_on"]) <= changed_on <= TODAY


class TestDeterminism:
    def test_same_seed_gives_the_same_bytes(self, tmp_path: Path) -> None:
        first, again = tmp_path / "first.csv", tmp_path / "again.csv"
        write_household_csv(first, residents=3_000, seed=SEED, today=TODAY, messy=True)
        write_household_csv(again, residents=3_000, seed=SEED, today=TODAY, messy=True)
        assert digest(again) == digest(first)

    def test_another_seed_gives_another_city(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.csv", tmp_path / "b.csv"
        write_household_csv(first, residents=2_000, seed=1, today=TODAY)
        write_household_csv(second, residents=2_000, seed=2, today=TODAY)
        assert digest(first) != digest(second)

    def test_no_partial_file_is_left_behind(self, tmp_path: Path) -> None:
        path = tmp_path / "nested" / "household.csv"
        write_household_csv(path, residents=10, seed=1, today=TODAY)
        assert sorted(p.name for p in path.parent.iterdir()) == ["household.csv"]

    def test_an_empty_city_has_only_the_header(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.csv"
        stats = write_household_csv(path, residents=0, seed=1, today=TODAY)
        assert read_rows(path) == []
        assert stats.rows == 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class TestMessyFile:
    def test_injects_about_the_documented_share(self, messy: GeneratedFile) -> None:
        defects = messy.stats.defects
        assert set(defects) == set(DefectKind)
        for kind, share in DEFECT_SHARES.items():
            assert 0.4 * share * RESIDENTS < defects[kind] < 1.8 * share * RESIDENTS
        duplicates = defects[DefectKind.EXACT_DUPLICATE] + defects[DefectKind.CONFLICTING_DUPLICATE]
        assert messy.stats.rows == len(messy.rows) == RESIDENTS + duplicates

    def test_import_rules_reject_exactly_the_injected_rows(self, messy: GeneratedFile) -> None:
        codes: Counter[str] = Counter()
        seen: dict[str, PersonRecord] = {}
        rejected = exact = conflicting = 0
        for values in messy.rows:
            checked = check_row(values, today=TODAY, county_of=COUNTY_OF)
            if isinstance(checked, list):
                codes.update({problem.code for problem in checked})
                rejected += 1
                continue
            earlier = seen.get(checked.resident_id.value)
            if earlier is None:
                seen[checked.resident_id.value] = checked
            elif earlier.content_hash == checked.content_hash:
                exact += 1
            else:
                conflicting += 1
        defects = messy.stats.defects
        for kind in DefectKind:
            if kind in (DefectKind.EXACT_DUPLICATE, DefectKind.CONFLICTING_DUPLICATE):
                continue
            assert codes[kind.value] == defects[kind], kind
        assert exact == defects[DefectKind.EXACT_DUPLICATE] == messy.stats.expected_unchanged
        assert conflicting == defects[DefectKind.CONFLICTING_DUPLICATE]
        assert len(seen) == messy.stats.expected_accepted
        assert rejected + conflicting == messy.stats.expected_rejected

    def test_messy_file_holds_the_same_persons_as_the_clean_one(
        self, clean: GeneratedFile, messy: GeneratedFile
    ) -> None:
        clean_ids = {row["resident_id"] for row in clean.rows}
        messy_ids = {row["resident_id"] for row in messy.rows}
        id_changing = (
            DefectKind.BAD_CHECK_CHARACTER,
            DefectKind.IMPOSSIBLE_DATE,
            DefectKind.UNKNOWN_REGION,
        )
        assert len(clean_ids - messy_ids) == sum(messy.stats.defects[k] for k in id_changing)

    def test_stats_survive_a_json_round_trip(self, messy: GeneratedFile) -> None:
        again = HouseholdFileStats.from_json_dict(messy.stats.to_json_dict())
        assert again == messy.stats
        assert again.expected_accepted == messy.stats.expected_accepted
