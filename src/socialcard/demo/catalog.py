"""The demo city's rollout of the catalogue: openings that follow the plan's dates with realistic
delays and gaps, and a year of card uses by residents of the counties where items are open.

Until the business areas that serve items exist, this history gives the leading group's
dashboard something true to compute from: every figure still comes from openings and uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.catalog.metrics import CITY_CODE, DEFAULT_NOT_APPLICABLE
from socialcard.catalog.models import CardUse, Channel, ItemOpening, OpeningStatus, UsageKind
from socialcard.catalog.opening_sheet import OpeningChange
from socialcard.catalog.queries import list_items
from socialcard.catalog.services import apply_opening_sheet
from socialcard.catalog.tallies import rebuild_user_tallies
from socialcard.db import bulk_insert
from socialcard.kernel.clock import SHANGHAI
from socialcard.regions.queries import list_counties
from socialcard.registry.models import Person, PersonStatus

OPENED_AS_PLANNED = "按实施方案开通"

# Items a city-level agency serves for everyone (personnel agency, talent services).
CITY_LEVEL_CATEGORIES = frozenset({"人事人才"})
CHANNELS_BY_KIND: dict[UsageKind, tuple[Channel, ...]] = {
    UsageKind.CREDENTIAL: (Channel.COUNTER, Channel.COUNTER, Channel.KIOSK),
    UsageKind.RECORD: (Channel.COUNTER,),
    UsageKind.QUERY: (Channel.KIOSK, Channel.WEB, Channel.MOBILE, Channel.BANK),
    UsageKind.SETTLEMENT: (Channel.HOSPITAL, Channel.HOSPITAL, Channel.PHARMACY),
    UsageKind.MONEY: (Channel.BANK, Channel.BANK, Channel.MOBILE),
}


@dataclass(frozen=True, slots=True)
class DemoRollout:
    openings: int
    card_uses: int


def demo_rollout_exists(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(ItemOpening)) != 0


def create_demo_rollout(
    session: Session, *, seed: int, today: date, at: datetime, uses: int
) -> DemoRollout:
    """Open items county by county after their planned dates, and record `uses` card uses."""
    rng = random.Random(seed)
    counties = [c.code for c in list_counties(session)]
    # Counties differ in pace: the city districts first, the mountain counties later.
    pace = {code: rng.uniform(0.5, 1.0) for code in counties}
    changes: list[OpeningChange] = []
    open_now: dict[int, list[str]] = {}
    kinds: dict[int, UsageKind] = {}

    def change(item_no: int, region: str, status: OpeningStatus, on: date, reason: str) -> None:
        changes.append(OpeningChange(len(changes) + 1, item_no, region, status, on, reason))

    for item in list_items(session):
        kinds[item.item_no] = item.usage_kind
        if item.item_no in DEFAULT_NOT_APPLICABLE:
            continue
        planned = item.planned_from_on or date(2016, 6, 1)
        if item.by_ministry_progress or not item.responsible_units:
            planned = max(planned, date(2017, 1, 1))
        if item.category in CITY_LEVEL_CATEGORIES and rng.random() < 0.6:
            start = planned + timedelta(days=rng.randint(0, 300))
            if start <= today:
                change(item.item_no, CITY_CODE, OpeningStatus.OPENED, start, OPENED_AS_PLANNED)
                open_now[item.item_no] = list(counties)
            continue
        for code in counties:
            if rng.random() > pace[code] * 0.97:
                continue  # not opened here yet
            start = planned + timedelta(days=int(rng.expovariate(1 / (120 / pace[code]))))
            if start > today:
                continue
            change(item.item_no, code, OpeningStatus.OPENED, start, OPENED_AS_PLANNED)
            if rng.random() < 0.03:
                pause = start + timedelta(days=rng.randint(30, 400))
                if pause <= today:
                    change(item.item_no, code, OpeningStatus.SUSPENDED, pause, "系统升级暂停")
                    continue
            open_now.setdefault(item.item_no, []).append(code)
    # One sheet, as a department would upload it: the same rules as one change at a time.
    apply_opening_sheet(session, changes, recorded_by=None, at=at)
    used = _record_uses(session, rng, open_now, kinds, today=today, uses=uses)
    return DemoRollout(openings=len(changes), card_uses=used)


def _record_uses(
    session: Session,
    rng: random.Random,
    open_now: dict[int, list[str]],
    kinds: dict[int, UsageKind],
    *,
    today: date,
    uses: int,
) -> int:
    residents: dict[str, list[int]] = {}
    stmt = select(Person.id, Person.residence_county_code).where(
        Person.status == PersonStatus.LIVING
    )
    for person_id, county in session.execute(stmt).tuples():
        if county is not None:
            residents.setdefault(county, []).append(person_id)
    items = [i for i in open_now if open_now[i]]
    if not items or not residents:
        return 0
    # Queries and settlement are used far more often than registrations.
    weights = [5 if kinds[i] in (UsageKind.QUERY, UsageKind.SETTLEMENT) else 1 for i in items]
    rows: list[dict[str, Any]] = []
    for _ in range(uses):
        item_no = rng.choices(items, weights)[0]
        county = rng.choice(open_now[item_no])
        people = residents.get(county)
        if not people:
            continue
        day = today - timedelta(days=rng.randint(0, 364))
        moment = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), SHANGHAI)
        rows.append(
            {
                "item_no": item_no,
                "person_id": rng.choice(people),
                "card_id": None,
                "channel": rng.choice(CHANNELS_BY_KIND[kinds[item_no]]),
                "terminal_code": None,
                "county_code": county,
                "used_at": moment.astimezone(UTC),
                "outcome": "success",
                "refusal_code": None,
                "details": {},
            }
        )
    bulk_insert(session, CardUse.__table__, rows)
    rebuild_user_tallies(session)
    return len(rows)
