"""Card writes: the lifecycle use cases. Each takes the caller's session, locks the holder (so
operations on one person's cards queue), moves the card through its transition table, appends a
card event and returns; the entry point commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.cards import queries
from socialcard.cards.errors import (
    CardAlreadyHeld,
    CardAlreadyInPipeline,
    CardTransitionNotAllowed,
    HolderNotLiving,
    PinRuleViolated,
)
from socialcard.cards.models import (
    DEAD,
    IN_HAND,
    IN_PIPELINE,
    REPORTED,
    ApplicationReason,
    Card,
    CardEvent,
    CardEventKind,
    CardNumberSeries,
    CardStatus,
)
from socialcard.cards.numbers import (
    INITIAL_PIN,
    SERIAL_LIMIT,
    SERIES_LETTERS,
    format_card_number,
    next_series,
    pin_problem,
)
from socialcard.cards.policy import CardPolicy
from socialcard.errors import DomainError, InvalidField
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing
from socialcard.registry.models import Person, PersonStatus
from socialcard.registry.queries import lock_person

CITY_CODE = "431100"


@dataclass(frozen=True, slots=True)
class Handling:
    """Who handled an operation, where and through which channel."""

    channel: str  # counter, kiosk, web, mobile, phone, bank, batch, system
    at: datetime
    staff_id: int | None = None
    terminal_code: str | None = None
    region_code: str | None = None


class LossReportKind(StrEnum):
    TEMPORARY = "temporary"  # by phone, web, app or at a counter; lapses after N days
    FORMAL = "formal"  # in person at a counter; stays until cancelled or reissued


IN_PERSON_CHANNELS = frozenset({"counter", "bank"})


def pin_digest(keys: KeyRing, card_number: str, pin: str) -> str:
    """HMAC-SM3 under the index key of the card number and the PIN: the same PIN on two cards
    gives two digests, and nobody without the key can test PINs against the table."""
    return keys.blind_index("card_pin", f"{card_number}:{pin}")


def add_card_event(
    session: Session,
    card: Card,
    kind: CardEventKind,
    handling: Handling,
    *,
    note: str | None = None,
    **details: object,
) -> CardEvent:
    event = CardEvent(
        card_id=card.id,
        person_id=card.person_id,
        kind=kind,
        status_after=card.status,
        at=handling.at,
        channel=handling.channel,
        staff_id=handling.staff_id,
        terminal_code=handling.terminal_code,
        region_code=handling.region_code,
        note=note,
        details=dict(details),
    )
    session.add(event)
    return event


def _allocate_card_number(session: Session) -> str:
    """The next number of the current series (a locked row: card applications are counted in
    thousands a day, not per second)."""
    stmt = (
        select(CardNumberSeries).order_by(CardNumberSeries.letter.desc()).limit(1).with_for_update()
    )
    series = session.scalars(stmt).first()
    if series is None:
        series = CardNumberSeries(letter=SERIES_LETTERS[0], next_serial=1)
        session.add(series)
        session.flush()
    if series.next_serial >= SERIAL_LIMIT:
        letter = next_series(series.letter)
        if letter is None:
            raise RuntimeError("every card number series is used up")
        series = CardNumberSeries(letter=letter, next_serial=1)
        session.add(series)
    number = format_card_number(series.letter, series.next_serial)
    series.next_serial += 1
    return number


def _locked_card(session: Session, card_number: str) -> Card:
    """The card, re-read after its holder is locked: what another transaction committed while we
    waited for the lock is what we decide on."""
    card = queries.get_card(session, card_number)
    lock_person(session, card.person_id)
    session.refresh(card)
    return card


def _holder_for_new_card(session: Session, person_id: int) -> Person:
    person = lock_person(session, person_id)
    if person.status is not PersonStatus.LIVING:
        raise HolderNotLiving(person_id, person.status.value)
    pipeline = queries.find_card_in_pipeline(session, person_id)
    if pipeline is not None:
        raise CardAlreadyInPipeline(person_id, pipeline.card_number)
    return person


def _new_card(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    person: Person,
    *,
    bank_code: str,
    reason: ApplicationReason,
    handling: Handling,
    photo_collected: bool,
    replaces: Card | None = None,
) -> Card:
    number = _allocate_card_number(session)
    card = Card(
        person_id=person.id,
        card_number=number,
        generation=policy.generation,
        spec_version=policy.spec_version,
        issuing_region_code=person.residence_county_code or CITY_CODE,
        bank_code=bank_code,
        status=CardStatus.APPLIED,
        reason=reason,
        replaces_card_id=replaces.id if replaces else None,
        application_channel=handling.channel,
        applied_at=handling.at,
        photo_collected=False,
        pin_hash=pin_digest(keys, number, INITIAL_PIN),
        pin_is_initial=True,
        pin_failures=0,
        version=1,
    )
    if replaces is not None:
        # The holder's links follow the person, and the bank account follows the card.
        card.bank_account_cipher = replaces.bank_account_cipher
        card.bank_account_index = replaces.bank_account_index
        card.bank_account_masked = replaces.bank_account_masked
        card.bank_account_activated_at = replaces.bank_account_activated_at
    session.add(card)
    session.flush()
    add_card_event(
        session, card, CardEventKind.APPLIED, handling, reason=reason.value, bank=bank_code
    )
    if photo_collected:
        _collect(session, card, handling)
    return card


def _collect(session: Session, card: Card, handling: Handling) -> None:
    card.move_to(CardStatus.DATA_COLLECTED)
    card.photo_collected = True
    add_card_event(session, card, CardEventKind.DATA_COLLECTED, handling)


def apply_for_card(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    person_id: int,
    bank_code: str,
    handling: Handling,
    photo_collected: bool = False,
) -> Card:
    """A resident's first card (申领). Refused for a person who is not living, who already holds
    a card (that is a reissue or a replacement) or whose card is on its way."""
    person = _holder_for_new_card(session, person_id)
    held = queries.find_card_in_hand(session, person_id)
    if held is not None:
        raise CardAlreadyHeld(person_id, held.card_number)
    previous = queries.find_last_card(session, person_id)
    reason = (
        ApplicationReason.AFTER_FAILURE
        if previous is not None and previous.status is CardStatus.PRODUCTION_FAILED
        else ApplicationReason.FIRST
    )
    return _new_card(
        session,
        keys,
        policy,
        person,
        bank_code=bank_code,
        reason=reason,
        handling=handling,
        photo_collected=photo_collected,
    )


def collect_card_data(session: Session, *, card_number: str, handling: Handling) -> Card:
    """Photo and data collected (采集): the application can go to production."""
    card = _locked_card(session, card_number)
    _collect(session, card, handling)
    return card


def effective_status(card: Card, policy: CardPolicy, now: datetime) -> CardStatus:
    """The status the card has at `now`, counting a temporary loss report that has lapsed (the
    stored status catches up on the card's next operation or the nightly job)."""
    if (
        card.status is CardStatus.REPORTED_TEMPORARY
        and card.reported_at is not None
        and card.reported_at + timedelta(days=policy.temporary_loss_days) <= now
    ):
        return CardStatus.ACTIVE if card.activated_at else CardStatus.ISSUED
    return card.status


def _lapse_if_due(session: Session, card: Card, policy: CardPolicy, now: datetime) -> bool:
    target = effective_status(card, policy, now)
    if target is card.status:
        return False
    card.move_to(target)
    lapse = Handling(channel="system", at=_lapse_time(card, policy, now))
    card.reported_at = None
    add_card_event(session, card, CardEventKind.LOSS_REPORT_LAPSED, lapse)
    return True


def _lapse_time(card: Card, policy: CardPolicy, now: datetime) -> datetime:
    if card.reported_at is None:
        return now
    return min(now, card.reported_at + timedelta(days=policy.temporary_loss_days))


def refresh_card(session: Session, card: Card, policy: CardPolicy, now: datetime) -> Card:
    """Apply what time alone changes (a temporary loss report that has lapsed)."""
    _lapse_if_due(session, card, policy, now)
    return card


def lapse_temporary_loss_reports(session: Session, policy: CardPolicy, *, now: datetime) -> int:
    """Return every temporary loss report older than the policy's days to the card's previous
    status (the nightly job; present_card applies the same rule to the card in hand)."""
    cutoff = now - timedelta(days=policy.temporary_loss_days)
    stmt = select(Card).where(
        Card.status == CardStatus.REPORTED_TEMPORARY, Card.reported_at <= cutoff
    )
    lapsed = 0
    for card in session.scalars(stmt).all():
        lock_person(session, card.person_id)
        session.refresh(card)
        lapsed += _lapse_if_due(session, card, policy, now)
    return lapsed


def report_loss(
    session: Session,
    policy: CardPolicy,
    *,
    card_number: str,
    kind: LossReportKind,
    handling: Handling,
) -> Card:
    """挂失: from this moment every channel refuses the card (and its electronic card). A formal
    report is made in person; a temporary one by phone, website, app or at a counter, and a
    temporary report can later be made formal."""
    card = _locked_card(session, card_number)
    refresh_card(session, card, policy, handling.at)
    if kind is LossReportKind.FORMAL:
        if handling.channel not in IN_PERSON_CHANNELS:
            raise CardTransitionNotAllowed(
                card.card_number, card.status.value, CardStatus.REPORTED_FORMAL.value
            )
        card.move_to(CardStatus.REPORTED_FORMAL)
        event = CardEventKind.LOSS_REPORTED_FORMAL
    else:
        card.move_to(CardStatus.REPORTED_TEMPORARY)
        event = CardEventKind.LOSS_REPORTED_TEMPORARY
    if card.reported_at is None:
        card.reported_at = handling.at
    add_card_event(session, card, event, handling)
    return card


def cancel_loss_report(
    session: Session, policy: CardPolicy, *, card_number: str, handling: Handling
) -> Card:
    """解挂: the card found again. A formal report is cancelled in person only."""
    card = _locked_card(session, card_number)
    refresh_card(session, card, policy, handling.at)
    target = CardStatus.ACTIVE if card.activated_at else CardStatus.ISSUED
    if card.status not in REPORTED or (
        card.status is CardStatus.REPORTED_FORMAL and handling.channel not in IN_PERSON_CHANNELS
    ):
        raise CardTransitionNotAllowed(card.card_number, card.status.value, target.value)
    card.move_to(target)
    card.reported_at = None
    add_card_event(session, card, CardEventKind.LOSS_REPORT_CANCELLED, handling)
    return card


def reissue_card(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    card_number: str,
    handling: Handling,
    photo_collected: bool = True,
) -> Card:
    """补卡: the reported card is dead from now on, forever; a new card (new number, new
    identification code) is applied for, with the same bank and account."""
    old = _locked_card(session, card_number)
    person = _holder_for_new_card(session, old.person_id)
    refresh_card(session, old, policy, handling.at)
    if old.status not in REPORTED:
        raise CardTransitionNotAllowed(old.card_number, old.status.value, CardStatus.REPLACED.value)
    old.move_to(CardStatus.REPLACED)
    old.ended_at = handling.at
    old.end_reason = "补卡"
    card = _new_card(
        session,
        keys,
        policy,
        person,
        bank_code=old.bank_code,
        reason=ApplicationReason.REISSUE,
        handling=handling,
        photo_collected=photo_collected,
        replaces=old,
    )
    add_card_event(session, old, CardEventKind.REPLACED, handling, new_card_number=card.card_number)
    return card


def replace_card(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    card_number: str,
    reason: ApplicationReason,
    handling: Handling,
    bank_code: str | None = None,
    photo_collected: bool = True,
) -> Card:
    """换卡 (damage, expiry, new generation): the old card keeps working until the new one is
    handed over; issue_card then retires it."""
    if reason not in (
        ApplicationReason.DAMAGE,
        ApplicationReason.EXPIRY,
        ApplicationReason.NEW_GENERATION,
    ):
        raise InvalidField(
            "reason", "replacement_reason", "换卡原因只能是损坏、到期或换发新一代卡。"
        )
    old = _locked_card(session, card_number)
    person = _holder_for_new_card(session, old.person_id)
    refresh_card(session, old, policy, handling.at)
    if old.status not in (CardStatus.ISSUED, CardStatus.ACTIVE):
        raise CardTransitionNotAllowed(old.card_number, old.status.value, CardStatus.REPLACED.value)
    return _new_card(
        session,
        keys,
        policy,
        person,
        bank_code=bank_code or old.bank_code,
        reason=reason,
        handling=handling,
        photo_collected=photo_collected,
        replaces=old,
    )


def issue_card(
    session: Session, policy: CardPolicy, *, card_number: str, handling: Handling
) -> Card:
    """发放: the holder (identity checked by the clerk) takes the card. A replacement retires the
    card it replaces in the same transaction, so the person never holds two."""
    card = _locked_card(session, card_number)
    person = lock_person(session, card.person_id)
    if person.status is not PersonStatus.LIVING:
        raise HolderNotLiving(person.id, person.status.value)
    if card.status is not CardStatus.PRODUCED:
        raise CardTransitionNotAllowed(card.card_number, card.status.value, "issued")
    if card.replaces_card_id is not None:
        old = session.get(Card, card.replaces_card_id)
        if old is not None and old.status not in DEAD:
            old.move_to(CardStatus.REPLACED)
            old.ended_at = handling.at
            old.end_reason = "换卡"
            add_card_event(
                session, old, CardEventKind.REPLACED, handling, new_card_number=card.card_number
            )
            session.flush()
    card.move_to(CardStatus.ISSUED)
    issued_on = handling.at.astimezone(SHANGHAI).date()
    card.issued_on = issued_on
    card.issued_region_code = handling.region_code
    if card.generation < 3:
        years = policy.second_generation_validity_years
        card.expires_on = date(issued_on.year + years, issued_on.month, min(issued_on.day, 28))
    add_card_event(session, card, CardEventKind.ISSUED, handling)
    return card


def activate_card(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    card_number: str,
    new_pin: str | None,
    handling: Handling,
) -> Card:
    """启用 the social-security function; with the policy's switch on, the initial PIN must be
    replaced by a new one here."""
    card = _locked_card(session, card_number)
    if card.status is not CardStatus.ISSUED or card.activated_at is not None:
        raise CardTransitionNotAllowed(card.card_number, card.status.value, "active")
    if new_pin is not None:
        _set_pin(card, keys, new_pin)
    elif policy.pin_change_required and card.pin_is_initial:
        raise PinRuleViolated("change_required", "启用时须设置新密码（不能沿用初始密码）。")
    card.move_to(CardStatus.ACTIVE)
    card.activated_at = handling.at
    add_card_event(session, card, CardEventKind.ACTIVATED, handling)
    return card


def _set_pin(card: Card, keys: KeyRing, new_pin: str) -> None:
    problem = pin_problem(new_pin)
    if problem is not None:
        raise PinRuleViolated(*problem)
    card.pin_hash = pin_digest(keys, card.card_number, new_pin)
    card.pin_is_initial = False
    card.pin_failures = 0
    card.pin_locked_at = None


def change_pin(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    card_number: str,
    old_pin: str,
    new_pin: str,
    handling: Handling,
) -> Card:
    """The holder changes the PIN with the old one (kiosk, terminal). A wrong old PIN counts as a
    failure; the caller records it with record_pin_failure after rolling back."""
    from socialcard.cards.door import check_pin

    card = _locked_card(session, card_number)
    check_pin(card, keys, policy, old_pin)
    _set_pin(card, keys, new_pin)
    add_card_event(session, card, CardEventKind.PIN_CHANGED, handling)
    return card


def reset_pin(
    session: Session, keys: KeyRing, *, card_number: str, new_pin: str, handling: Handling
) -> Card:
    """重置 and unblock at a counter or kiosk after the holder's identity was checked."""
    card = _locked_card(session, card_number)
    if card.status in DEAD:
        raise CardTransitionNotAllowed(card.card_number, card.status.value, "pin_reset")
    _set_pin(card, keys, new_pin)
    add_card_event(session, card, CardEventKind.PIN_RESET, handling)
    return card


def record_pin_failure(
    session: Session, policy: CardPolicy, *, card_id: int, handling: Handling
) -> Card:
    """Count one wrong PIN in its own transaction (the refused request rolled back) and lock the
    PIN at the policy's limit."""
    card = session.get(Card, card_id, populate_existing=True)
    if card is None:
        raise ValueError(f"no card {card_id}")
    lock_person(session, card.person_id)
    session.refresh(card)
    if card.pin_locked_at is not None:
        return card
    card.pin_failures += 1
    add_card_event(session, card, CardEventKind.PIN_FAILED, handling, failures=card.pin_failures)
    if card.pin_failures >= policy.pin_failures_max:
        card.pin_locked_at = handling.at
        add_card_event(session, card, CardEventKind.PIN_LOCKED, handling)
    return card


def cancel_card(session: Session, *, card_number: str, reason: str, handling: Handling) -> Card:
    """注销: the card ends for good (death, move away, withdrawn application)."""
    card = _locked_card(session, card_number)
    _cancel(session, card, reason, handling)
    return card


def _cancel(session: Session, card: Card, reason: str, handling: Handling) -> None:
    card.move_to(CardStatus.CANCELLED)
    card.ended_at = handling.at
    card.end_reason = reason
    add_card_event(
        session, card, CardEventKind.CANCELLED, handling, note=reason, bank=card.bank_code
    )


def cancel_cards_of_departed(session: Session, *, handling: Handling) -> list[Card]:
    """Cancel every card still alive of a person the registry records as deceased or moved away
    (run after each household import and nightly; the cancellation events are what the partner
    bank is told)."""
    stmt = (
        select(Card, Person.status)
        .join(Person, Person.id == Card.person_id)
        .where(
            Person.status.in_([PersonStatus.DECEASED, PersonStatus.MOVED_AWAY]),
            Card.status.in_(sorted(IN_HAND | IN_PIPELINE)),
        )
        .order_by(Card.id)
    )
    cancelled: list[Card] = []
    for card, status in session.execute(stmt).tuples().all():
        reason = "死亡" if status is PersonStatus.DECEASED else "迁出"
        _cancel(session, card, reason, handling)
        cancelled.append(card)
    return cancelled


BANK_ACCOUNT_PURPOSE = "bank_account"


def bank_account_index(keys: KeyRing, bank_code: str, account_number: str) -> str:
    """The blind index of a card's bank account (the account number is stored only encrypted)."""
    return keys.blind_index(BANK_ACCOUNT_PURPOSE, f"{bank_code}:{account_number}")


def link_bank_account(keys: KeyRing, *, card: Card, account_number: str) -> None:
    """The bank account the partner bank opened for the card (from the production return file)."""
    from socialcard.kernel.masking import mask_bank_account

    card.bank_account_cipher = keys.encrypt(account_number)
    card.bank_account_index = bank_account_index(keys, card.bank_code, account_number)
    card.bank_account_masked = mask_bank_account(account_number)


def activate_bank_account(
    session: Session, *, card_number: str, bank_code: str, handling: Handling
) -> Card:
    """银行账户激活, as notified by the partner bank (API or file). Idempotent: a repeated notice
    changes nothing."""
    card = _locked_card(session, card_number)
    if card.bank_code != bank_code:
        raise CardTransitionNotAllowed(card.card_number, card.bank_code, bank_code)
    if card.status in DEAD or card.status in IN_PIPELINE:
        raise CardTransitionNotAllowed(card.card_number, card.status.value, "bank_activated")
    if card.bank_account_activated_at is None:
        card.bank_account_activated_at = handling.at
        add_card_event(session, card, CardEventKind.BANK_ACCOUNT_ACTIVATED, handling)
    return card


@dataclass(frozen=True, slots=True)
class BulkApplication:
    applied: list[str]  # card numbers
    skipped: dict[str, int]  # refusal code → how many


def apply_in_bulk(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    person_ids: list[int],
    bank_code: str,
    handling: Handling,
) -> BulkApplication:
    """Apply for many residents at once (a township without cards, the education department's
    list of students), each in a savepoint: a person who already holds a card or has died is
    skipped with the reason, the others are applied for."""
    applied: list[str] = []
    skipped: dict[str, int] = {}
    for person_id in person_ids:
        try:
            with session.begin_nested():
                card = apply_for_card(
                    session,
                    keys,
                    policy,
                    person_id=person_id,
                    bank_code=bank_code,
                    handling=handling,
                    photo_collected=False,
                )
                applied.append(card.card_number)
        except DomainError as error:
            skipped[error.code] = skipped.get(error.code, 0) + 1
    return BulkApplication(applied=applied, skipped=skipped)
