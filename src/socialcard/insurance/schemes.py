"""The five schemes of the Social Insurance Law and their sub-schemes (GLOSSARY: 险种), as data.

A person has at most one open enrolment per scheme *family* (pension, medical, work injury,
unemployment, maternity): one cannot be in the employee and the resident pension at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class SchemeFamily(StrEnum):
    PENSION = "pension"
    MEDICAL = "medical"
    WORK_INJURY = "work_injury"
    UNEMPLOYMENT = "unemployment"
    MATERNITY = "maternity"


class SchemeCode(StrEnum):
    """A sub-scheme a person enrols in. Stored as the lowercase value."""

    PENSION_EMPLOYEE = "pension_employee"  # 企业职工基本养老保险
    PENSION_RESIDENT = "pension_resident"  # 城乡居民基本养老保险
    MEDICAL_EMPLOYEE = "medical_employee"  # 职工基本医疗保险
    MEDICAL_RESIDENT = "medical_resident"  # 城乡居民基本医疗保险
    WORK_INJURY = "work_injury"  # 工伤保险
    UNEMPLOYMENT = "unemployment"  # 失业保险
    MATERNITY = "maternity"  # 生育保险


@dataclass(frozen=True, slots=True)
class Scheme:
    code: SchemeCode
    family: SchemeFamily
    name: str
    short_name: str
    employee: bool  # contributions are monthly, on a base (employee schemes and flexible work)
    # Ledger purpose of the person's personal account in this scheme, or None when it has none.
    account_purpose: str | None


SCHEMES: Final[dict[SchemeCode, Scheme]] = {
    s.code: s
    for s in (
        Scheme(SchemeCode.PENSION_EMPLOYEE, SchemeFamily.PENSION, "企业职工基本养老保险",
               "职工养老", True, "pension_employee"),
        Scheme(SchemeCode.PENSION_RESIDENT, SchemeFamily.PENSION, "城乡居民基本养老保险",
               "居民养老", False, "pension_resident"),
        Scheme(SchemeCode.MEDICAL_EMPLOYEE, SchemeFamily.MEDICAL, "职工基本医疗保险",
               "职工医保", True, "medical_account"),
        Scheme(SchemeCode.MEDICAL_RESIDENT, SchemeFamily.MEDICAL, "城乡居民基本医疗保险",
               "居民医保", False, None),
        Scheme(SchemeCode.WORK_INJURY, SchemeFamily.WORK_INJURY, "工伤保险", "工伤", True, None),
        Scheme(SchemeCode.UNEMPLOYMENT, SchemeFamily.UNEMPLOYMENT, "失业保险", "失业", True,
               None),
        Scheme(SchemeCode.MATERNITY, SchemeFamily.MATERNITY, "生育保险", "生育", True, None),
    )
}  # fmt: skip

# What an employer enrols an employee in; flexible workers (灵活就业) enrol themselves in these.
EMPLOYEE_SCHEMES: Final = (
    SchemeCode.PENSION_EMPLOYEE,
    SchemeCode.MEDICAL_EMPLOYEE,
    SchemeCode.UNEMPLOYMENT,
    SchemeCode.WORK_INJURY,
    SchemeCode.MATERNITY,
)
FLEXIBLE_SCHEMES: Final = (SchemeCode.PENSION_EMPLOYEE, SchemeCode.MEDICAL_EMPLOYEE)
RESIDENT_SCHEMES: Final = (SchemeCode.PENSION_RESIDENT, SchemeCode.MEDICAL_RESIDENT)

# The scheme columns of a contribution month: (scheme, employer column, individual column).
MONTHLY_PARTS: Final = (
    (SchemeCode.PENSION_EMPLOYEE, "pension_employer_minor", "pension_individual_minor"),
    (SchemeCode.MEDICAL_EMPLOYEE, "medical_employer_minor", "medical_individual_minor"),
    (SchemeCode.UNEMPLOYMENT, "unemployment_employer_minor", "unemployment_individual_minor"),
    (SchemeCode.WORK_INJURY, "work_injury_employer_minor", None),
    (SchemeCode.MATERNITY, "maternity_employer_minor", None),
)

# Resident pension: minimum age to enrol; employee schemes: working age starts at 16.
RESIDENT_PENSION_MIN_AGE: Final = 16
WORKING_AGE_MIN: Final = 16


def scheme_of(code: str) -> Scheme:
    return SCHEMES[SchemeCode(code)]
