"""Demo reference data: employers, designated hospitals and pharmacies, partner banks, a training
and an appraisal body, spread over the counties.

Names are invented but shaped like real ones ("道县人民医院"); hospital levels are plausible, not
official. Codes are derived from the names, never from the seed, so running again with any seed
adds nothing that is already there; the seed only picks which township health centres and
pharmacies exist. Institution codes follow the national medical-insurance pattern for hospitals
(H) and pharmacies (P): letter, 6-digit region code, 5-digit serial. Banks use B plus their
3-digit CNAPS bank category code and the city code.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.regions.data import CITY_CODE, REGIONS, TOWNSHIPS
from socialcard.regions.models import RegionKind
from socialcard.registry.models import Employer, Institution, InstitutionKind
from socialcard.registry.services import register_employer, register_institution

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the last is a check
# character over the first 17 with these weights, modulo 31.
CREDIT_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997: the 9-character organisation code inside it has its own check character.
ORGANISATION_CODE_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
# Registration authority 9 (market regulation) with entity type 1 (company) or 3 (farmers'
# cooperative), as the first two characters.
COMPANY: Final = "91"
COOPERATIVE: Final = "93"

# (county, name, industry per GB/T 4754, company or cooperative)
EMPLOYERS: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("431103", "永州潇湘电子科技有限公司", "制造业", COMPANY),
    ("431103", "永州市冷水滩区湘江物流有限公司", "交通运输、仓储和邮政业", COMPANY),
    ("431103", "永州凤凰园商贸有限公司", "批发和零售业", COMPANY),
    ("431102", "永州市零陵区柳子文化旅游有限公司", "文化、体育和娱乐业", COMPANY),
    ("431102", "永州市零陵区萍洲食品有限公司", "制造业", COMPANY),
    ("431181", "祁阳浯溪纺织有限公司", "制造业", COMPANY),
    ("431181", "祁阳市白水农业开发有限公司", "农、林、牧、渔业", COMPANY),
    ("431122", "东安县紫溪建材有限公司", "制造业", COMPANY),
    ("431122", "东安县芦洪市餐饮管理有限公司", "住宿和餐饮业", COMPANY),
    ("431123", "双牌县阳明山林业开发有限公司", "农、林、牧、渔业", COMPANY),
    ("431124", "道县濂溪电子有限公司", "制造业", COMPANY),
    ("431124", "道县寿雁脐橙农民专业合作社", "农、林、牧、渔业", COOPERATIVE),
    ("431125", "江永县香柚农业开发有限公司", "农、林、牧、渔业", COMPANY),
    ("431126", "宁远县九嶷山旅游开发有限公司", "文化、体育和娱乐业", COMPANY),
    ("431126", "宁远县舜陵建筑工程有限公司", "建筑业", COMPANY),
    ("431127", "蓝山县塔峰皮具制造有限公司", "制造业", COMPANY),
    ("431128", "新田县富硒农产品有限公司", "农、林、牧、渔业", COMPANY),
    ("431129", "江华瑶族自治县瑶都电机有限公司", "制造业", COMPANY),
    ("431129", "江华瑶族自治县沱江水电有限公司", "电力、热力、燃气及水生产和供应业", COMPANY),
    ("431100", "永州市人力资源服务有限公司", "租赁和商务服务业", COMPANY),
)

# City hospitals, besides a people's hospital and a TCM hospital per county: (county, name,
# level).
CITY_HOSPITALS: Final = (
    ("431103", "永州市中心医院", 3),
    ("431102", "永州市中医医院", 3),
)
# Counties whose people's hospital is 三级 in the demo; the others are 二级.
LEVEL_3_COUNTY_HOSPITALS: Final = frozenset({"431181", "431124", "431126"})
TOWNSHIP_HEALTH_CENTRES_PER_COUNTY: Final = 2
PHARMACY_NAMES: Final = ("康民大药房", "仁和堂药店", "惠民药房", "百草堂大药房", "济世药房")
PHARMACIES_PER_COUNTY: Final = 3

# (CNAPS bank category code, branch name)
BANKS: Final = (
    ("102", "中国工商银行永州分行"),
    ("103", "中国农业银行永州分行"),
    ("104", "中国银行永州分行"),
    ("105", "中国建设银行永州分行"),
    ("403", "中国邮政储蓄银行永州市分行"),
    ("402", "湖南省农村信用社联合社永州办事处"),
)
TRAINING_BODY: Final = ("T43110000001", "永州市职业技能培训中心")
APPRAISAL_BODY: Final = ("A43110000001", "永州市职业技能鉴定中心")


def organisation_code(body: str) -> str:
    """Complete 8 digits into a 9-character organisation code (GB 11714 check character)."""
    total = sum(int(d) * w for d, w in zip(body, ORGANISATION_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code_check_character(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def unified_social_credit_code(entity: str, region_code: str, body: str) -> str:
    """Build a valid credit code: authority and type, region, organisation code, check."""
    first17 = entity + region_code + organisation_code(body)
    return first17 + credit_code_check_character(first17)


def demo_credit_code(entity: str, region_code: str, name: str) -> str:
    """The demo credit code of an employer, derived from its name so it never changes."""
    body = str(int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**8).zfill(8)
    return unified_social_credit_code(entity, region_code, body)


@dataclass(frozen=True, slots=True)
class PlannedInstitution:
    """An institution the demo registers unless its code is already there."""

    code: str
    name: str
    kind: InstitutionKind
    level: int | None
    county_code: str


@dataclass(frozen=True, slots=True)
class ReferenceDataAdded:
    """How many rows a run added (zero on a second run)."""

    employers: int
    institutions: int


def _county_names() -> dict[str, str]:
    return {seed.code: seed.name for seed in REGIONS if seed.kind is RegionKind.COUNTY}


def planned_institutions(seed: int) -> list[PlannedInstitution]:
    """Every demo institution for `seed`, hospitals first."""
    rng = random.Random(f"{seed}:institutions")
    hospital, pharmacy = InstitutionKind.HOSPITAL, InstitutionKind.PHARMACY
    planned = [
        PlannedInstitution(f"H{county}{n:05d}", name, hospital, level, county)
        for n, (county, name, level) in enumerate(CITY_HOSPITALS, start=1)
    ]
    for county, county_name in _county_names().items():
        level = 3 if county in LEVEL_3_COUNTY_HOSPITALS else 2
        planned.append(
            PlannedInstitution(f"H{county}00011", f"{county_name}人民医院", hospital, level, county)
        )
        planned.append(
            PlannedInstitution(f"H{county}00012", f"{county_name}中医医院", hospital, 2, county)
        )
        townships = TOWNSHIPS[county]
        for index in sorted(rng.sample(range(len(townships)), TOWNSHIP_HEALTH_CENTRES_PER_COUNTY)):
            township = townships[index]
            suffix = "社区卫生服务中心" if township.endswith("街道") else "中心卫生院"
            planned.append(
                PlannedInstitution(
                    f"H{county}{100 + index:05d}",
                    f"{county_name}{township}{suffix}",
                    hospital,
                    1,
                    county,
                )
            )
        for index in sorted(rng.sample(range(len(PHARMACY_NAMES)), PHARMACIES_PER_COUNTY)):
            planned.append(
                PlannedInstitution(
                    f"P{county}{index + 1:05d}",
                    f"{county_name}{PHARMACY_NAMES[index]}",
                    pharmacy,
                    None,
                    county,
                )
            )
    for category, name in BANKS:
        planned.append(
            PlannedInstitution(
                f"B{category}{CITY_CODE}", name, InstitutionKind.BANK, None, CITY_CODE
            )
        )
    for (code, name), kind in (
        (TRAINING_BODY, InstitutionKind.TRAINING),
        (APPRAISAL_BODY, InstitutionKind.APPRAISAL),
    ):
        planned.append(PlannedInstitution(code, name, kind, None, CITY_CODE))
    return planned


def create_reference_data(session: Session, *, at: datetime, seed: int) -> ReferenceDataAdded:
    """Add the demo employers and institutions that are not there yet (matched by code)."""
    known_employers = set(session.scalars(select(Employer.credit_code)))
    employers = 0
    for county, name, industry, entity in EMPLOYERS:
        credit_code = demo_credit_code(entity, county, name)
        if credit_code in known_employers:
            continue
        register_employer(
            session,
            credit_code=credit_code,
            name=name,
            county_code=county,
            industry=industry,
            at=at,
        )
        employers += 1
    known_institutions = set(session.scalars(select(Institution.code)))
    institutions = 0
    for planned in planned_institutions(seed):
        if planned.code in known_institutions:
            continue
        register_institution(
            session,
            code=planned.code,
            name=planned.name,
            kind=planned.kind,
            level=planned.level,
            county_code=planned.county_code,
            at=at,
        )
        institutions += 1
    return ReferenceDataAdded(employers=employers, institutions=institutions)
