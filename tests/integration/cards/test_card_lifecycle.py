"""The card lifecycle through its services and the card-use door, on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from socialcard.bootstrap import Platform
from socialcard.cards import production, queries, sandbox_factory
from socialcard.cards import services as cards
from socialcard.cards.door import CheckedCard, ElectronicCard, PhysicalCard
from socialcard.cards.ecard import issue_ecard_token
from socialcard.cards.errors import (
    CardAlreadyHeld,
    CardAlreadyInPipeline,
    CardCancelled,
    CardNotActivated,
    CardNotFound,
    CardReportedLost,
    CardTransitionNotAllowed,
    EcardTokenRefused,
    ItemNotOpened,
    PinIncorrect,
    PinLocked,
    PinRuleViolated,
    ProductionFileRejected,
)
from socialcard.cards.models import ApplicationReason, Card, CardEventKind, CardStatus
from socialcard.cards.numbers import is_valid_card_number, is_valid_card_uid
from socialcard.cards.services import LossReportKind
from socialcard.catalog.models import CardUse, Channel, OpeningStatus, UseOutcome
from socialcard.db import transaction
from socialcard.http.cards import use_card
from socialcard.kernel.clock import FixedClock
from socialcard.registry.models import Person, PersonStatus
from tests.support import add_person, change_opening, counter, give_card, resident_id_for

QUERY_ITEM = 29  # 个人参保信息查询


def _person(platform: Platform, sequence: int = 1, county: str = "431124") -> int:
    return add_person(platform, resident_id_for(county, "19800101", sequence), county=county)


def _open(platform: Platform, item_no: int = QUERY_ITEM, region: str = "431124") -> None:
    change_opening(platform, item_no, region, OpeningStatus.OPENED, date(2015, 9, 1))


def _card(platform: Platform, number: str) -> Card:
    with platform.session() as session:
        return queries.get_card(session, number)


def _use(platform: Platform, credential: object, item_no: int = QUERY_ITEM) -> None:
    use_card(platform, None, credential=credential, item_no=item_no, channel=Channel.KIOSK)  # type: ignore[arg-type]


def _uses(platform: Platform) -> list[tuple[str, str | None]]:
    with platform.session() as session:
        rows = session.execute(select(CardUse.outcome, CardUse.refusal_code).order_by(CardUse.id))
        return [(outcome.value, code) for outcome, code in rows]


def test_a_card_goes_from_application_to_active_with_every_event(platform: Platform) -> None:
    person_id = _person(platform)
    number = give_card(platform, person_id)
    card = _card(platform, number)
    assert is_valid_card_number(number)
    assert card.status is CardStatus.ACTIVE
    assert card.card_uid is not None
    assert is_valid_card_uid(card.card_uid, "431124")
    assert card.bank_account_masked is not None
    assert "*" in card.bank_account_masked
    assert card.bank_account_cipher is not None
    assert platform.keys.decrypt(card.bank_account_cipher).startswith("622208")
    assert card.pin_is_initial is False
    with platform.session() as session:
        kinds = [e.kind for e in queries.list_card_events(session, card.id)]
    assert kinds == [
        CardEventKind.APPLIED,
        CardEventKind.DATA_COLLECTED,
        CardEventKind.SENT_TO_PRODUCTION,
        CardEventKind.PRODUCED,
        CardEventKind.ISSUED,
        CardEventKind.ACTIVATED,
    ]


def test_one_card_in_hand_and_one_on_its_way(platform: Platform) -> None:
    person_id = _person(platform)
    with platform.session() as session, transaction(session):
        cards.apply_for_card(
            session,
            platform.keys,
            platform.card_policy,
            person_id=person_id,
            bank_code="CCB",
            handling=counter(platform),
        )
    with pytest.raises(CardAlreadyInPipeline), platform.session() as session:
        cards.apply_for_card(
            session,
            platform.keys,
            platform.card_policy,
            person_id=person_id,
            bank_code="CCB",
            handling=counter(platform),
        )
    other = _person(platform, 2)
    give_card(platform, other)
    with pytest.raises(CardAlreadyHeld), platform.session() as session:
        cards.apply_for_card(
            session,
            platform.keys,
            platform.card_policy,
            person_id=other,
            bank_code="CCB",
            handling=counter(platform),
        )


def test_the_database_refuses_a_second_card_in_hand(platform: Platform) -> None:
    person_id = _person(platform)
    number = give_card(platform, person_id)
    original = _card(platform, number)
    second = Card(
        person_id=person_id,
        card_number="Z00000000",
        generation=3,
        spec_version="3.00",
        issuing_region_code="431124",
        bank_code="ICBC",
        status=CardStatus.ACTIVE,
        reason=ApplicationReason.FIRST,
        application_channel="counter",
        applied_at=platform.clock.now(),
        pin_hash=original.pin_hash,
    )
    with pytest.raises(IntegrityError), platform.session() as session, transaction(session):
        session.add(second)


def test_card_events_cannot_be_rewritten(platform: Platform) -> None:
    give_card(platform, _person(platform))
    with pytest.raises(DatabaseError), platform.session() as session, transaction(session):
        session.execute(text("UPDATE card_events SET channel = 'web'"))
    with pytest.raises(DatabaseError), platform.session() as session, transaction(session):
        session.execute(text("DELETE FROM card_events"))


def test_a_reported_card_is_refused_from_the_moment_of_the_report(platform: Platform) -> None:
    _open(platform)
    person_id = _person(platform)
    number = give_card(platform, person_id)
    _use(platform, PhysicalCard(number, "246810"))
    with platform.session() as session:
        card = queries.get_card(session, number)
        token, _ = issue_ecard_token(
            platform.keys, platform.card_policy, card=card, at=platform.clock.now()
        )

    with platform.session() as session, transaction(session):
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=number,
            kind=LossReportKind.TEMPORARY,
            handling=cards.Handling(channel="phone", at=platform.clock.now()),
        )
    for credential in (PhysicalCard(number, "246810"), CheckedCard(number), ElectronicCard(token)):
        with pytest.raises(CardReportedLost):
            _use(platform, credential)
    assert _uses(platform) == [("success", None)] + [("refused", "card_reported_lost")] * 3

    with platform.session() as session, transaction(session):
        cards.cancel_loss_report(
            session,
            platform.card_policy,
            card_number=number,
            handling=cards.Handling(channel="web", at=platform.clock.now()),
        )
    _use(platform, PhysicalCard(number, "246810"))


def test_a_temporary_report_lapses_and_a_formal_one_needs_a_counter(platform: Platform) -> None:
    _open(platform)
    number = give_card(platform, _person(platform))
    web = cards.Handling(channel="web", at=platform.clock.now())
    with platform.session() as session, transaction(session):
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=number,
            kind=LossReportKind.TEMPORARY,
            handling=web,
        )
    with pytest.raises(CardTransitionNotAllowed), platform.session() as session:
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=number,
            kind=LossReportKind.FORMAL,
            handling=web,
        )
    assert isinstance(platform.clock, FixedClock)
    platform.clock.advance(timedelta(days=platform.card_policy.temporary_loss_days, seconds=1))
    _use(platform, CheckedCard(number))
    with platform.session() as session:
        kinds = [e.kind for e in queries.list_card_events(session, _card(platform, number).id)]
    assert kinds[-1] is CardEventKind.LOSS_REPORT_LAPSED

    with platform.session() as session, transaction(session):
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=number,
            kind=LossReportKind.FORMAL,
            handling=counter(platform),
        )
    platform.clock.advance(timedelta(days=30))
    with pytest.raises(CardReportedLost):
        _use(platform, CheckedCard(number))


def test_a_reissued_card_inherits_the_account_and_the_old_one_is_dead(platform: Platform) -> None:
    _open(platform)
    person_id = _person(platform)
    old_number = give_card(platform, person_id)
    old = _card(platform, old_number)
    with platform.session() as session, transaction(session):
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=old_number,
            kind=LossReportKind.FORMAL,
            handling=counter(platform),
        )
        new = cards.reissue_card(
            session,
            platform.keys,
            platform.card_policy,
            card_number=old_number,
            handling=counter(platform),
        )
        new_number = new.card_number
    assert new_number != old_number
    assert _card(platform, old_number).status is CardStatus.REPLACED
    with pytest.raises(CardCancelled):
        _use(platform, CheckedCard(old_number))
    with pytest.raises(CardTransitionNotAllowed), platform.session() as session:
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=old_number,
            kind=LossReportKind.TEMPORARY,
            handling=counter(platform),
        )
    with pytest.raises(CardTransitionNotAllowed), platform.session() as session:
        cards.cancel_loss_report(
            session, platform.card_policy, card_number=old_number, handling=counter(platform)
        )
    fresh = _card(platform, new_number)
    assert fresh.reason is ApplicationReason.REISSUE
    assert fresh.replaces_card_id == old.id
    assert fresh.bank_account_cipher == old.bank_account_cipher
    assert fresh.card_uid is None  # a new chip comes from the factory


def test_a_replacement_keeps_the_old_card_until_the_new_one_is_issued(platform: Platform) -> None:
    _open(platform)
    person_id = _person(platform)
    old_number = give_card(platform, person_id)
    with platform.session() as session, transaction(session):
        new = cards.replace_card(
            session,
            platform.keys,
            platform.card_policy,
            card_number=old_number,
            reason=ApplicationReason.DAMAGE,
            handling=counter(platform),
        )
        new_number = new.card_number
        sent = production.create_production_batch(
            session,
            platform.keys,
            platform.card_policy,
            bank_code="ICBC",
            handling=counter(platform),
        )
    _use(platform, CheckedCard(old_number))  # still usable while the new card is made
    returned = sandbox_factory.produce(sent.send_file, at=platform.clock.now(), failure_rate=0)
    with platform.session() as session, transaction(session):
        production.apply_production_return(
            session,
            platform.keys,
            batch_no=sent.batch.batch_no,
            content=returned,
            handling=counter(platform),
        )
        cards.issue_card(
            session, platform.card_policy, card_number=new_number, handling=counter(platform)
        )
    assert _card(platform, old_number).status is CardStatus.REPLACED
    with pytest.raises(CardNotActivated):
        _use(platform, CheckedCard(new_number))


def test_death_in_the_registry_cancels_the_card(platform: Platform) -> None:
    person_id = _person(platform)
    number = give_card(platform, person_id)
    with platform.session() as session, transaction(session):
        person = session.get(Person, person_id)
        assert person is not None
        person.move_to_status(PersonStatus.DECEASED, on=date(2026, 11, 28))
    with platform.session() as session, transaction(session):
        cancelled = cards.cancel_cards_of_departed(
            session, handling=cards.Handling(channel="system", at=platform.clock.now())
        )
        assert [c.card_number for c in cancelled] == [number]
    card = _card(platform, number)
    assert card.status is CardStatus.CANCELLED
    assert card.end_reason == "死亡"
    with platform.session() as session, transaction(session):
        assert (
            cards.cancel_cards_of_departed(
                session, handling=cards.Handling(channel="system", at=platform.clock.now())
            )
            == []
        )


def test_six_wrong_pins_lock_and_a_counter_reset_unlocks(platform: Platform) -> None:
    _open(platform)
    number = give_card(platform, _person(platform))
    for attempt in range(5):
        with pytest.raises(PinIncorrect) as refused:
            _use(platform, PhysicalCard(number, "999999"))
        assert refused.value.details["remaining"] == 5 - attempt
    _use(platform, PhysicalCard(number, "246810"))  # a right PIN clears the count
    for _ in range(5):
        with pytest.raises(PinIncorrect):
            _use(platform, PhysicalCard(number, "999999"))
    with pytest.raises(PinLocked):
        _use(platform, PhysicalCard(number, "999999"))
    with pytest.raises(PinLocked):
        _use(platform, PhysicalCard(number, "246810"))  # even the right PIN, once locked
    card = _card(platform, number)
    assert card.pin_locked_at is not None
    assert card.pin_failures == 6

    with pytest.raises(PinRuleViolated), platform.session() as session:
        cards.reset_pin(
            session,
            platform.keys,
            card_number=number,
            new_pin="123456",
            handling=counter(platform),
        )
    with platform.session() as session, transaction(session):
        cards.reset_pin(
            session,
            platform.keys,
            card_number=number,
            new_pin="802417",
            handling=counter(platform),
        )
    _use(platform, PhysicalCard(number, "802417"))
    assert "802417" not in _card(platform, number).pin_hash


def test_activation_refuses_the_initial_pin_when_policy_says_so(platform: Platform) -> None:
    number = give_card(platform, _person(platform), activate=False)
    for pin, rule in (
        (None, "change_required"),
        ("123456", "not_initial"),
        ("111111", "not_trivial"),
        ("12345", "six_digits"),
    ):
        with pytest.raises(PinRuleViolated) as refused, platform.session() as session:
            cards.activate_card(
                session,
                platform.keys,
                platform.card_policy,
                card_number=number,
                new_pin=pin,
                handling=counter(platform),
            )
        assert refused.value.details["rule"] == rule


def test_an_item_not_opened_in_the_county_is_refused_and_recorded(platform: Platform) -> None:
    number = give_card(platform, _person(platform))
    with pytest.raises(ItemNotOpened):
        _use(platform, CheckedCard(number))
    _open(platform, region="431100")  # opened for the whole city
    _use(platform, CheckedCard(number))
    assert _uses(platform) == [("refused", "item_not_opened"), ("success", None)]
    card_id = _card(platform, number).id
    with platform.session() as session:
        use = session.scalars(select(CardUse).where(CardUse.outcome == UseOutcome.SUCCESS)).one()
        assert use.card_id == card_id
        assert use.county_code == "431124"


def test_an_unknown_card_number_is_refused_and_nothing_is_recorded(platform: Platform) -> None:
    """The door finds the holder through the card: a number no card has is CardNotFound, for a
    card with a PIN as for one a clerk checked, and no use (successful or refused) is written."""
    number = give_card(platform, _person(platform))
    _open(platform, region="431100")
    unknown = next(n for n in (f"{number[0]}{i:08d}" for i in range(1, 100)) if n[:9] != number[:9])
    with pytest.raises(CardNotFound):
        _use(platform, PhysicalCard(unknown, "123456"))
    with pytest.raises(CardNotFound):
        _use(platform, CheckedCard(unknown))
    assert _uses(platform) == []
    _use(platform, CheckedCard(number))
    assert _uses(platform) == [("success", None)]


def test_electronic_card_codes_expire_and_pay_once(platform: Platform) -> None:
    _open(platform, item_no=56, region="431100")
    _open(platform)
    number = give_card(platform, _person(platform))
    with platform.session() as session:
        card = queries.get_card(session, number)
        token, expires_at = issue_ecard_token(
            platform.keys, platform.card_policy, card=card, at=platform.clock.now()
        )
    assert expires_at - platform.clock.now() == timedelta(seconds=60)
    assert number not in token
    assert len(token) == 55
    _use(platform, ElectronicCard(token))
    _use(platform, ElectronicCard(token))  # identity uses may repeat within the minute
    _use(platform, ElectronicCard(token, payment=True), item_no=56)
    with pytest.raises(EcardTokenRefused) as refused:
        _use(platform, ElectronicCard(token, payment=True), item_no=56)
    assert refused.value.details["rule"] == "used"
    for position in (5, 30, 54):
        tampered = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        with pytest.raises(EcardTokenRefused) as refused:
            _use(platform, ElectronicCard(tampered))
        assert refused.value.details["rule"] in ("signature", "malformed")
    assert isinstance(platform.clock, FixedClock)
    platform.clock.advance(timedelta(seconds=60))
    with pytest.raises(EcardTokenRefused) as refused:
        _use(platform, ElectronicCard(token))
    assert refused.value.details["rule"] == "expired"


def test_production_failures_and_a_bad_return_file(platform: Platform) -> None:
    people = [_person(platform, n) for n in range(1, 41)]
    with platform.session() as session, transaction(session):
        for person_id in people:
            cards.apply_for_card(
                session,
                platform.keys,
                platform.card_policy,
                person_id=person_id,
                bank_code="PSBC",
                handling=counter(platform),
                photo_collected=True,
            )
        sent = production.create_production_batch(
            session,
            platform.keys,
            platform.card_policy,
            bank_code="PSBC",
            handling=counter(platform),
        )
    assert sent.send_file.decode("gbk").count("\r\nD|") == 40
    returned = sandbox_factory.produce(
        sent.send_file, at=platform.clock.now(), seed=3, failure_rate=0.25
    )
    broken = returned.replace(b"\r\nT|", b"\r\nD|99|A00000000|1|||||photo|x\r\nT|")
    with pytest.raises(ProductionFileRejected) as rejected, platform.session() as session:
        production.apply_production_return(
            session,
            platform.keys,
            batch_no=sent.batch.batch_no,
            content=broken,
            handling=counter(platform),
        )
    problems = rejected.value.details["problems"]
    assert isinstance(problems, list)
    assert any("不属于该批次" in p for p in problems)
    with platform.session() as session:
        assert queries.count_cards_by_status(session) == {CardStatus.IN_PRODUCTION: 40}

    for _ in range(2):  # the same file twice changes nothing the second time
        with platform.session() as session, transaction(session):
            batch = production.apply_production_return(
                session,
                platform.keys,
                batch_no=sent.batch.batch_no,
                content=returned,
                handling=counter(platform),
            )
            produced, failed = batch.produced_count, batch.failed_count
    assert produced + failed == 40
    assert failed > 0
    with platform.session() as session:
        counts = queries.count_cards_by_status(session)
        failed_card = session.scalars(
            select(Card).where(Card.status == CardStatus.PRODUCTION_FAILED)
        ).first()
        assert failed_card is not None
    assert counts == {CardStatus.PRODUCED: produced, CardStatus.PRODUCTION_FAILED: failed}
    with platform.session() as session, transaction(session):
        again = cards.apply_for_card(
            session,
            platform.keys,
            platform.card_policy,
            person_id=failed_card.person_id,
            bank_code="PSBC",
            handling=counter(platform),
        )
        assert again.reason is ApplicationReason.AFTER_FAILURE


def test_a_death_in_the_household_import_cancels_the_card(
    platform: Platform, tmp_path: Path
) -> None:
    from tests.integration.registry.test_household_import import import_file
    from tests.support import write_household_file

    number_alive = resident_id_for("431124", "19700101", 31)
    number_dead = resident_id_for("431124", "19700101", 41)
    rows = [
        f"{number_alive},赵一,男,汉族,431124,,,,正常",
        f"{number_dead},钱二,男,汉族,431124,,,,正常",
    ]
    import_file(platform, write_household_file(tmp_path / "first", rows))
    with platform.session() as session:
        people = {p.name: p.id for p in session.scalars(select(Person))}
    alive, dead = give_card(platform, people["赵一"]), give_card(platform, people["钱二"])
    rows[1] = rows[1].replace(",正常", ",死亡")
    outcome = import_file(platform, write_household_file(tmp_path / "second", rows))
    assert outcome.updated == 1
    assert _card(platform, dead).status is CardStatus.CANCELLED
    assert _card(platform, dead).end_reason == "死亡"
    assert _card(platform, alive).status is CardStatus.ACTIVE
