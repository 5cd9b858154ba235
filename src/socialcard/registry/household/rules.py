"""The row rules of a household-register import: pure functions from a raw row to a normalised
person record or a list of problems, each with a field, a stable code and a reason in Chinese."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from socialcard.kernel.crypto import sm3_hex
from socialcard.kernel.resident_id import InvalidResidentId, ResidentId, Sex
from socialcard.registry.models import PersonStatus

# Stable rejection codes and their Chinese reasons (docs/errors.md lists them).
REASONS: Final[dict[str, str]] = {
    "missing_resident_id": "缺少公民身份号码",
    "bad_format": "公民身份号码格式错误（应为 18 位，或 15 位旧号码）",
    "bad_check_character": "公民身份号码校验码错误",
    "impossible_date": "公民身份号码中的出生日期不存在",
    "future_birth_date": "公民身份号码中的出生日期晚于今天",
    "too_old": "公民身份号码中的出生年份过早",
    "unknown_region": "公民身份号码中的地址码不是有效的行政区划代码",
    "missing_name": "缺少姓名",
    "bad_name": "姓名含有不允许的字符或过长",
    "sex_contradicts_id": "性别与公民身份号码不符",
    "bad_sex": "性别只能填写“男”或“女”",
    "birth_date_contradicts_id": "出生日期与公民身份号码不符",
    "bad_date": "日期格式错误（应为 YYYY-MM-DD 或 YYYYMMDD）",
    "missing_household_region": "缺少户籍地区划",
    "unknown_household_region": "户籍地区划不是永州市的行政区划代码",
    "unknown_residence_region": "现住地区划不是永州市的县级区划代码",
    "bad_phone": "联系电话格式错误（应为 11 位手机号或带区号的固定电话）",
    "unknown_status": "人员状态只能是“正常”“死亡”或“迁出”",
    "conflicting_duplicate": "同一文件中该公民身份号码重复出现且内容不一致",
    "status_not_allowed": "人员状态变更不被允许（如已死亡人员不能恢复为正常）",
    "too_long": "内容超过长度限制",
}

_ID_RULE_TO_CODE: Final = {
    "format": "bad_format",
    "check_character": "bad_check_character",
    "impossible_date": "impossible_date",
    "future_birth_date": "future_birth_date",
    "too_old": "too_old",
    "unknown_region": "unknown_region",
}

STATUS_WORDS: Final[dict[str, PersonStatus]] = {
    "": PersonStatus.LIVING,
    "正常": PersonStatus.LIVING,
    "在册": PersonStatus.LIVING,
    "健在": PersonStatus.LIVING,
    "死亡": PersonStatus.DECEASED,
    "已死亡": PersonStatus.DECEASED,
    "迁出": PersonStatus.MOVED_AWAY,
    "已迁出": PersonStatus.MOVED_AWAY,
    "迁往外地": PersonStatus.MOVED_AWAY,
}

SEX_WORDS: Final[dict[str, Sex]] = {
    "男": Sex.MALE,
    "1": Sex.MALE,
    "男性": Sex.MALE,
    "女": Sex.FEMALE,
    "2": Sex.FEMALE,
    "女性": Sex.FEMALE,
}

_NAME_CHARACTERS = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·•A-Za-z]+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


@dataclass(frozen=True, slots=True)
class RowProblem:
    field: str
    code: str

    @property
    def reason(self) -> str:
        return REASONS[self.code]


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A valid, normalised row. `content_hash` covers every field the import writes."""

    resident_id: ResidentId
    name: str
    ethnicity: str | None
    household_region_code: str
    household_address: str | None
    residence_county_code: str | None
    residence_township: str | None
    residence_address: str | None
    phone: str | None
    status: PersonStatus
    status_changed_on: date | None
    # Computed once at construction; an import compares it for every row.
    content_hash: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "content_hash", self._compute_content_hash())

    def _compute_content_hash(self) -> str:
        parts = [
            self.resident_id.value,
            self.name,
            self.ethnicity or "",
            self.household_region_code,
            self.household_address or "",
            self.residence_county_code or "",
            self.residence_township or "",
            self.residence_address or "",
            self.phone or "",
            self.status.value,
            self.status_changed_on.isoformat() if self.status_changed_on else "",
        ]
        return sm3_hex("\x1f".join(parts).encode())


def _clean(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def parse_date(text: str) -> date | None:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or YYYYMMDD; None for an empty cell."""
    cleaned = _clean(text)
    if not cleaned:
        return None
    digits = re.sub(r"[-/.年月日\s]", "", cleaned)
    if re.fullmatch(r"\d{8}", digits) is None:
        if re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", cleaned):
            y, m, d = (int(p) for p in re.split(r"[-/.]", cleaned))
            return date(y, m, d)
        raise ValueError(cleaned)
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def normalise_phone(text: str) -> str | None:
    digits = re.sub(r"[\s\-()（）]", "", _clean(text))
    if digits.startswith("+86"):
        digits = digits[3:]
    if not digits:
        return None
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    raise ValueError("phone")


def check_row(
    values: Mapping[str, str],
    *,
    today: date,
    county_of: Mapping[str, str | None],
) -> PersonRecord | list[RowProblem]:
    """Validate one raw row. `county_of` maps every known Yongzhou region code (county, zone,
    historical alias, city) to its current county code, or None for the city itself."""
    problems: list[RowProblem] = []
    resident_id: ResidentId | None = None
    raw_id = _clean(values.get("resident_id"))
    if not raw_id:
        problems.append(RowProblem("resident_id", "missing_resident_id"))
    else:
        try:
            resident_id = ResidentId.parse(raw_id, today=today)
        except InvalidResidentId as error:
            problems.append(RowProblem("resident_id", _ID_RULE_TO_CODE[error.rule]))

    name = _clean(values.get("name")).replace(" ", "")
    if not name:
        problems.append(RowProblem("name", "missing_name"))
    elif len(name) > 50 or not _NAME_CHARACTERS.match(name):
        problems.append(RowProblem("name", "bad_name"))

    sex_text = _clean(values.get("sex"))
    if sex_text:
        sex = SEX_WORDS.get(sex_text)
        if sex is None:
            problems.append(RowProblem("sex", "bad_sex"))
        elif resident_id is not None and sex is not resident_id.sex:
            problems.append(RowProblem("sex", "sex_contradicts_id"))

    try:
        birth_on = parse_date(values.get("birth_on", ""))
        if birth_on and resident_id is not None and birth_on != resident_id.birth_on:
            problems.append(RowProblem("birth_on", "birth_date_contradicts_id"))
    except ValueError:
        problems.append(RowProblem("birth_on", "bad_date"))

    household_code = _clean(values.get("household_region_code"))
    household_county: str | None = None
    if not household_code:
        problems.append(RowProblem("household_region_code", "missing_household_region"))
    elif household_code not in county_of:
        problems.append(RowProblem("household_region_code", "unknown_household_region"))
    else:
        household_county = county_of[household_code]

    residence_code = _clean(values.get("residence_county_code"))
    residence_county: str | None = household_county
    if residence_code:
        residence_county = county_of.get(residence_code)
        if residence_county is None:
            problems.append(RowProblem("residence_county_code", "unknown_residence_region"))

    phone: str | None = None
    try:
        phone = normalise_phone(values.get("phone", ""))
    except ValueError:
        problems.append(RowProblem("phone", "bad_phone"))

    status = STATUS_WORDS.get(_clean(values.get("status")))
    if status is None:
        problems.append(RowProblem("status", "unknown_status"))

    status_changed_on: date | None = None
    try:
        status_changed_on = parse_date(values.get("status_changed_on", ""))
    except ValueError:
        problems.append(RowProblem("status_changed_on", "bad_date"))

    texts = {
        f: _clean(values.get(f)) or None
        for f in ("ethnicity", "household_address", "residence_township", "residence_address")
    }
    limits = {
        "ethnicity": 20,
        "household_address": 200,
        "residence_township": 60,
        "residence_address": 200,
    }
    for column, limit in limits.items():
        value = texts[column]
        if value is not None and len(value) > limit:
            problems.append(RowProblem(column, "too_long"))

    if problems:
        return problems
    assert resident_id is not None
    assert status is not None
    return PersonRecord(
        resident_id=resident_id,
        name=name,
        ethnicity=texts["ethnicity"],
        household_region_code=household_code,
        household_address=texts["household_address"],
        residence_county_code=residence_county,
        residence_township=texts["residence_township"],
        residence_address=texts["residence_address"],
        phone=phone,
        status=status,
        status_changed_on=status_changed_on if status is not PersonStatus.LIVING else None,
    )
