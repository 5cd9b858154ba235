"""Concurrent conflicting operations on one person leave exactly one outcome (the person row is
locked by every card operation; the partial unique indexes are the backstop)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy.orm import Session

from socialcard.bootstrap import Platform
from socialcard.cards import queries
from socialcard.cards import services as cards
from socialcard.cards.services import LossReportKind
from socialcard.db import transaction
from socialcard.errors import DomainError
from tests.support import add_person, counter, give_card, resident_id_for


def _race(platform: Platform, operations: list[Callable[[Session], object]]) -> Counter[str]:
    """Run the operations at once, each in its own session and transaction."""
    outcomes: Counter[str] = Counter()
    barrier = threading.Barrier(len(operations))
    lock = threading.Lock()

    def run(operation: Callable[[Session], object]) -> None:
        barrier.wait()
        try:
            with platform.session() as session, transaction(session):
                operation(session)
            result = "ok"
        except DomainError as error:
            result = error.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(op,)) for op in operations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_eight_simultaneous_applications_make_one_card(platform: Platform) -> None:
    person_id = add_person(platform, resident_id_for("431124", "19800101", 7))

    def apply(session: Session) -> object:
        return cards.apply_for_card(
            session,
            platform.keys,
            platform.card_policy,
            person_id=person_id,
            bank_code="BOC",
            handling=counter(platform),
        )

    outcomes = _race(platform, [apply] * 8)
    assert outcomes == Counter({"ok": 1, "card_already_in_pipeline": 7})
    with platform.session() as session:
        assert len(queries.list_cards_for_holder(session, person_id)) == 1


def test_cancelling_a_report_and_reissuing_at_once_leave_one_outcome(platform: Platform) -> None:
    person_id = add_person(platform, resident_id_for("431124", "19800101", 8))
    number = give_card(platform, person_id)
    with platform.session() as session, transaction(session):
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=number,
            kind=LossReportKind.FORMAL,
            handling=counter(platform),
        )

    def cancel_report(session: Session) -> object:
        return cards.cancel_loss_report(
            session, platform.card_policy, card_number=number, handling=counter(platform)
        )

    def reissue(session: Session) -> object:
        return cards.reissue_card(
            session,
            platform.keys,
            platform.card_policy,
            card_number=number,
            handling=counter(platform),
        )

    outcomes = _race(platform, [cancel_report, reissue, cancel_report, reissue])
    assert outcomes["ok"] == 1
    assert outcomes["card_transition_not_allowed"] + outcomes["card_already_in_pipeline"] == 3
    with platform.session() as session:
        statuses = sorted(c.status.value for c in queries.list_cards_for_holder(session, person_id))
    assert statuses in (["active"], ["data_collected", "replaced"])
