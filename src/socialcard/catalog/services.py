"""Catalogue writes: loading a catalogue version, opening and suspending items, card uses."""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib import resources
from typing import Any

from sqlalchemy import (
    Select,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from socialcard.catalog.errors import CatalogItemNotFound, OpeningNotAllowed, OpeningOutOfOrder
from socialcard.catalog.models import (
    OPENING_TRANSITIONS,
    CardUse,
    CatalogItem,
    Channel,
    ItemOpening,
    OpeningStatus,
    UsageKind,
    UseOutcome,
)
from socialcard.catalog.opening_sheet import OpeningChange, OpeningSheetRejected, SheetProblem
from socialcard.catalog.queries import current_version, get_item, latest_opening
from socialcard.catalog.tallies import note_successful_use, note_successful_uses_of_day
from socialcard.db import UTCDateTime
from socialcard.errors import DomainError, InvalidField
from socialcard.kernel.clock import SHANGHAI


def shipped_catalog() -> dict[str, Any]:
    """The catalogue shipped in the package (data/catalog.json)."""
    text = resources.files("socialcard.catalog").joinpath("data/catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _month_start(text: str | None) -> date | None:
    if not text:
        return None
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def load_catalog(session: Session, data: dict[str, Any], *, at: datetime) -> int:
    """Load a catalogue version if it is not loaded yet; returns the number of items added.

    Item numbers are never reused: a revised catalogue is a new version.
    """
    version = str(data["catalog_version"])
    loaded = set(
        session.scalars(select(CatalogItem.item_no).where(CatalogItem.catalog_version == version))
    )
    added = 0
    for item in data["items"]:
        if item["item_no"] in loaded:
            continue
        planned = item["planned_completion"]
        session.add(
            CatalogItem(
                catalog_version=version,
                item_no=int(item["item_no"]),
                category=item["category"],
                usage_kind=UsageKind(item["usage_kind"]),
                name=item["name"],
                description=item["description"],
                responsible_units=list(item["responsible_units"]),
                planned_completion=planned["text"],
                planned_from_on=_month_start(planned.get("from_month")),
                planned_to_on=_month_start(planned.get("to_month")),
                by_ministry_progress=bool(planned.get("by_ministry_progress")),
                notes=item.get("notes"),
                loaded_at=at,
            )
        )
        added += 1
    session.flush()
    return added


def change_opening(
    session: Session,
    *,
    item_no: int,
    region_code: str,
    status: OpeningStatus,
    effective_on: date,
    reason: str | None,
    recorded_by: int | None,
    at: datetime,
) -> ItemOpening:
    """Open, suspend or close an item in a county (or for the city) from a date on.

    Raises:
        CatalogItemNotFound: no such item.
        OpeningNotAllowed: the change does not follow from the current status.
        OpeningOutOfOrder: an earlier-dated change than the latest one recorded.
    """
    get_item(session, item_no)
    latest = latest_opening(session, item_no=item_no, region_code=region_code)
    _check_change(
        item_no,
        region_code,
        status,
        effective_on,
        reason,
        (latest.status, latest.effective_on) if latest is not None else None,
    )
    opening = ItemOpening(
        item_no=item_no,
        region_code=region_code,
        status=status,
        effective_on=effective_on,
        reason=reason,
        recorded_by=recorded_by,
        recorded_at=at,
    )
    session.add(opening)
    session.flush()
    return opening


def _check_change(
    item_no: int,
    region_code: str,
    status: OpeningStatus,
    effective_on: date,
    reason: str | None,
    latest: tuple[OpeningStatus, date] | None,
) -> None:
    """The rules of an opening change, given the latest recorded change of the item there."""
    current = latest[0] if latest is not None else None
    if status not in OPENING_TRANSITIONS[current]:
        raise OpeningNotAllowed(
            item_no, region_code, current.value if current else "未开通", status.value
        )
    if latest is not None and effective_on < latest[1]:
        raise OpeningOutOfOrder(item_no, region_code, latest[1].isoformat())
    if reason is not None and len(reason) > 200:
        raise InvalidField("reason", "max_length_200", "原因不能超过 200 字。")


def record_card_use(
    session: Session,
    *,
    item_no: int,
    person_id: int,
    channel: Channel,
    county_code: str | None,
    used_at: datetime,
    outcome: UseOutcome = UseOutcome.SUCCESS,
    card_id: int | None = None,
    terminal_code: str | None = None,
    refusal_code: str | None = None,
) -> CardUse:
    """Append one card use, in the caller's transaction (the same one as the business effect)."""
    use = CardUse(
        item_no=item_no,
        person_id=person_id,
        card_id=card_id,
        channel=channel,
        terminal_code=terminal_code,
        county_code=county_code,
        used_at=used_at,
        outcome=outcome,
        refusal_code=refusal_code,
        details={},
    )
    session.add(use)
    if outcome is UseOutcome.SUCCESS:
        note_successful_use(session, item_no=item_no, person_id=person_id, used_at=used_at)
    return use


def record_card_uses_of_day(
    session: Session,
    *,
    item_no: int,
    channel: Channel,
    used_at: datetime,
    rows: Select[Any],
    holders: Select[Any],
) -> int:
    """Append many successful card uses of one item at one moment (a bank's return file: every
    payment credited is a use of the programme's item), set-based, with the distinct-user
    tallies kept in the same transaction. `rows` selects (person_id, card_id, county_code), in
    holder order (the uses' index by holder is then filled in order); `holders` selects the
    distinct person ids of `rows`, in order. Each is evaluated once: the uses straight from
    `rows`, the tallies from `holders`."""
    written = _insert_uses(session, rows, item_no=item_no, channel=channel, used_at=used_at)
    note_successful_uses_of_day(
        session, item_no=item_no, day=used_at.astimezone(SHANGHAI).date(), person_ids=holders
    )
    return written


def _insert_uses(
    session: Session, rows: Select[Any], *, item_no: int, channel: Channel, used_at: datetime
) -> int:
    """Append a successful use of the item for each (person_id, card_id, county_code) row."""
    source = rows.subquery()
    person_id, card_id, county_code = source.c[0], source.c[1], source.c[2]
    written = session.execute(
        insert(CardUse)
        .from_select(
            [
                "item_no",
                "person_id",
                "card_id",
                "channel",
                "county_code",
                "used_at",
                "outcome",
                "details",
            ],
            select(
                literal(item_no),
                person_id,
                card_id,
                literal(channel.value),
                county_code,
                literal(used_at, UTCDateTime()),
                literal(UseOutcome.SUCCESS.value),
                literal_column("'{}'"),
            ),
        )
        # SQLAlchemy keeps an INSERT's row count only when asked (PostgreSQL read -1).
        .execution_options(preserve_rowcount=True)
    ).rowcount  # type: ignore[attr-defined]
    return int(written or 0)


def apply_opening_sheet(
    session: Session, changes: list[OpeningChange], *, recorded_by: int | None, at: datetime
) -> list[ItemOpening]:
    """Apply parsed sheet rows in date order, in the caller's transaction; any refused row
    refuses the whole sheet with every problem named by its row (nothing is written). The rules
    are change_opening's, checked against the recorded history and the sheet's earlier rows; the
    history is read once and the rows written together (a rollout of a thousand changes)."""
    from socialcard.regions.models import Region

    ordered = sorted(changes, key=lambda c: (c.effective_on, c.row_number))
    codes = {c.region_code for c in ordered}
    known_regions = set(session.scalars(select(Region.code).where(Region.code.in_(codes))))
    item_nos = {c.item_no for c in ordered}
    version = current_version(session)
    known_items = set(
        session.scalars(
            select(CatalogItem.item_no).where(
                CatalogItem.catalog_version == version, CatalogItem.item_no.in_(item_nos)
            )
        )
    )
    latest: dict[tuple[int, str], tuple[OpeningStatus, date]] = {}
    history = (
        select(ItemOpening.item_no, ItemOpening.region_code, ItemOpening.status)
        .add_columns(ItemOpening.effective_on)
        .where(ItemOpening.item_no.in_(item_nos), ItemOpening.region_code.in_(codes))
        .order_by(ItemOpening.effective_on, ItemOpening.id)
    )
    for item_no, region_code, status, effective_on in session.execute(history).tuples():
        latest[(item_no, region_code)] = (status, effective_on)
    applied: list[ItemOpening] = []
    problems: list[SheetProblem] = []
    for change in ordered:
        if change.region_code not in known_regions:
            problems.append(SheetProblem(change.row_number, "region_code", "没有该行政区划"))
            continue
        key = (change.item_no, change.region_code)
        try:
            if change.item_no not in known_items:
                raise CatalogItemNotFound(change.item_no)
            _check_change(
                change.item_no,
                change.region_code,
                change.status,
                change.effective_on,
                change.reason,
                latest.get(key),
            )
        except DomainError as error:
            problems.append(SheetProblem(change.row_number, "row", error.message))
            continue
        latest[key] = (change.status, change.effective_on)
        applied.append(
            ItemOpening(
                item_no=change.item_no,
                region_code=change.region_code,
                status=change.status,
                effective_on=change.effective_on,
                reason=change.reason,
                recorded_by=recorded_by,
                recorded_at=at,
            )
        )
    if problems:
        raise OpeningSheetRejected(sorted(problems, key=lambda p: p.row_number))
    session.add_all(applied)
    session.flush()
    return applied
