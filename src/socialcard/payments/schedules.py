"""Fee schedules: the catalogue's collection items as departments charge them. The shipped ones
are examples (is_example) until a department loads its own; every screen says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.catalog.bindings import Binding
from socialcard.ledger import accounts
from socialcard.ledger import services as ledger
from socialcard.ledger.models import NormalSide
from socialcard.payments.errors import FeeScheduleInactive, FeeScheduleNotFound
from socialcard.payments.models import FeeSchedule


@dataclass(frozen=True, slots=True)
class ShippedSchedule:
    code: str
    name: str
    item_no: int
    department_code: str
    unit_name: str
    amount_minor: int | None  # None: the amount comes with each order (a tuition notice)


EXAMPLES_FROM: Final = date(2026, 1, 1)

SHIPPED_SCHEDULES: Final[tuple[ShippedSchedule, ...]] = (
    ShippedSchedule(
        "skill_appraisal",
        "职业技能鉴定费（中级工，示例）",
        21,
        "hrss",
        "市职业技能鉴定中心",
        15_000,
    ),
    ShippedSchedule(
        "personnel_exam", "人事人才考试报名费（每科，示例）", 93, "hrss", "市人事考试院", 5_000
    ),
    ShippedSchedule(
        "personnel_agency", "人事代理服务费（年度，示例）", 94, "hrss", "市人才交流中心", 24_000
    ),
    ShippedSchedule("tuition", "学费（按缴费通知金额）", 104, "education", "市教育局", None),
)


def income_account(schedule: FeeSchedule) -> str:
    """The ledger account the schedule's collections are credited to."""
    return accounts.department_income(schedule.department_code, schedule.code)


def ensure_fee_schedules(session: Session, at: datetime) -> list[FeeSchedule]:
    """Insert the shipped example schedules that are missing and open their income accounts;
    a schedule a department already changed is left as it is."""
    existing = {s.code: s for s in session.scalars(select(FeeSchedule))}
    schedules: list[FeeSchedule] = []
    for shipped in SHIPPED_SCHEDULES:
        schedule = existing.get(shipped.code)
        if schedule is None:
            schedule = FeeSchedule(
                code=shipped.code,
                name=shipped.name,
                item_no=shipped.item_no,
                department_code=shipped.department_code,
                unit_name=shipped.unit_name,
                amount_minor=shipped.amount_minor,
                is_example=True,
                effective_from=EXAMPLES_FROM,
                active=True,
                created_at=at,
            )
            session.add(schedule)
            session.flush()
        ledger.open_account(
            session,
            income_account(schedule),
            name=f"{shipped.unit_name} {shipped.name}"[:120],
            normal_side=NormalSide.CREDIT,
            at=at,
        )
        schedules.append(schedule)
    return schedules


def list_fee_schedules(
    session: Session, *, department_code: str | None = None, active_only: bool = True
) -> list[FeeSchedule]:
    stmt = select(FeeSchedule).order_by(FeeSchedule.item_no, FeeSchedule.code)
    if department_code is not None:
        stmt = stmt.where(FeeSchedule.department_code == department_code)
    if active_only:
        stmt = stmt.where(FeeSchedule.active)
    return list(session.scalars(stmt))


def get_fee_schedule(session: Session, code: str) -> FeeSchedule:
    schedule = session.scalars(select(FeeSchedule).where(FeeSchedule.code == code)).first()
    if schedule is None:
        raise FeeScheduleNotFound(code)
    return schedule


def get_schedule_in_force(session: Session, code: str, *, on: date) -> FeeSchedule:
    """The schedule, or FeeScheduleInactive when it is switched off or not yet effective."""
    schedule = get_fee_schedule(session, code)
    if not schedule.active or schedule.effective_from > on:
        raise FeeScheduleInactive(code)
    return schedule


# The collection items served by fee schedules: a paid order is a card use of its item. (Item
# 104's tuition is collected here too, but the item is bound to disbursement's grants.)
CATALOG_BINDINGS: Final = (
    Binding(21, "payments", "pay_order"),
    Binding(93, "payments", "pay_order"),
    Binding(94, "payments", "pay_order"),
)
