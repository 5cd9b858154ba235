"""Cardholders for money tests, made set-based (a kill test needs hundreds): persons through the
registry's own row builder, cards with bank accounts as the production return would leave them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from socialcard.bootstrap import Platform
from socialcard.cards.models import Card, CardStatus
from socialcard.cards.services import bank_account_index, pin_digest
from socialcard.db import bulk_insert, transaction
from socialcard.disbursement.payee_lists import read_payee_rows, render_payee_list
from socialcard.disbursement.services import Officer, create_batch
from socialcard.kernel.masking import mask_bank_account
from socialcard.kernel.resident_id import ResidentId
from socialcard.registry.household.rules import PersonRecord
from socialcard.registry.models import Person, PersonStatus
from socialcard.registry.services import person_values
from tests.support import resident_id_for

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华"


@dataclass(frozen=True)
class Holder:
    resident_id: str
    name: str
    person_id: int
    card_number: str
    bank_code: str
    account: str
    activated: bool


def cardholders(
    platform: Platform,
    count: int,
    *,
    banks: tuple[str, ...] = ("ICBC", "CCB"),
    county: str = "431124",
    activated: bool = True,
    seed: int = 7,
    start: int = 0,
) -> list[Holder]:
    """`count` living residents of `county`, each with an active card and a bank account at one
    of `banks` (activated at the bank unless told otherwise)."""
    rng = random.Random(seed)
    at = platform.clock.now()
    holders: list[Holder] = []
    with platform.session() as session, transaction(session):
        person_rows = []
        for n in range(start, start + count):
            birth = f"19{50 + n % 45:02d}{1 + n % 12:02d}{1 + n % 28:02d}"
            number = resident_id_for(county, birth, n % 1000)
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            record = PersonRecord(
                resident_id=ResidentId.parse(number),
                name=name,
                ethnicity="汉族",
                household_region_code=county,
                household_address=None,
                residence_county_code=county,
                residence_township=None,
                residence_address="某村",
                phone=None,
                status=PersonStatus.LIVING,
                status_changed_on=None,
            )
            person_rows.append(person_values(platform.keys, record, source="test", at=at))
        bulk_insert(session, Person.__table__, person_rows)
        ids = {
            row.resident_id_index: row.id
            for row in session.query(Person.resident_id_index, Person.id)
        }
        card_rows = []
        for offset, row in enumerate(person_rows):
            n = start + offset
            bank = banks[n % len(banks)]
            account = f"6217{n:015d}"
            card_number = f"T{n:08d}"
            card_rows.append(
                {
                    "person_id": ids[row["resident_id_index"]],
                    "card_number": card_number,
                    "card_uid": None,
                    "generation": 3,
                    "spec_version": "3.0",
                    "issuing_region_code": county,
                    "bank_code": bank,
                    "bank_account_cipher": platform.keys.encrypt(account),
                    "bank_account_masked": mask_bank_account(account),
                    "bank_account_index": bank_account_index(platform.keys, bank, account),
                    "bank_account_activated_at": at - timedelta(days=3) if activated else None,
                    "status": CardStatus.ACTIVE.value,
                    "reason": "first",
                    "application_channel": "batch",
                    "applied_at": at - timedelta(days=60),
                    "photo_collected": True,
                    "produced_at": at - timedelta(days=30),
                    "issued_on": (at - timedelta(days=20)).date(),
                    "issued_region_code": county,
                    "activated_at": at - timedelta(days=20),
                    "pin_hash": pin_digest(platform.keys, card_number, "246810"),
                    "pin_is_initial": False,
                    "pin_failures": 0,
                    "version": 1,
                }
            )
            holders.append(
                Holder(
                    resident_id=platform.keys.decrypt(row["resident_id_cipher"]),
                    name=row["name"],
                    person_id=ids[row["resident_id_index"]],
                    card_number=card_number,
                    bank_code=bank,
                    account=account,
                    activated=activated,
                )
            )
        bulk_insert(session, Card.__table__, card_rows)
    return holders


def fund_grain_subsidy(platform: Platform, amount_minor: int = 100_000_000) -> None:
    """Every programme, and the grain subsidy (I107) funded."""
    from socialcard.cards.models import PARTNER_BANKS
    from socialcard.disbursement.programmes import ensure_programmes, fund_programme
    from socialcard.kernel.money import Money

    with platform.session() as session, transaction(session):
        ensure_programmes(session, bank_codes=sorted(PARTNER_BANKS), at=platform.clock.now())
        fund_programme(
            session,
            "I107",
            amount=Money(amount_minor),
            reference="2026-budget",
            at=platform.clock.now(),
        )


def upload_payee_list(
    platform: Platform,
    rows: list[tuple[str, str, int, str]],
    *,
    officer: Officer,
    period: str = "2026",
    programme: str = "I107",
    title: str = "2026 年耕地地力保护补贴",
    max_line_minor: int = 5_000_000,
) -> tuple[str, int]:
    """A department uploads a CSV payee list (resident id, name, fen, memo) and the platform
    drafts a validated batch from it, as the console does: its batch number and id."""
    data = render_payee_list(rows)
    with platform.session() as session, transaction(session):
        parsed = read_payee_rows(
            data, filename="list.csv", period=period, max_line_minor=max_line_minor
        )
        batch = create_batch(
            session,
            platform.keys,
            programme_code=programme,
            period=period,
            title=title,
            rows=parsed,
            source_name="list.csv",
            source=data,
            officer=officer,
            at=platform.clock.now(),
        )
        return batch.batch_no, batch.id
