"""Catalogue reads: items, the status of items per region on any date, opening history."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.catalog.errors import CatalogItemNotFound
from socialcard.catalog.metrics import CountyFacts, ItemFacts, ItemPlan, MetricInputs
from socialcard.catalog.models import (
    CardUse,
    CatalogItem,
    ItemOpening,
    OpeningStatus,
    UseOutcome,
)
from socialcard.catalog.tallies import count_users_by_item_scan, count_users_year_to_date
from socialcard.kernel.clock import SHANGHAI
from socialcard.regions.queries import list_counties


def current_version(session: Session) -> str | None:
    """The newest catalogue version loaded (versions sort by their load time)."""
    stmt = (
        select(CatalogItem.catalog_version)
        .order_by(CatalogItem.loaded_at.desc(), CatalogItem.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def list_items(session: Session, *, version: str | None = None) -> list[CatalogItem]:
    chosen = version or current_version(session)
    stmt = (
        select(CatalogItem)
        .where(CatalogItem.catalog_version == chosen)
        .order_by(CatalogItem.item_no)
    )
    return list(session.scalars(stmt))


def get_item(session: Session, item_no: int, *, version: str | None = None) -> CatalogItem:
    chosen = version or current_version(session)
    item = session.scalars(
        select(CatalogItem).where(
            CatalogItem.catalog_version == chosen, CatalogItem.item_no == item_no
        )
    ).first()
    if item is None:
        raise CatalogItemNotFound(item_no)
    return item


def latest_opening(session: Session, *, item_no: int, region_code: str) -> ItemOpening | None:
    stmt = (
        select(ItemOpening)
        .where(ItemOpening.item_no == item_no, ItemOpening.region_code == region_code)
        .order_by(ItemOpening.effective_on.desc(), ItemOpening.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def latest_statuses_on(
    session: Session, *, item_no: int, region_codes: list[str], on: date
) -> dict[str, OpeningStatus]:
    """The status of one item in each of several regions on a date, in one query: each region's
    latest change effective by `on` (a region where it was never opened by then is absent)."""
    stmt = (
        select(ItemOpening.region_code, ItemOpening.status)
        .where(
            ItemOpening.item_no == item_no,
            ItemOpening.region_code.in_(region_codes),
            ItemOpening.effective_on <= on,
        )
        .order_by(ItemOpening.effective_on, ItemOpening.id)
    )
    # An item changes status a few times in a region: the last row of each region wins.
    return dict(session.execute(stmt).tuples().all())


def statuses_on(session: Session, on: date) -> dict[tuple[int, str], OpeningStatus]:
    """What was opened, suspended or closed where on a date: (item, region) → status. Pairs with
    no change effective by then are absent (not opened)."""
    stmt = (
        select(ItemOpening)
        .where(ItemOpening.effective_on <= on)
        .order_by(ItemOpening.effective_on, ItemOpening.id)
    )
    result: dict[tuple[int, str], OpeningStatus] = {}
    for opening in session.scalars(stmt):
        result[(opening.item_no, opening.region_code)] = opening.status
    return result


def list_opening_history(
    session: Session, *, item_no: int | None = None, region_code: str | None = None
) -> list[ItemOpening]:
    stmt = select(ItemOpening).order_by(ItemOpening.effective_on, ItemOpening.id)
    if item_no is not None:
        stmt = stmt.where(ItemOpening.item_no == item_no)
    if region_code is not None:
        stmt = stmt.where(ItemOpening.region_code == region_code)
    return list(session.scalars(stmt))


def count_uses_by_item(session: Session) -> dict[int, int]:
    """Successful card uses per item, all time."""
    stmt = (
        select(CardUse.item_no, func.count())
        .where(CardUse.outcome == UseOutcome.SUCCESS)
        .group_by(CardUse.item_no)
    )
    return dict(session.execute(stmt).tuples().all())


def count_users_by_item(session: Session, *, period_from: date, period_to: date) -> dict[int, int]:
    """Distinct holders with a successful use of each item in a period (days in Asia/Shanghai,
    both ends inclusive): from the tallies when the period runs from 1 January (every figure the
    dashboard and the reports show), otherwise from the card uses themselves."""
    if period_from == date(period_to.year, 1, 1):
        return count_users_year_to_date(session, on=period_to)
    return count_users_by_item_scan(session, period_from=period_from, period_to=period_to)


def gather_metric_inputs(
    session: Session,
    *,
    as_of: date,
    period_from: date,
    period_to: date,
    with_users: bool = True,
) -> MetricInputs:
    """Everything compute_figures needs, in four set-based reads (three when the caller needs no
    use figures)."""
    return MetricInputs(
        as_of=as_of,
        period_from=period_from,
        period_to=period_to,
        items=[ItemFacts(i.item_no, i.name, i.category, i.usage_kind) for i in list_items(session)],
        counties=[CountyFacts(c.code, c.name, c.population or 0) for c in list_counties(session)],
        statuses=statuses_on(session, as_of),
        users_by_item=(
            count_users_by_item(session, period_from=period_from, period_to=period_to)
            if with_users
            else {}
        ),
    )


def list_item_plans(session: Session) -> list[ItemPlan]:
    """Responsible units and planned completion of every item of the current version."""
    plans: list[ItemPlan] = []
    for item in list_items(session):
        due = None
        if item.planned_to_on is not None:
            following = (item.planned_to_on.replace(day=28) + timedelta(days=4)).replace(day=1)
            due = following - timedelta(days=1)
        plans.append(
            ItemPlan(item.item_no, tuple(item.responsible_units), item.planned_completion, due)
        )
    return plans


def count_uses_by_county_and_channel(
    session: Session, *, item_no: int, period_from: date, period_to: date
) -> list[tuple[str | None, str, int]]:
    """Successful uses of one item in a period, by county and channel: the uses behind the
    item's figures."""
    start = datetime.combine(period_from, time.min, tzinfo=SHANGHAI)
    end = datetime.combine(period_to + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    stmt = (
        select(CardUse.county_code, CardUse.channel, func.count())
        .where(
            CardUse.item_no == item_no,
            CardUse.outcome == UseOutcome.SUCCESS,
            CardUse.used_at >= start,
            CardUse.used_at < end,
        )
        .group_by(CardUse.county_code, CardUse.channel)
        .order_by(func.count().desc())
    )
    return [(county, channel.value, count) for county, channel, count in session.execute(stmt)]


def list_recent_uses(session: Session, *, item_no: int, limit: int = 20) -> list[CardUse]:
    """The latest uses of an item (newest first)."""
    stmt = (
        select(CardUse)
        .where(CardUse.item_no == item_no)
        .order_by(CardUse.used_at.desc(), CardUse.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
