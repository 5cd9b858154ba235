"""The demo city's money: programmes and budgets, the sandbox bank's accounts for every card,
and the grain subsidy (种粮补贴, item 107) for every farmer household of the two pilot counties
(seed §5.2: 1–2 counties as the demonstration of paying rural subsidies to the card) taken from
upload to reconciled — with the bank's realistic refusals, holders activating at a branch, and
the failures paid again in a new batch — plus a civil-affairs batch waiting for approval.

Everything goes through the real services with the demo's named staff (maker and checker); the
only shortcut is that the lists are made here instead of by the agriculture bureau's clerks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.access.policy import load_policy
from socialcard.access.services import get_staff_by_username, principal_of
from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.cards.bank_sync import sync_bank_activations
from socialcard.cards.door import PhysicalCard, is_item_opened
from socialcard.cards.models import IN_HAND, PARTNER_BANKS, Card
from socialcard.cards.queries import get_card
from socialcard.catalog.models import Channel
from socialcard.db import transaction
from socialcard.disbursement import services as disbursement
from socialcard.disbursement.models import DisbursementBatch, Programme
from socialcard.disbursement.payee_lists import read_payee_list, render_payee_list
from socialcard.disbursement.programmes import ensure_programmes, fund_programme
from socialcard.disbursement.runner import agency_account, run_batch
from socialcard.disbursement.services import Officer
from socialcard.http.context import RequestContext
from socialcard.http.idempotency import caller_of
from socialcard.http.payments import take_payment
from socialcard.kernel.money import Money
from socialcard.payments import services as payments
from socialcard.payments.schedules import SHIPPED_SCHEDULES
from socialcard.registry.models import Person, PersonStatus

PILOT_COUNTIES: Final = ("431124", "431126")  # 道县, 宁远县
GRAIN_RATE_MINOR: Final = 10_500  # ¥105 per 亩 (an example rate until the bureau loads its own)
BUDGETS: Final = {"I107": 100_000_000_00, "I105": 20_000_000_00, "I079": 50_000_000_00}


@dataclass(frozen=True, slots=True)
class DemoMoney:
    accounts_opened: int
    grain_batch: str
    grain_paid: int
    grain_failed: int
    reissue_batch: str | None
    reissue_paid: int | None
    waiting_batch: str | None
    fees_paid: tuple[str, ...] = ()  # the printed holders' paid orders (缴费), with receipts
    fee_waiting: str | None = None  # an order raised for one of them, left to be paid


def demo_money_exists(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(DisbursementBatch)) != 0


def _officer(session: Session, username: str) -> Officer:
    from socialcard.access.models import Department, Staff

    staff_id, department = session.execute(
        select(Staff.id, Department.code)
        .join(Department, Department.id == Staff.department_id)
        .where(Staff.username == username)
    ).one()
    return Officer(staff_id, department)


def _open_bank_accounts(session: Session, platform: Platform, bank: SandboxBank, seed: int) -> int:
    """Every card's account at its bank, activated as the card says; a few in states a bank
    really has (closed, frozen, lost with the card, dormant, another name after a change)."""
    rng = random.Random(seed + 107)
    rows = (
        session.execute(
            select(
                Card.bank_code,
                Card.bank_account_cipher,
                Card.bank_account_activated_at,
                Card.status,
                Person.name,
                Person.resident_id_cipher,
            )
            .join(Person, Person.id == Card.person_id)
            .where(Card.bank_account_cipher.is_not(None))
        )
        .tuples()
        .all()
    )
    accounts = []
    odd: list[tuple[str, str, str]] = []
    for bank_code, account_cipher, activated_at, status, name, id_cipher in rows:
        assert account_cipher is not None
        account = platform.keys.decrypt(account_cipher)
        roll = rng.random()
        bank_name = name
        if roll < 0.004:
            odd.append((bank_code, account, "closed"))
        elif roll < 0.007:
            odd.append((bank_code, account, "frozen"))
        elif roll < 0.009:
            odd.append((bank_code, account, "dormant"))
        elif roll < 0.011:
            bank_name = name[0] + "某" + name[2:]  # the bank still has the name before a change
        if status.value in ("reported_temporary", "reported_formal"):
            odd.append((bank_code, account, "lost"))
        accounts.append(
            (
                bank_code,
                account,
                bank_name,
                platform.keys.decrypt(id_cipher),
                activated_at is not None,
            )
        )
    opened = bank.open_accounts(accounts)
    for bank_code, account, state in odd:
        bank.set_state(bank_code, account, state)
    for code in PARTNER_BANKS:
        bank.open_agency_account(code, agency_account(code), "永州市财政局惠农资金代发户")
    return opened


def farmer_household_heads(
    session: Session, counties: tuple[str, ...] = PILOT_COUNTIES
) -> list[tuple[int, bytes, str]]:
    """One person per farmer household of `counties` (a household living in a township, 镇,
    not a 街道): its oldest living member, as (person id, ID number cipher, name), households
    in address order."""
    rows = (
        session.execute(
            select(
                Person.household_address,
                Person.birth_on,
                Person.resident_id_cipher,
                Person.name,
                Person.id,
            )
            .where(
                Person.status == PersonStatus.LIVING,
                Person.residence_county_code.in_(counties),
                Person.residence_township.like("%镇"),
                Person.household_address.is_not(None),
            )
            .order_by(Person.household_address, Person.birth_on, Person.id)
        )
        .tuples()
        .all()
    )
    heads: dict[str, tuple[int, bytes, str]] = {}
    for address, _birth, id_cipher, name, person_id in rows:
        if address and address not in heads:
            heads[address] = (person_id, id_cipher, name)
    return list(heads.values())


def _farmer_heads(session: Session, rng: random.Random) -> list[tuple[bytes, str, int]]:
    """The grain subsidy's payees: every farmer household head of the pilot counties, with the
    household's contracted land."""
    return [
        (id_cipher, name, rng.randint(2, 14) * GRAIN_RATE_MINOR)
        for _person_id, id_cipher, name in farmer_household_heads(session)
    ]


def _upload(
    session: Session,
    platform: Platform,
    *,
    programme: str,
    period: str,
    title: str,
    rows: list[tuple[str, str, int, str]],
    officer: Officer,
    at: datetime,
) -> str:
    data = render_payee_list(rows)
    parsed = read_payee_list(
        data,
        filename=f"{programme}-{period}.csv",
        period=period,
        max_line_minor=session.scalars(
            select(Programme.max_line_minor).where(Programme.code == programme)
        ).one(),
    )
    batch = disbursement.create_batch(
        session,
        platform.keys,
        programme_code=programme,
        period=period,
        title=title,
        rows=parsed,
        source_name=f"{programme}-{period}.csv",
        source=data,
        officer=officer,
        at=at,
    )
    return batch.batch_no


def create_demo_money(
    platform: Platform, *, seed: int, holders: Sequence[tuple[str, str, str]] = ()
) -> DemoMoney | None:
    """The money part of the demo; None when the bank gateway is not the sandbox. `holders`:
    the printed cardholders (ID number, card number, PIN), who pay a few fees once the grain
    subsidy has reached them."""
    bank = platform.bank
    if not isinstance(bank, SandboxBank):
        return None
    at = platform.clock.now()
    rng = random.Random(seed)
    with platform.session() as session, transaction(session):
        ensure_programmes(session, bank_codes=sorted(PARTNER_BANKS), at=at)
        for code, amount in BUDGETS.items():
            fund_programme(session, code, amount=Money(amount), reference="2026年度预算", at=at)
        opened = _open_bank_accounts(session, platform, bank, seed)
        maker = _officer(session, "nongye_officer")
        civil = _officer(session, "minzheng_officer")
        checker = _officer(session, "finance_approver")
        reviewer = _officer(session, "finance_reviewer")
        heads = _farmer_heads(session, rng)
        rows = [(platform.keys.decrypt(cipher), name, amount, "") for cipher, name, amount in heads]
        grain = _upload(
            session,
            platform,
            programme="I107",
            period="2026",
            title="2026 年耕地地力保护补贴（道县、宁远县）",
            rows=rows,
            officer=maker,
            at=at,
        )
        disbursement.submit_batch(session, batch_no=grain, officer=maker, at=at)
    with platform.session() as session, transaction(session):
        disbursement.approve_batch(session, batch_no=grain, officer=checker, at=at)
    run_batch(platform.sessions, platform.keys, bank, grain, at=at)
    with platform.session() as session:
        done = session.scalars(
            select(DisbursementBatch).where(DisbursementBatch.batch_no == grain)
        ).one()
        paid, failed = done.paid_count, done.failed_count
    # A third of the holders whose account was not activated go to a branch; the banks' notices
    # reach the platform, and the ready corrections are paid again in a new batch.
    with platform.session() as session:
        from socialcard.disbursement.queries import list_corrections

        waiting = [
            i
            for i in list_corrections(session, programme_code="I107", period="2026")
            if i.line.bank_reason_code == "not_activated"
        ]
        cards = {
            c.id: c
            for c in session.scalars(
                select(Card).where(Card.id.in_([i.line.card_id for i in waiting]))
            )
        }
    for item in waiting[: max(1, len(waiting) // 3)] if waiting else []:
        card = cards[item.line.card_id or 0]
        assert card.bank_account_cipher is not None
        bank.activate(card.bank_code, platform.keys.decrypt(card.bank_account_cipher))
    sync_bank_activations(platform.sessions, platform.keys, bank, at=at)
    # Dormant and frozen accounts: the holders go to the branch; the bank puts the account right
    # and the agriculture bureau confirms it in the correction queue.
    with platform.session() as session, transaction(session):
        from socialcard.disbursement.queries import list_corrections

        for item in list_corrections(session, programme_code="I107", period="2026"):
            if item.line.bank_reason_code in ("dormant", "account_frozen"):
                card = session.get_one(Card, item.line.card_id)
                assert card.bank_account_cipher is not None
                bank.set_state(
                    card.bank_code, platform.keys.decrypt(card.bank_account_cipher), "normal"
                )
                disbursement.mark_account_fixed(
                    session,
                    line_id=item.line.id,
                    note="持卡人已到银行网点办理解冻/激活",
                    officer=maker,
                    at=at,
                )
    reissue_no: str | None = None
    with platform.session() as session, transaction(session):
        try:
            again = disbursement.reissue_failed_lines(
                session,
                platform.keys,
                programme_code="I107",
                period="2026",
                line_ids=None,
                officer=maker,
                at=at,
                decrypt=platform.keys.decrypt,
            )
            reissue_no = again.batch_no
            disbursement.submit_batch(session, batch_no=reissue_no, officer=maker, at=at)
        except Exception:
            session.rollback()
            reissue_no = None
    reissue_paid: int | None = None
    if reissue_no:
        with platform.session() as session, transaction(session):
            disbursement.approve_batch(session, batch_no=reissue_no, officer=reviewer, at=at)
        run_batch(platform.sessions, platform.keys, bank, reissue_no, at=at)
        with platform.session() as session:
            reissue_paid = session.scalars(
                select(DisbursementBatch.paid_count).where(DisbursementBatch.batch_no == reissue_no)
            ).one()
    # A civil-affairs subsidy for 道县 waits in the approval queue for a visitor to approve.
    with platform.session() as session, transaction(session):
        low_income = (
            session.execute(
                select(Person.resident_id_cipher, Person.name)
                .join(Card, Card.person_id == Person.id)
                .where(
                    Person.residence_county_code == "431124",
                    Person.status == PersonStatus.LIVING,
                    Card.status.in_(IN_HAND),
                    Card.bank_account_activated_at.is_not(None),
                )
                .order_by(Person.id)
                .limit(40)
            )
            .tuples()
            .all()
        )
        waiting_no = _upload(
            session,
            platform,
            programme="I105",
            period="2026-11",
            title="2026 年 11 月城乡低保金（道县）",
            rows=[(platform.keys.decrypt(c), n, 52_000, "低保金") for c, n in low_income],
            officer=civil,
            at=at,
        )
        disbursement.submit_batch(session, batch_no=waiting_no, officer=civil, at=at)
    fees_paid, fee_waiting = _holders_fees(platform, holders)
    return DemoMoney(
        fees_paid=tuple(fees_paid),
        fee_waiting=fee_waiting,
        accounts_opened=opened,
        grain_batch=grain,
        grain_paid=paid,
        grain_failed=failed,
        reissue_batch=reissue_no,
        reissue_paid=reissue_paid,
        waiting_batch=waiting_no,
    )


# Where the printed holders pay their fees, in their order (None: raised and left waiting).
HOLDER_CHANNELS: Final = (Channel.COUNTER, Channel.KIOSK, None)


def _holders_fees(
    platform: Platform, holders: Sequence[tuple[str, str, str]]
) -> tuple[list[str], str | None]:
    """The printed holders' fees (缴费) through the collection service, under the shipped
    fixed-fee schedules whose items the rollout opened in 道县, where they live: the 道县 clerk
    raises each order; the first holder pays at the counter and the second at the kiosk, with
    card and PIN (the money comes from the card's bank account, each order has its receipt);
    the third's order waits for a visitor to pay it at the kiosk or on the portal. The paid
    orders and the waiting one; none when no such item is open there."""
    at = platform.clock.now()
    with platform.session() as session:
        clerk = principal_of(
            session, load_policy(), get_staff_by_username(session, "daoxian_clerk")
        )
        schedules = [
            shipped.code
            for shipped in SHIPPED_SCHEDULES
            if shipped.amount_minor is not None
            and is_item_opened(session, item_no=shipped.item_no, county_code="431124", at=at)
        ]
    counter = RequestContext(clerk, "demo-fees", "demo")
    paid: list[str] = []
    waiting: str | None = None
    if not schedules:
        return paid, waiting
    for n, ((_resident_id, card_number, pin), channel) in enumerate(
        zip(holders, HOLDER_CHANNELS, strict=False), start=1
    ):
        with platform.session() as session, transaction(session):
            order = payments.create_order(
                session,
                person_id=get_card(session, card_number).person_id,
                schedule_code=schedules[(n - 1) % len(schedules)],
                reference=f"demo:holder-{n}",
                caller=caller_of(counter),
                idempotency_key=f"demo-holder-{n}",
                at=at,
            )
            order_no = order.order_no
        if channel is None:
            waiting = order_no
            continue
        done = take_payment(
            platform,
            counter if channel is Channel.COUNTER else RequestContext(None, "demo-fees", "demo"),
            order_no=order_no,
            credential=PhysicalCard(card_number, pin),
            channel=channel,
        )
        paid.append(done.order_no)
    return paid, waiting
