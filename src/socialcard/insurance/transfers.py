"""Relation transfer (社会保险关系转移接续, item 24).

Out: the person's paid months go with them (marked transferred out), the personal account
balances and the pension pooled share (12 % of each month's base for the employee pension, as the
national transfer rule has it) are paid to the other region, the open enrolments of the
transferable schemes end, and the platform produces the transfer certificate — a printable
document and a data file with the contribution history, for the receiving office.

In: a data file from another region (the same format) merges that history, each month marked
with the region where it was paid; months that overlap months paid here are refused (重复缴费 is
settled by the offices, not merged); the accounts brought along are credited.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from socialcard.db import bulk_insert
from socialcard.errors import InvalidField
from socialcard.insurance.accounts import (
    OTHER_REGIONS,
    open_personal_account,
    personal_account,
    pooled_fund,
)
from socialcard.insurance.declarations import SCHEME_BITS
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.errors import (
    NotEnrolled,
    TransferFileNotKept,
    TransferNotFound,
    TransferRefused,
)
from socialcard.insurance.models import (
    CITY_REGION,
    ContributionMonth,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    InsuranceTransfer,
    MonthSource,
    MonthStatus,
    TransferDirection,
)
from socialcard.insurance.rules import check_period, period_start, share
from socialcard.insurance.schemes import MONTHLY_PARTS, SCHEMES, SchemeCode, SchemeFamily
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing, sm3_hex
from socialcard.kernel.money import Money
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import TransferKind
from socialcard.registry.queries import lock_person

FILE_FORMAT: Final = "socialcard-insurance-transfer/1"
TRANSFERABLE: Final = frozenset(
    {SchemeFamily.PENSION, SchemeFamily.MEDICAL, SchemeFamily.UNEMPLOYMENT}
)
POOLED_SHARE_BP: Final = 1200  # the pension pooled fund transfers 12 % of each month's base
_REGION = re.compile(r"^[1-8]\d{5}$")
MONTH_FIELDS: Final = (
    "base_minor",
    *(c for _s, e, i in MONTHLY_PARTS for c in (e, i) if c),
    "pension_account_minor",
    "medical_account_minor",
)


@dataclass(frozen=True, slots=True)
class TransferredOut:
    transfer: InsuranceTransfer
    data_file: bytes  # UTF-8 JSON for the receiving office


def _check_region(region_code: str, region_name: str) -> None:
    if not _REGION.match(region_code):
        raise InvalidField("region_code", "gb2260", "转移地区应为 6 位行政区划代码。")
    if region_code.startswith("4311"):
        raise InvalidField("region_code", "other_region", "转移地区不能是永州市内的县区。")
    if not region_name.strip() or len(region_name) > 60:
        raise InvalidField("region_name", "required", "须填写转移地区名称（不超过 60 字）。")


def _next_no(session: Session, at: datetime) -> str:
    head = "ZY" + at.astimezone(SHANGHAI).strftime("%Y%m%d")
    last = session.scalar(
        select(func.max(InsuranceTransfer.transfer_no)).where(
            InsuranceTransfer.transfer_no.startswith(head)
        )
    )
    return f"{head}{(int(last[len(head) :]) + 1) if last else 1:04d}"


def _move(
    session: Session,
    transfer_no: str,
    debit: str,
    credit: str,
    amount: int,
    suffix: str,
    at: datetime,
) -> None:
    if amount <= 0:
        return
    ledger.post_transfer(
        session,
        ledger.TransferRequest(
            transfer_key=f"zy:{transfer_no}:{suffix}",
            debit_account=debit,
            credit_account=credit,
            amount=Money(amount),
            kind=TransferKind.RELATION_TRANSFERRED,
            reference=f"insurance_transfer:{transfer_no}",
            journal_key=f"zy:{transfer_no}",
        ),
        at=at,
    )


def _balance(session: Session, code: str | None) -> int:
    if code is None or ledger_queries.find_account(session, code) is None:
        return 0
    return ledger_queries.get_balance(session, code).available


def transfer_out(
    session: Session,
    keys: KeyRing,
    *,
    person_id: int,
    region_code: str,
    region_name: str,
    card_id: int | None,
    channel: str,
    created_by: int | None,
    at: datetime,
) -> TransferredOut:
    """Transfer the person's insurance relation to another region, once."""
    _check_region(region_code, region_name)
    person = lock_person(session, person_id)
    open_enrolments = list(
        session.scalars(
            select(Enrolment)
            .where(
                Enrolment.person_id == person.id,
                Enrolment.status != EnrolmentStatus.TERMINATED,
            )
            .with_for_update()
        )
    )
    moving = [e for e in open_enrolments if e.family in TRANSFERABLE]
    if not moving:
        raise NotEnrolled("可转移的养老、医疗或失业保险")
    month = ContributionMonth
    due = session.scalar(
        select(func.count()).where(month.person_id == person.id, month.status == MonthStatus.DUE)
    )
    if due:
        raise TransferRefused(f"有 {due} 个月已申报未缴费，须先缴清", due_months=due)
    months = list(
        session.scalars(
            select(month)
            .where(month.person_id == person.id, month.status == MonthStatus.PAID)
            .order_by(month.period)
        )
    )
    transfer = InsuranceTransfer(
        transfer_no=_next_no(session, at),
        person_id=person.id,
        direction=TransferDirection.OUT,
        region_code=region_code,
        region_name=region_name.strip(),
        schemes=sorted({e.scheme.value for e in moving}),
        first_period=months[0].period if months else None,
        last_period=months[-1].period if months else None,
        months=len(months),
        card_id=card_id,
        channel=channel,
        created_by=created_by,
        created_at=at,
    )
    pension_code = personal_account(person.id, SchemeCode.PENSION_EMPLOYEE)
    medical_code = personal_account(person.id, SchemeCode.MEDICAL_EMPLOYEE)
    transfer.pension_account_minor = _balance(session, pension_code)
    transfer.medical_account_minor = _balance(session, medical_code)
    session.add(transfer)
    session.flush()
    pooled_share = sum(share(m.base_minor, POOLED_SHARE_BP) for m in months if m.schemes_mask & 1)
    no = transfer.transfer_no
    if pension_code:
        _move(session, no, pension_code, OTHER_REGIONS, transfer.pension_account_minor, "pa", at)
    if medical_code:
        _move(session, no, medical_code, OTHER_REGIONS, transfer.medical_account_minor, "ma", at)
    _move(
        session,
        no,
        pooled_fund(SchemeCode.PENSION_EMPLOYEE),
        OTHER_REGIONS,
        pooled_share,
        "pool",
        at,
    )
    session.execute(
        update(month)
        .where(month.person_id == person.id, month.status == MonthStatus.PAID)
        .values(status=MonthStatus.TRANSFERRED_OUT)
    )
    day = at.astimezone(SHANGHAI).date()
    for enrolment in open_enrolments:
        enrolment.move_to(EnrolmentStatus.TERMINATED)
        enrolment.ended_on = day
        enrolment.end_reason = f"关系转出至{transfer.region_name}"[:100]
        enrolment.updated_at = at
    payload = {
        "format": FILE_FORMAT,
        "transfer_no": no,
        "from_region": CITY_REGION,
        "from_region_name": "湖南省永州市",
        "to_region": region_code,
        "to_region_name": transfer.region_name,
        "issued_at": at.astimezone(SHANGHAI).isoformat(),
        "person": {
            "resident_id": keys.decrypt(person.resident_id_cipher),
            "name": person.name,
        },
        "schemes": transfer.schemes,
        "pension_account_minor": transfer.pension_account_minor,
        "medical_account_minor": transfer.medical_account_minor,
        "pooled_minor": pooled_share,
        "months": [
            {
                "period": m.period,
                "region_code": m.region_code,
                "kind": m.kind.value,
                "schemes_mask": m.schemes_mask,
                **{f: getattr(m, f) for f in MONTH_FIELDS},
            }
            for m in months
        ],
    }
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    data = json.dumps({"digest": sm3_hex(body.encode()), "body": payload}, ensure_ascii=False)
    transfer.data_cipher = keys.encrypt(data)
    return TransferredOut(transfer, data.encode("utf-8"))


def transfer_data_file(
    session: Session, keys: KeyRing, transfer_no: str, *, person_id: int | None = None
) -> tuple[InsuranceTransfer, bytes]:
    """A transfer's data file as it was sent (or as it arrived), to download again; with
    `person_id`, only that person's (anyone else's reads as not found)."""
    transfer = session.scalars(
        select(InsuranceTransfer).where(InsuranceTransfer.transfer_no == transfer_no)
    ).first()
    if transfer is None or (person_id is not None and transfer.person_id != person_id):
        raise TransferNotFound(transfer_no)
    if transfer.data_cipher is None:
        raise TransferFileNotKept(transfer_no)
    return transfer, keys.decrypt(transfer.data_cipher).encode("utf-8")


def _parse(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8"))
        body = doc["body"]
        ok = sm3_hex(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()) == doc["digest"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidField("file", "transfer_file", "不是有效的关系转移数据文件。") from None
    if not ok:
        raise InvalidField("file", "digest", "转移数据文件校验不符（文件被改动或不完整）。")
    if body.get("format") != FILE_FORMAT:
        raise InvalidField("file", "format", f"转移数据文件格式应为 {FILE_FORMAT}。")
    return dict(body)


def transfer_in(
    session: Session,
    keys: KeyRing,
    *,
    person_id: int,
    data: bytes,
    card_id: int | None,
    channel: str,
    created_by: int | None,
    at: datetime,
) -> InsuranceTransfer:
    """Merge a history from another region into the person's record."""
    body = _parse(data)
    person = lock_person(session, person_id)
    if body["person"]["resident_id"] != keys.decrypt(person.resident_id_cipher):
        raise TransferRefused("转移文件的身份证号码与参保人不符")
    region = str(body.get("from_region", ""))
    _check_region(region, region)
    rows: list[dict[str, object]] = []
    for item in body.get("months", []):
        try:
            period = check_period(int(item["period"]))
            values = {f: int(item[f]) for f in MONTH_FIELDS}
            mask = int(item["schemes_mask"])
            kind = EnrolmentKind(item.get("kind", "employee"))
        except (KeyError, ValueError, TypeError):
            raise InvalidField("file", "month", "转移数据文件中有无法识别的缴费月份。") from None
        if any(v < 0 for v in values.values()) or not 0 < mask < 32:
            raise InvalidField("file", "month", f"{period} 的缴费数据不合规。")
        rows.append(
            {
                "person_id": person.id,
                "period": period,
                "employer_id": None,
                "kind": kind,
                "source": MonthSource.TRANSFERRED_IN,
                "region_code": str(item.get("region_code") or region)[:6],
                "status": MonthStatus.PAID,
                "schemes_mask": mask,
                "paid_on": period_start(period),
                **values,
            }
        )
    if not rows:
        raise TransferRefused("转移文件中没有缴费月份")
    periods = [int(r["period"]) for r in rows]  # type: ignore[call-overload]
    clash = session.scalars(
        select(ContributionMonth.period).where(
            ContributionMonth.person_id == person.id,
            ContributionMonth.period.in_(periods),
            ContributionMonth.status.in_((MonthStatus.PAID, MonthStatus.DUE)),
        )
    ).all()
    if clash:
        listed = "、".join(str(p) for p in sorted(clash)[:6])
        raise TransferRefused(f"以下月份本地已有缴费，属重复缴费，须由经办机构核定：{listed}")
    medical_bit = SCHEME_BITS[SchemeCode.MEDICAL_EMPLOYEE]
    has_medical = any(int(str(r["schemes_mask"])) & medical_bit for r in rows)
    schemes = (SchemeCode.PENSION_EMPLOYEE,) + (
        (SchemeCode.MEDICAL_EMPLOYEE,) if has_medical else ()
    )
    open_families = {
        e.family
        for e in session.scalars(
            select(Enrolment).where(
                Enrolment.person_id == person.id, Enrolment.status != EnrolmentStatus.TERMINATED
            )
        )
    }
    wanted = tuple(s for s in schemes if SCHEMES[s].family not in open_families)
    if wanted:
        # The relation arrives as a suspended flexible enrolment until an employer or the person
        # starts paying here (续保).
        for enrolment in enrol(
            session,
            EnrolRequest(
                person_id=person.id,
                kind=EnrolmentKind.FLEXIBLE,
                started_on=at.astimezone(SHANGHAI).date(),
                channel=channel,
                wage_minor=max(int(r["base_minor"]) for r in rows),  # type: ignore[call-overload]
                schemes=wanted,
            ),
            at=at,
        ):
            enrolment.move_to(EnrolmentStatus.SUSPENDED)
            enrolment.end_reason = "异地转入，待续保"
    transfer = InsuranceTransfer(
        transfer_no=_next_no(session, at),
        person_id=person.id,
        direction=TransferDirection.IN,
        region_code=region,
        region_name=str(body.get("from_region_name") or region)[:60],
        schemes=sorted(str(s) for s in body.get("schemes", [])),
        first_period=min(periods),
        last_period=max(periods),
        months=len(rows),
        pension_account_minor=int(body.get("pension_account_minor", 0)),
        medical_account_minor=int(body.get("medical_account_minor", 0)),
        card_id=card_id,
        channel=channel,
        created_by=created_by,
        created_at=at,
        data_cipher=keys.encrypt(data.decode("utf-8")),  # the file as it arrived
    )
    session.add(transfer)
    session.flush()
    bulk_insert(session, ContributionMonth.__table__, rows)
    no = transfer.transfer_no
    for scheme, amount, suffix in (
        (SchemeCode.PENSION_EMPLOYEE, transfer.pension_account_minor, "pa"),
        (SchemeCode.MEDICAL_EMPLOYEE, transfer.medical_account_minor, "ma"),
    ):
        if amount > 0:
            open_personal_account(session, person.id, scheme, at=at)
            code = personal_account(person.id, scheme)
            _move(session, no, OTHER_REGIONS, str(code), amount, suffix, at)
    pooled = int(body.get("pooled_minor", 0))
    _move(session, no, OTHER_REGIONS, pooled_fund(SchemeCode.PENSION_EMPLOYEE), pooled, "pool", at)
    return transfer
