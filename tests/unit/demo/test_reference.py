"""Demo reference data that needs no database: credit codes, institution codes and names."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc

from socialcard.access.policy import load_policy
from socialcard.access.services import check_password_strength
from socialcard.demo.reference import (
    EMPLOYERS,
    credit_code_check_character,
    demo_credit_code,
    organisation_code,
    planned_institutions,
)
from socialcard.demo.staff import DEMO_ACCOUNTS, DEMO_PASSWORD
from socialcard.regions.data import REGIONS
from socialcard.regions.models import RegionKind
from socialcard.registry.models import InstitutionKind

COUNTY_NAMES = {seed.code: seed.name for seed in REGIONS if seed.kind is RegionKind.COUNTY}


def test_check_characters_match_published_examples() -> None:
    # The python-stdnum doctest value and a GB 11714 organisation code computed by hand.
    assert credit_code_check_character("91110000600037341") == "L"
    assert organisation_code("60003734") == "600037341"


def test_every_demo_employer_has_a_valid_distinct_credit_code() -> None:
    codes = [demo_credit_code(entity, county, name) for county, name, _, entity in EMPLOYERS]
    assert all(uscc.is_valid(code) for code in codes)
    assert len(set(codes)) == len(codes) >= 20
    assert {code[2:8] for code in codes} >= set(COUNTY_NAMES)


def test_credit_codes_depend_on_the_name_only() -> None:
    assert demo_credit_code("91", "431124", "道县濂溪电子有限公司") == demo_credit_code(
        "91", "431124", "道县濂溪电子有限公司"
    )


@pytest.mark.parametrize("seed", [1, 2026])
def test_each_county_has_designated_hospitals_and_pharmacies(seed: int) -> None:
    planned = planned_institutions(seed)
    assert len({p.code for p in planned}) == len(planned)
    for county, name in COUNTY_NAMES.items():
        hospitals = [
            p for p in planned if p.county_code == county and p.kind is InstitutionKind.HOSPITAL
        ]
        assert any(p.name == f"{name}人民医院" and p.level in (2, 3) for p in hospitals)
        assert any(p.name == f"{name}中医医院" for p in hospitals)
        assert sum(p.level == 1 for p in hospitals) >= 1
        assert any(p.county_code == county and p.kind is InstitutionKind.PHARMACY for p in planned)
    kinds = {p.kind for p in planned}
    assert kinds == set(InstitutionKind)
    assert sum(p.kind is InstitutionKind.BANK for p in planned) == 6
    assert all(p.level in (1, 2, 3) for p in planned if p.kind is InstitutionKind.HOSPITAL)


def test_demo_accounts_cover_every_role_with_a_valid_password() -> None:
    check_password_strength(DEMO_PASSWORD)
    policy = load_policy()
    assert {plan.role for plan in DEMO_ACCOUNTS} == set(policy.roles)
    administrators = [p for p in DEMO_ACCOUNTS if policy.roles[p.role].is_administrator]
    assert len({p.role for p in administrators}) == len(administrators) == 3
    assert {p.username for p in DEMO_ACCOUNTS} >= {"daoxian_clerk", "lingling_clerk"}
    daoxian = next(p for p in DEMO_ACCOUNTS if p.username == "daoxian_clerk")
    assert (daoxian.scope_region_code, daoxian.department_code, daoxian.role) == (
        "431124",
        "hrss",
        "clerk",
    )
