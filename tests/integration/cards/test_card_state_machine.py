"""RELIABILITY A3 for cards: random sequences of apply / produce / issue / activate / report /
cancel report / reissue / replace / cancel / PIN failures / uses / time passing, run against the
real services and a simple in-memory model, on both databases. After every step the database
must equal the model, and each person holds at most one card and has at most one on its way.

Size: SOCIALCARD_STATE_MACHINE_EXAMPLES (default 60 sequences of up to 20 steps per database);
the nightly run sets it to thousands."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from socialcard.bootstrap import Platform
from socialcard.cards import production, queries, sandbox_factory
from socialcard.cards import services as cards
from socialcard.cards.door import PhysicalCard
from socialcard.cards.errors import CardUseRefused, NothingToProduce
from socialcard.cards.models import IN_HAND, IN_PIPELINE, ApplicationReason, CardStatus
from socialcard.cards.production_files import parse_return_file
from socialcard.cards.services import Handling, LossReportKind
from socialcard.catalog.models import Channel, OpeningStatus
from socialcard.db import transaction
from socialcard.errors import DomainError
from socialcard.http.cards import use_card
from socialcard.kernel.clock import FixedClock
from tests.support import add_person, change_opening, give_card, resident_id_for

EXAMPLES = int(os.environ.get("SOCIALCARD_STATE_MACHINE_EXAMPLES", "60"))
PIN = "246810"
ITEM = 29


@dataclass
class ModelCard:
    number: str
    status: CardStatus
    activated: bool = False
    reported_at_day: int | None = None
    pin_failures: int = 0
    replaces: str | None = None


@dataclass
class ModelPerson:
    person_id: int
    cards: list[ModelCard] = field(default_factory=list)

    def in_hand(self) -> ModelCard | None:
        return next((c for c in self.cards if c.status in IN_HAND), None)

    def in_pipeline(self) -> ModelCard | None:
        return next((c for c in self.cards if c.status in IN_PIPELINE), None)


def make_machine(platform: Platform) -> type[RuleBasedStateMachine]:
    clock = platform.clock
    assert isinstance(clock, FixedClock)
    fixed: FixedClock = clock
    policy = platform.card_policy
    counter_box = {"next": 0}

    class CardLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.people: list[ModelPerson] = []
            self.day = 0
            for _ in range(2):
                counter_box["next"] += 1
                born = date(1950, 1, 1) + timedelta(days=counter_box["next"])
                number = resident_id_for("431124", born.strftime("%Y%m%d"), 11)
                person_id = add_person(platform, number, phone=None)
                self.people.append(ModelPerson(person_id))

        def handling(self, channel: str = "counter") -> Handling:
            return Handling(channel=channel, at=clock.now(), region_code="431124")

        def attempt(self, operation: object, expected_ok: bool) -> object:
            """Run one service call in its own transaction; the model says whether it succeeds."""
            refusal: DomainError | None = None
            result: object = None
            try:
                with platform.session() as session, transaction(session):
                    result = operation(session)  # type: ignore[operator]
            except DomainError as error:
                refusal = error
            if refusal is not None:
                assert not expected_ok, f"unexpected refusal {refusal.code}: {refusal.message}"
                return None
            assert expected_ok, "the service accepted what the model refuses"
            return result

        @initialize()
        def first_holder_has_an_active_card(self) -> None:
            """Start half-way through a life, so that short sequences reach the later states."""
            person = self.people[0]
            number = give_card(platform, person.person_id, pin=PIN, bank_code="ABC")
            person.cards.append(ModelCard(number, CardStatus.ACTIVE, activated=True))

        # -- rules -------------------------------------------------------------------------

        @rule(who=st.integers(0, 1))
        def apply(self, who: int) -> None:
            person = self.people[who]
            ok = person.in_pipeline() is None and person.in_hand() is None
            card = self.attempt(
                lambda s: (
                    cards.apply_for_card(
                        s,
                        platform.keys,
                        policy,
                        person_id=person.person_id,
                        bank_code="ABC",
                        handling=self.handling(),
                        photo_collected=True,
                    ).card_number
                ),
                ok,
            )
            if ok:
                person.cards.append(ModelCard(str(card), CardStatus.DATA_COLLECTED))

        @rule(seed=st.integers(0, 1000))
        def produce(self, seed: int) -> None:
            waiting = [
                c for p in self.people for c in p.cards if c.status is CardStatus.DATA_COLLECTED
            ]
            try:
                with platform.session() as session, transaction(session):
                    sent = production.create_production_batch(
                        session, platform.keys, policy, bank_code="ABC", handling=self.handling()
                    )
            except NothingToProduce:
                assert not waiting
                return
            returned = sandbox_factory.produce(
                sent.send_file, at=clock.now(), seed=seed, failure_rate=0.2
            )
            with platform.session() as session, transaction(session):
                production.apply_production_return(
                    session,
                    platform.keys,
                    batch_no=sent.batch.batch_no,
                    content=returned,
                    handling=self.handling(),
                )
            outcome = {
                line.card_number: line.produced for line in parse_return_file(returned).lines
            }
            sent_numbers = set(outcome)
            for card in waiting:
                if card.number in sent_numbers:
                    card.status = (
                        CardStatus.PRODUCED
                        if outcome[card.number]
                        else CardStatus.PRODUCTION_FAILED
                    )

        @rule(who=st.integers(0, 1))
        def issue(self, who: int) -> None:
            person = self.people[who]
            card = person.in_pipeline()
            ok = card is not None and card.status is CardStatus.PRODUCED
            if card is None:
                return
            self.attempt(
                lambda s: cards.issue_card(
                    s, policy, card_number=card.number, handling=self.handling()
                ),
                ok,
            )
            if ok:
                old = next((c for c in person.cards if c.number == card.replaces), None)
                if old is not None and old.status not in (
                    CardStatus.REPLACED,
                    CardStatus.CANCELLED,
                    CardStatus.PRODUCTION_FAILED,
                ):
                    old.status = CardStatus.REPLACED
                card.status = CardStatus.ISSUED

        @rule(who=st.integers(0, 1))
        def activate(self, who: int) -> None:
            card = self.people[who].in_hand()
            if card is None:
                return
            self.refresh(card)
            ok = card.status is CardStatus.ISSUED and not card.activated
            self.attempt(
                lambda s: cards.activate_card(
                    s,
                    platform.keys,
                    policy,
                    card_number=card.number,
                    new_pin=PIN,
                    handling=self.handling(),
                ),
                ok,
            )
            if ok:
                card.status, card.activated = CardStatus.ACTIVE, True

        @rule(who=st.integers(0, 1), formal=st.booleans(), online=st.booleans())
        def report(self, who: int, formal: bool, online: bool) -> None:
            card = self.people[who].in_hand()
            if card is None:
                return
            self.refresh(card)
            channel = "web" if online else "counter"
            if formal:
                ok = not online and card.status in (
                    CardStatus.ISSUED,
                    CardStatus.ACTIVE,
                    CardStatus.REPORTED_TEMPORARY,
                )
                target = CardStatus.REPORTED_FORMAL
            else:
                ok = card.status in (CardStatus.ISSUED, CardStatus.ACTIVE)
                target = CardStatus.REPORTED_TEMPORARY
            kind = LossReportKind.FORMAL if formal else LossReportKind.TEMPORARY
            self.attempt(
                lambda s: cards.report_loss(
                    s, policy, card_number=card.number, kind=kind, handling=self.handling(channel)
                ),
                ok,
            )
            if ok:
                if card.reported_at_day is None:
                    card.reported_at_day = self.day
                card.status = target

        @rule(who=st.integers(0, 1))
        def cancel_report(self, who: int) -> None:
            card = self.people[who].in_hand()
            if card is None:
                return
            self.refresh(card)
            ok = card.status in (CardStatus.REPORTED_TEMPORARY, CardStatus.REPORTED_FORMAL)
            self.attempt(
                lambda s: cards.cancel_loss_report(
                    s, policy, card_number=card.number, handling=self.handling()
                ),
                ok,
            )
            if ok:
                card.status = CardStatus.ACTIVE if card.activated else CardStatus.ISSUED
                card.reported_at_day = None

        @rule(who=st.integers(0, 1))
        def reissue(self, who: int) -> None:
            person = self.people[who]
            card = person.in_hand()
            if card is None:
                return
            self.refresh(card)
            ok = person.in_pipeline() is None and card.status in (
                CardStatus.REPORTED_TEMPORARY,
                CardStatus.REPORTED_FORMAL,
            )
            new = self.attempt(
                lambda s: (
                    cards.reissue_card(
                        s, platform.keys, policy, card_number=card.number, handling=self.handling()
                    ).card_number
                ),
                ok,
            )
            if ok:
                card.status = CardStatus.REPLACED
                person.cards.append(
                    ModelCard(str(new), CardStatus.DATA_COLLECTED, replaces=card.number)
                )

        @rule(who=st.integers(0, 1))
        def replace(self, who: int) -> None:
            person = self.people[who]
            card = person.in_hand()
            if card is None:
                return
            self.refresh(card)
            ok = person.in_pipeline() is None and card.status in (
                CardStatus.ISSUED,
                CardStatus.ACTIVE,
            )
            new = self.attempt(
                lambda s: (
                    cards.replace_card(
                        s,
                        platform.keys,
                        policy,
                        card_number=card.number,
                        reason=ApplicationReason.DAMAGE,
                        handling=self.handling(),
                    ).card_number
                ),
                ok,
            )
            if ok:
                person.cards.append(
                    ModelCard(str(new), CardStatus.DATA_COLLECTED, replaces=card.number)
                )

        @rule(who=st.integers(0, 1), pipeline=st.booleans())
        def cancel(self, who: int, pipeline: bool) -> None:
            person = self.people[who]
            card = person.in_pipeline() if pipeline else person.in_hand()
            if card is None:
                return
            self.refresh(card)
            self.attempt(
                lambda s: cards.cancel_card(
                    s, card_number=card.number, reason="本人申请", handling=self.handling()
                ),
                True,
            )
            card.status = CardStatus.CANCELLED

        @rule(who=st.integers(0, 1), right=st.booleans())
        def present(self, who: int, right: bool) -> None:
            card = self.people[who].in_hand()
            if card is None:
                return
            self.refresh(card)
            locked = card.pin_failures >= policy.pin_failures_max
            if card.status in (CardStatus.REPORTED_TEMPORARY, CardStatus.REPORTED_FORMAL):
                expected = "card_reported_lost"
            elif card.status is not CardStatus.ACTIVE:
                expected = "card_not_activated"
            elif locked:
                expected = "pin_locked"
            elif right:
                expected = None
            else:
                remaining = policy.pin_failures_max - card.pin_failures - 1
                expected = "pin_incorrect" if remaining else "pin_locked"
            try:
                use_card(
                    platform,
                    None,
                    credential=PhysicalCard(card.number, PIN if right else "975310"),
                    item_no=ITEM,
                    channel=Channel.KIOSK,
                )
                code = None
            except CardUseRefused as refusal:
                code = refusal.code
            assert code == expected
            if expected is None:
                card.pin_failures = 0
            elif expected in ("pin_incorrect", "pin_locked") and not locked:
                card.pin_failures += 1

        @rule(days=st.sampled_from([1, 2, 5, 7]))
        def time_passes(self, days: int) -> None:
            fixed.advance(timedelta(days=days))
            self.day += days

        def refresh(self, card: ModelCard) -> None:
            """A temporary report lapses after the policy's days."""
            if (
                card.status is CardStatus.REPORTED_TEMPORARY
                and card.reported_at_day is not None
                and self.day - card.reported_at_day >= policy.temporary_loss_days
            ):
                card.status = CardStatus.ACTIVE if card.activated else CardStatus.ISSUED
                card.reported_at_day = None

        # -- invariants --------------------------------------------------------------------

        @invariant()
        def database_equals_model(self) -> None:
            with platform.session() as session:
                for person in self.people:
                    stored = {
                        c.card_number: c
                        for c in queries.list_cards_for_holder(session, person.person_id)
                    }
                    assert set(stored) == {c.number for c in person.cards}
                    for card in person.cards:
                        db = stored[card.number]
                        self.refresh(card)
                        status = cards.effective_status(db, policy, clock.now())
                        assert status is card.status, (card.number, status, card.status)
                        assert db.pin_failures == card.pin_failures
                    in_hand = [c for c in stored.values() if c.status in IN_HAND]
                    pipeline = [c for c in stored.values() if c.status in IN_PIPELINE]
                    assert len(in_hand) <= 1
                    assert len(pipeline) <= 1

    return CardLifecycle


def test_random_card_lives_match_the_model(platform: Platform) -> None:
    change_opening(platform, ITEM, "431100", OpeningStatus.OPENED, platform.clock.now().date())
    run_state_machine_as_test(
        make_machine(platform),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            derandomize=True,
        ),
    )
