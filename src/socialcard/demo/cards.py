"""The demo city's cards and terminals.

Most residents get a card written set-based (like the demo's card uses: the demo needs a city,
not 20,000 counter visits), with a realistic spread of statuses and bank-account activation and
numbers from the real allocation scheme. A few residents go through the real flow — application,
a production batch through the sandbox card factory, issue, activation — so the walkthrough
cardholders printed at start-up have a card, a PIN and a history made by the services (they
head farmer households of 道县, so the demo's grain subsidy pays them). Demo
terminals are registered and admitted, their keys written to var/demo/terminals.json for the
terminal simulator.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.models import TerminalKind
from socialcard.access.terminals import admit_terminal, register_terminal
from socialcard.cards import production, sandbox_factory
from socialcard.cards import services as cards
from socialcard.cards.models import (
    ApplicationReason,
    Card,
    CardEvent,
    CardEventKind,
    CardNumberSeries,
    CardStatus,
)
from socialcard.cards.numbers import INITIAL_PIN, SERIES_LETTERS, format_card_number
from socialcard.cards.policy import CardPolicy
from socialcard.cards.services import Handling, bank_account_index, pin_digest
from socialcard.db import bulk_insert
from socialcard.demo.money import farmer_household_heads
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.masking import mask_bank_account
from socialcard.registry.models import Person, PersonStatus

DEMO_PIN = "246810"
WALKTHROUGH_HOLDERS = 3
BANK_WEIGHTS = {"ICBC": 3, "ABC": 4, "BOC": 2, "CCB": 3, "PSBC": 3, "HNRCU": 4, "BOHN": 1}
DEMO_TERMINALS = (
    ("KIOSK-431124-01", TerminalKind.KIOSK, "道县政务服务中心自助机", "431124", None),
    ("HIS-431102-01", TerminalKind.HOSPITAL, "永州市中心医院 HIS", "431102", None),
    ("POS-431103-01", TerminalKind.PHARMACY, "冷水滩区定点药店 POS", "431103", None),
    ("ICBC-431102-01", TerminalKind.BANK, "工商银行永州分行", "431102", "ICBC"),
)


@dataclass(frozen=True, slots=True)
class DemoCards:
    cards: int
    active: int
    bank_activated: int
    walkthrough: list[tuple[str, str, str]]  # (ID number, card number, PIN) of real-flow holders
    terminals_file: Path


def demo_cards_exist(session: Session) -> bool:
    return session.scalars(select(Card.id).limit(1)).first() is not None


def _reserve_numbers(session: Session, count: int) -> list[str]:
    series = session.scalars(select(CardNumberSeries).order_by(CardNumberSeries.letter)).first()
    if series is None:
        series = CardNumberSeries(letter=SERIES_LETTERS[0], next_serial=1)
        session.add(series)
    first = series.next_serial
    series.next_serial += count
    session.flush()
    return [format_card_number(series.letter, first + n) for n in range(count)]


def _walkthrough(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    persons: list[Person],
    at: datetime,
) -> list[tuple[str, str, str]]:
    """The real flow for a few residents; the same policy and services as the counter."""
    counter = Handling(channel="counter", at=at, region_code="431124")
    numbers = []
    for person in persons:
        card = cards.apply_for_card(
            session,
            keys,
            policy,
            person_id=person.id,
            bank_code="ICBC",
            handling=counter,
            photo_collected=True,
        )
        numbers.append((person, card.card_number))
    sent = production.create_production_batch(
        session, keys, policy, bank_code="ICBC", handling=counter
    )
    returned = sandbox_factory.produce(sent.send_file, at=at, seed=2026, failure_rate=0)
    production.apply_production_return(
        session, keys, batch_no=sent.batch.batch_no, content=returned, handling=counter
    )
    result = []
    for person, number in numbers:
        cards.issue_card(session, policy, card_number=number, handling=counter)
        cards.activate_card(
            session, keys, policy, card_number=number, new_pin=DEMO_PIN, handling=counter
        )
        # Issued at the ICBC counter, which opens the card's account there and then (the bank's
        # activation notice, as the cards area takes it).
        cards.activate_bank_account(session, card_number=number, bank_code="ICBC", handling=counter)
        result.append((keys.decrypt(person.resident_id_cipher), number, DEMO_PIN))
    return result


def create_demo_cards(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    seed: int,
    at: datetime,
    data_dir: Path,
    share: float = 0.86,
) -> DemoCards:
    """Cards for about `share` of the living residents, and the demo terminals."""
    rng = random.Random(seed)
    living = (
        select(Person.id, Person.residence_county_code)
        .where(Person.status == PersonStatus.LIVING)
        .order_by(Person.id)
    )
    persons = session.execute(living).tuples().all()
    # The walkthrough holders live in 道县, like the demo's county clerk and kiosk, and head
    # farmer households there: the grain subsidy pays them (in a city too small to have three,
    # other residents of 道县 make up the number).
    heads = [
        person_id for person_id, _cipher, _name in farmer_household_heads(session, ("431124",))
    ]
    others = [pid for pid, county in persons if county == "431124" and pid not in heads]
    guide_ids = (heads + others)[:WALKTHROUGH_HOLDERS]
    guides = list(session.scalars(select(Person).where(Person.id.in_(guide_ids))))
    walkthrough = _walkthrough(session, keys, policy, guides, at)
    chosen = [
        (pid, county) for pid, county in persons if pid not in guide_ids and rng.random() < share
    ]
    numbers = _reserve_numbers(session, len(chosen))
    banks = list(BANK_WEIGHTS)
    weights = list(BANK_WEIGHTS.values())
    card_rows: list[dict[str, Any]] = []
    for (person_id, residence), number in zip(chosen, numbers, strict=True):
        roll = rng.random()
        status = (
            CardStatus.ACTIVE
            if roll < 0.90
            else CardStatus.ISSUED
            if roll < 0.95
            else CardStatus.REPORTED_TEMPORARY
            if roll < 0.96
            else CardStatus.REPORTED_FORMAL
            if roll < 0.97
            else CardStatus.DATA_COLLECTED
        )
        bank = rng.choices(banks, weights)[0]
        county = residence or "431100"
        issued_at = at - timedelta(days=rng.randint(30, 3000))
        produced = status is not CardStatus.DATA_COLLECTED
        account = sandbox_factory.BANK_BINS[bank] + f"{rng.randrange(10**13):013d}"
        activated = status is not CardStatus.ISSUED and produced
        card_rows.append(
            {
                "person_id": person_id,
                "card_number": number,
                "card_uid": f"{county}D156{rng.getrandbits(88):022X}" if produced else None,
                "generation": 3,
                "spec_version": policy.spec_version,
                "issuing_region_code": county,
                "bank_code": bank,
                "bank_account_cipher": keys.encrypt(account) if produced else None,
                "bank_account_index": bank_account_index(keys, bank, account) if produced else None,
                "bank_account_masked": mask_bank_account(account) if produced else None,
                "bank_account_activated_at": issued_at + timedelta(days=rng.randint(1, 60))
                if produced and rng.random() < 0.72
                else None,
                "atr": "3B6D000000815448" + f"{rng.getrandbits(64):016X}" if produced else None,
                "box_location": None,
                "status": status.value,
                "reason": ApplicationReason.FIRST.value,
                "replaces_card_id": None,
                "application_channel": "batch",
                "applied_at": issued_at - timedelta(days=40),
                "photo_collected": True,
                "production_batch_id": None,
                "produced_at": issued_at - timedelta(days=10) if produced else None,
                "issued_on": issued_at.date() if produced else None,
                "expires_on": None,
                "issued_region_code": county if produced else None,
                "activated_at": issued_at if activated else None,
                "reported_at": at - timedelta(days=1)
                if status in (CardStatus.REPORTED_TEMPORARY, CardStatus.REPORTED_FORMAL)
                else None,
                "ended_at": None,
                "end_reason": None,
                "pin_hash": pin_digest(keys, number, INITIAL_PIN if not activated else DEMO_PIN),
                "pin_is_initial": not activated,
                "pin_failures": 0,
                "pin_locked_at": None,
                "version": 1,
            }
        )
    bulk_insert(session, Card.__table__, card_rows)
    ids = dict(session.execute(select(Card.card_number, Card.id)).tuples().all())
    event_rows = [
        {
            "card_id": ids[row["card_number"]],
            "person_id": row["person_id"],
            "kind": kind.value,
            "status_after": after,
            "at": moment,
            "channel": "batch",
            "staff_id": None,
            "terminal_code": None,
            "region_code": row["issuing_region_code"],
            "note": "演示数据",
            "details": {},
        }
        for row in card_rows
        for kind, after, moment in (
            (CardEventKind.APPLIED, "applied", row["applied_at"]),
            (CardEventKind.ISSUED, row["status"], row["produced_at"] or row["applied_at"]),
        )
    ]
    bulk_insert(session, CardEvent.__table__, event_rows)
    terminals_file = _demo_terminals(session, keys, at=at, data_dir=data_dir)
    active = sum(1 for row in card_rows if row["status"] == "active") + len(walkthrough)
    return DemoCards(
        cards=len(card_rows) + len(walkthrough),
        active=active,
        bank_activated=sum(1 for row in card_rows if row["bank_account_activated_at"]),
        walkthrough=walkthrough,
        terminals_file=terminals_file,
    )


def _demo_terminals(session: Session, keys: KeyRing, *, at: datetime, data_dir: Path) -> Path:
    keys_by_code: dict[str, dict[str, str]] = {}
    for code, kind, name, county, bank in DEMO_TERMINALS:
        register_terminal(
            session,
            terminal_code=code,
            kind=kind,
            name=name,
            county_code=county,
            location=name,
            institution_id=None,
            bank_code=bank,
            at=at,
        )
        key = admit_terminal(session, keys, terminal_code=code, staff_id=None, at=at)
        keys_by_code[code] = {"kind": kind.value, "key": key.hex(), "bank": bank or ""}
    path = data_dir / "demo" / "terminals.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys_by_code, ensure_ascii=False, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return path
