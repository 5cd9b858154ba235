"""The card-use door (DESIGN §1): every use of the card, by every area, goes through
present_card. It authenticates the credential, checks the card is usable and the item opened in
the county, records the card use in the caller's transaction and returns the holder.

A refusal raises a CardUseRefused with a stable code. The caller's transaction then rolls back,
so the entry point records the refusal (and a wrong PIN) in a transaction of its own with
record_refusal — http.cards.use_card does both steps for every channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from socialcard.cards import queries
from socialcard.cards.ecard import EcardToken, redeem_ecard_token
from socialcard.cards.errors import (
    CardCancelled,
    CardNotActivated,
    CardReportedLost,
    CardUseRefused,
    EcardTokenRefused,
    HolderNotLivingRefused,
    ItemNotOpened,
    PinChangeRequired,
    PinIncorrect,
    PinLocked,
)
from socialcard.cards.models import DEAD, REPORTED, Card, CardStatus
from socialcard.cards.policy import CardPolicy
from socialcard.cards.services import (
    CITY_CODE,
    Handling,
    pin_digest,
    record_pin_failure,
    refresh_card,
)
from socialcard.catalog.models import CardUse, Channel, OpeningStatus, UseOutcome
from socialcard.catalog.queries import latest_statuses_on
from socialcard.catalog.services import record_card_use
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing, constant_time_equal
from socialcard.registry.models import Person, PersonStatus
from socialcard.registry.queries import get_person, lock_person


@dataclass(frozen=True, slots=True)
class PhysicalCard:
    """The chip read by a terminal, and the PIN the holder typed on its pad."""

    card_number: str
    pin: str


@dataclass(frozen=True, slots=True)
class CheckedCard:
    """A card a clerk has in hand and compared with the holder's face and ID (no PIN)."""

    card_number: str


@dataclass(frozen=True, slots=True)
class SignedInCard:
    """The card whose PIN opened the holder's own session at the portal or a kiosk: each use
    within the session is recorded against it without asking for the PIN again."""

    card_number: str


@dataclass(frozen=True, slots=True)
class ElectronicCard:
    """An electronic-card QR code shown on the holder's phone."""

    token: str
    payment: bool = False  # a payment use consumes the code


Credential = PhysicalCard | CheckedCard | SignedInCard | ElectronicCard


@dataclass(frozen=True, slots=True)
class Presented:
    """A card accepted for one use of one item."""

    holder: Person
    card: Card
    use: CardUse


def check_pin(card: Card, keys: KeyRing, policy: CardPolicy, pin: str) -> None:
    """Raise PinLocked or PinIncorrect (marked pin_failed, for record_refusal) unless the PIN is
    right. A right PIN clears the failure count."""
    if card.pin_locked_at is not None:
        raise _refused(PinLocked(card.card_number), card)
    if not constant_time_equal(card.pin_hash, pin_digest(keys, card.card_number, pin)):
        remaining = max(policy.pin_failures_max - card.pin_failures - 1, 0)
        refusal: CardUseRefused = (
            PinIncorrect(card.card_number, remaining) if remaining else PinLocked(card.card_number)
        )
        refusal.pin_failed = True
        raise _refused(refusal, card)
    card.pin_failures = 0


def _refused(refusal: CardUseRefused, card: Card | None) -> CardUseRefused:
    if card is not None:
        refusal.card_id = card.id
        refusal.person_id = card.person_id
    return refusal


def check_usable(card: Card) -> None:
    """Refuse a reported, dead or not yet activated card."""
    if card.status in REPORTED:
        raise _refused(CardReportedLost(card.card_number), card)
    if card.status in DEAD:
        raise _refused(CardCancelled(card.card_number), card)
    if card.status is not CardStatus.ACTIVE:
        raise _refused(CardNotActivated(card.card_number), card)


def is_item_opened(
    session: Session, *, item_no: int, county_code: str | None, at: datetime
) -> bool:
    """Opened in the county, or for the whole city, on the local day of `at`."""
    on = at.astimezone(SHANGHAI).date()
    regions = [county_code, CITY_CODE] if county_code else [CITY_CODE]
    latest = latest_statuses_on(session, item_no=item_no, region_codes=regions, on=on)
    return any(latest.get(region) is OpeningStatus.OPENED for region in regions)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A card accepted for one use of one item, its use not yet recorded (see admit_card)."""

    holder: Person
    card: Card
    county_code: str | None


def admit_card(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    credential: Credential,
    item_no: int,
    county_code: str | None,
    at: datetime,
) -> Admitted:
    """Every check of present_card (credential, PIN, usable card, living holder, item opened)
    without recording the use: for an effect that happens later, outside this transaction, such
    as a bank debit. The caller records the use with record_card_use once the effect happened
    (payments do it when the bank confirms). Raises CardUseRefused like present_card."""
    if isinstance(credential, ElectronicCard):
        token = redeem_ecard_token(
            session, keys, policy, token=credential.token, payment=credential.payment, at=at
        )
        card = _card_of_token(session, token)
        holder = lock_person(session, card.person_id)
        session.refresh(card)
    else:
        holder, card = queries.lock_holder_of_card(session, credential.card_number)
    refresh_card(session, card, policy, at)
    check_usable(card)
    if holder.status is not PersonStatus.LIVING:
        raise _refused(HolderNotLivingRefused(holder.status.value), card)
    if isinstance(credential, PhysicalCard):
        check_pin(card, keys, policy, credential.pin)
        if policy.pin_change_required and card.pin_is_initial:
            raise _refused(PinChangeRequired(card.card_number), card)
    county = county_code or holder.residence_county_code
    if not is_item_opened(session, item_no=item_no, county_code=county, at=at):
        raise _refused(ItemNotOpened(item_no, county), card)
    return Admitted(holder=holder, card=card, county_code=county)


def present_card(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    credential: Credential,
    item_no: int,
    channel: Channel,
    county_code: str | None,
    terminal_code: str | None,
    at: datetime,
) -> Presented:
    """Accept the card for one use of `item_no` and record the use, or raise CardUseRefused."""
    admitted = admit_card(
        session,
        keys,
        policy,
        credential=credential,
        item_no=item_no,
        county_code=county_code,
        at=at,
    )
    use = record_card_use(
        session,
        item_no=item_no,
        person_id=admitted.holder.id,
        card_id=admitted.card.id,
        channel=channel,
        terminal_code=terminal_code,
        county_code=admitted.county_code,
        used_at=at,
    )
    return Presented(holder=admitted.holder, card=admitted.card, use=use)


def _card_of_token(session: Session, token: EcardToken) -> Card:
    card = session.get(Card, token.card_id)
    if card is None:
        raise EcardTokenRefused("signature")
    return card


def record_refusal(
    session: Session,
    policy: CardPolicy,
    refusal: CardUseRefused,
    *,
    item_no: int,
    channel: Channel,
    county_code: str | None,
    terminal_code: str | None,
    at: datetime,
) -> None:
    """In a transaction of its own after the refused one rolled back: count a wrong PIN and
    record the refused use (when the card, and so the holder, is known)."""
    if refusal.card_id is None or refusal.person_id is None:
        return
    if refusal.pin_failed:
        record_pin_failure(
            session,
            policy,
            card_id=refusal.card_id,
            handling=Handling(channel=channel.value, at=at, terminal_code=terminal_code),
        )
    person = get_person(session, refusal.person_id)
    record_card_use(
        session,
        item_no=item_no,
        person_id=refusal.person_id,
        card_id=refusal.card_id,
        channel=channel,
        terminal_code=terminal_code,
        county_code=county_code or person.residence_county_code,
        used_at=at,
        outcome=UseOutcome.REFUSED,
        refusal_code=refusal.code,
    )


SIGN_IN_STATUSES = frozenset({CardStatus.ISSUED, CardStatus.ACTIVE, CardStatus.REPORTED_TEMPORARY})


def sign_in_holder(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    card_number: str,
    pin: str,
    resident_id_index: str | None,
    at: datetime,
    allow_reported: bool = False,
) -> Card:
    """Card and PIN (and, on the portal, the holder's ID number) open a holder session. On the
    portal a card under a temporary report may sign in, to cancel the report; a kiosk refuses
    it like every other channel. A wrong PIN counts (the caller records it with
    record_pin_failure) and a locked PIN refuses."""
    card = queries.find_card(session, card_number)
    if card is None:
        raise PinIncorrect("—", policy.pin_failures_max)  # say nothing about which part is wrong
    person = lock_person(session, card.person_id)
    session.refresh(card)
    refresh_card(session, card, policy, at)
    if resident_id_index is not None and person.resident_id_index != resident_id_index:
        raise PinIncorrect(card.card_number, policy.pin_failures_max)
    if card.status is CardStatus.REPORTED_FORMAL or (
        card.status is CardStatus.REPORTED_TEMPORARY and not allow_reported
    ):
        raise _refused(CardReportedLost(card.card_number), card)
    if card.status not in SIGN_IN_STATUSES:
        raise _refused(CardCancelled(card.card_number), card)
    if person.status is not PersonStatus.LIVING:
        raise _refused(HolderNotLivingRefused(person.status.value), card)
    check_pin(card, keys, policy, pin)
    return card
