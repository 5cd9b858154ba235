"""The enrolment record on the card (参保信息记录, item 26): what the platform keeps centrally,
mapped to records of the card's social-insurance data areas (DOMAIN §2.4: DF03 holds the
insurance files except medical — EF05 unemployment, EF07 pension; DF04 the medical area). A
terminal with the card at hand asks for these records and writes each one with the MAC the
platform computes (cards.card_areas), then confirms.

Each record is GBK text, fields separated by "|": scheme code, status (1 paying, 2 suspended,
3 ended), enrolment date YYYYMMDD, insured region, months counted, employer (≤ 20 characters).
Work injury and maternity have no file the platform may write yet (their FIDs are not settled
in the sources), so they stay central only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from socialcard.insurance.models import CITY_REGION, Enrolment, EnrolmentStatus
from socialcard.insurance.queries import contribution_months, list_enrolments, months_counted
from socialcard.insurance.schemes import SCHEMES, SchemeCode, SchemeFamily

FILES: Final = {
    SchemeFamily.PENSION: ("DF03", "EF07"),
    SchemeFamily.UNEMPLOYMENT: ("DF03", "EF05"),
    SchemeFamily.MEDICAL: ("DF04", "EF06"),
}
STATUS_CODES: Final = {
    EnrolmentStatus.ACTIVE: "1",
    EnrolmentStatus.SUSPENDED: "2",
    EnrolmentStatus.TERMINATED: "3",
}
COUNTED_AS: Final = {
    SchemeFamily.PENSION: SchemeCode.PENSION_EMPLOYEE,
    SchemeFamily.MEDICAL: SchemeCode.MEDICAL_EMPLOYEE,
    SchemeFamily.UNEMPLOYMENT: SchemeCode.UNEMPLOYMENT,
}


@dataclass(frozen=True, slots=True)
class CardRecord:
    area: str
    file_id: str
    record_no: int
    value: bytes
    label: str  # what the record says, for the clerk's screen


def enrolment_records(session: Session, person_id: int) -> list[CardRecord]:
    """One record per scheme family the person is (or was last) enrolled in."""
    months = contribution_months(session, person_id)
    latest: dict[SchemeFamily, tuple[Enrolment, str | None]] = {}
    for enrolment, employer in list_enrolments(session, person_id):  # newest first
        latest.setdefault(enrolment.family, (enrolment, employer))
    records = []
    for family, (area, file_id) in FILES.items():
        if family not in latest:
            continue
        enrolment, employer = latest[family]
        counted = (
            months_counted(months, COUNTED_AS[family]) if SCHEMES[enrolment.scheme].employee else 0
        )
        fields = [
            enrolment.scheme.value,
            STATUS_CODES[enrolment.status],
            enrolment.started_on.strftime("%Y%m%d"),
            CITY_REGION,
            f"{counted:04d}",
            (employer or "")[:20],
        ]
        text = "|".join(fields)
        records.append(
            CardRecord(
                area=area,
                file_id=file_id,
                record_no=1,
                value=text.encode("gbk"),
                label=f"{SCHEMES[enrolment.scheme].name}：{text}",
            )
        )
    return records
