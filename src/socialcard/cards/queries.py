"""Card reads."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.cards.errors import BatchNotFound, CardNotFound
from socialcard.cards.models import (
    IN_HAND,
    IN_PIPELINE,
    Card,
    CardEvent,
    CardStatus,
    ProductionBatch,
)
from socialcard.cards.numbers import normalise_card_number
from socialcard.registry.models import Person


def find_card(session: Session, card_number: str) -> Card | None:
    stmt = select(Card).where(Card.card_number == normalise_card_number(card_number))
    return session.scalars(stmt).first()


def get_card(session: Session, card_number: str) -> Card:
    card = find_card(session, card_number)
    if card is None:
        raise CardNotFound(normalise_card_number(card_number)[:9])
    return card


def lock_holder_of_card(session: Session, card_number: str) -> tuple[Person, Card]:
    """The card's holder, locked as registry.queries.lock_person locks it (every operation on a
    person's cards queues there), then the card as it is under that lock: two reads instead of
    read, lock, read again. Raises CardNotFound."""
    number = normalise_card_number(card_number)
    holder = session.scalars(
        select(Person)
        .join(Card, Card.person_id == Person.id)
        .where(Card.card_number == number)
        .with_for_update(of=Person)
        .execution_options(populate_existing=True)
    ).first()
    if holder is None:
        raise CardNotFound(number[:9])
    card = session.scalars(
        select(Card).where(Card.card_number == number).execution_options(populate_existing=True)
    ).one()
    return holder, card


def find_card_by_uid(session: Session, card_uid: str) -> Card | None:
    return session.scalars(select(Card).where(Card.card_uid == card_uid.upper())).first()


def find_card_in_hand(session: Session, person_id: int) -> Card | None:
    """The card the person holds (issued, active or reported), if any: at most one."""
    stmt = select(Card).where(Card.person_id == person_id, Card.status.in_(sorted(IN_HAND)))
    return session.scalars(stmt).first()


def find_card_in_pipeline(session: Session, person_id: int) -> Card | None:
    """The card being applied for or made, if any: at most one."""
    stmt = select(Card).where(Card.person_id == person_id, Card.status.in_(sorted(IN_PIPELINE)))
    return session.scalars(stmt).first()


def find_last_card(session: Session, person_id: int) -> Card | None:
    stmt = select(Card).where(Card.person_id == person_id).order_by(Card.id.desc()).limit(1)
    return session.scalars(stmt).first()


def list_cards_for_holder(session: Session, person_id: int) -> list[Card]:
    """Every card the person ever had, newest first."""
    stmt = select(Card).where(Card.person_id == person_id).order_by(Card.id.desc())
    return list(session.scalars(stmt))


def list_card_events(session: Session, card_id: int) -> list[CardEvent]:
    stmt = select(CardEvent).where(CardEvent.card_id == card_id).order_by(CardEvent.id)
    return list(session.scalars(stmt))


def list_events_for_holder(session: Session, person_id: int) -> list[CardEvent]:
    stmt = select(CardEvent).where(CardEvent.person_id == person_id).order_by(CardEvent.id)
    return list(session.scalars(stmt))


def get_batch(session: Session, batch_no: str) -> ProductionBatch:
    batch = session.scalars(
        select(ProductionBatch).where(ProductionBatch.batch_no == batch_no)
    ).first()
    if batch is None:
        raise BatchNotFound(batch_no)
    return batch


def list_batches(session: Session, *, limit: int = 50) -> list[ProductionBatch]:
    stmt = select(ProductionBatch).order_by(ProductionBatch.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def list_batch_cards(session: Session, batch_id: int) -> list[Card]:
    stmt = select(Card).where(Card.production_batch_id == batch_id).order_by(Card.card_number)
    return list(session.scalars(stmt))


def count_cards_by_status(session: Session) -> dict[CardStatus, int]:
    stmt = select(Card.status, func.count()).group_by(Card.status)
    return dict(session.execute(stmt).tuples().all())


def count_collected_by_bank(session: Session) -> dict[str, int]:
    """Applications ready for a production batch, per partner bank."""
    stmt = (
        select(Card.bank_code, func.count())
        .where(Card.status == CardStatus.DATA_COLLECTED)
        .group_by(Card.bank_code)
        .order_by(Card.bank_code)
    )
    return dict(session.execute(stmt).tuples().all())


def count_usable_cards_by_region(session: Session) -> dict[str, tuple[int, int]]:
    """Per issuing region (the holder's county when the card was applied for): usable cards,
    and of those the ones whose bank account is activated. Read from the (issuing region,
    status) index; docs/metrics.md defines the rates built on it."""
    activated = func.count(Card.bank_account_activated_at)
    stmt = (
        select(Card.issuing_region_code, func.count(), activated)
        .where(Card.status == CardStatus.ACTIVE)
        .group_by(Card.issuing_region_code)
    )
    return {region: (usable, active) for region, usable, active in session.execute(stmt).tuples()}


def list_persons_without_card(
    session: Session, *, county_code: str, township: str | None = None
) -> list[int]:
    """Living residents of a county (and township) who neither hold a card nor have one on its
    way: the people a bulk application is for."""
    from socialcard.registry.models import Person, PersonStatus

    live = sorted(IN_HAND | IN_PIPELINE)
    has_card = select(Card.id).where(Card.person_id == Person.id, Card.status.in_(live)).exists()
    stmt = select(Person.id).where(
        Person.status == PersonStatus.LIVING,
        Person.residence_county_code == county_code,
        ~has_card,
    )
    if township:
        stmt = stmt.where(Person.residence_township == township)
    return list(session.scalars(stmt.order_by(Person.id)))
