"""The ledger's promises, on SQLite and PostgreSQL: two-sided immutable transfers, reservations
resolved exactly once, floors that hold, reversals, keys that make retries no-ops, and a verifier
that notices when the books were touched behind its back."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import BigInteger, cast, insert, literal, null, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import DomainError
from socialcard.kernel.money import Money
from socialcard.ledger import accounts as codes
from socialcard.ledger import queries
from socialcard.ledger import services as ledger
from socialcard.ledger.errors import (
    AccountCodeInvalid,
    AccountSideConflict,
    BalanceFloorBreached,
    ReservationAlreadyResolved,
    TransferKeyConflict,
    TransferNotReversible,
)
from socialcard.ledger.models import (
    LedgerBalance,
    LedgerTransfer,
    NormalSide,
    TransferImmutable,
    TransferKind,
    TransferPhase,
)

BUDGET = codes.programme_budget("P107")
null_id = cast(null(), BigInteger)
TREASURY = codes.external("treasury")
BANK = codes.bank_clearing("ICBC")


def _books(platform: Platform, *, fund: int = 100_000) -> None:
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        ledger.open_account(session, TREASURY, name="财政", normal_side=NormalSide.DEBIT, at=at)
        ledger.open_account(
            session,
            BUDGET,
            name="耕地地力保护补贴",
            normal_side=NormalSide.CREDIT,
            has_floor=True,
            at=at,
        )
        ledger.open_account(session, BANK, name="工行代发", normal_side=NormalSide.CREDIT, at=at)
        if fund:
            ledger.post_transfer(
                session,
                ledger.TransferRequest(
                    "fund:1", TREASURY, BUDGET, Money(fund), TransferKind.FUNDING, "budget:2026"
                ),
                at=at,
            )


def _pay(key: str, amount: int) -> ledger.TransferRequest:
    return ledger.TransferRequest(
        key, BUDGET, BANK, Money(amount), TransferKind.PAYOUT_RESERVED, f"payment:{key}"
    )


def _verify(platform: Platform) -> queries.LedgerVerification:
    with platform.session() as session:
        return queries.verify_ledger(session)


def test_reservation_is_posted_or_voided_exactly_once(platform: Platform) -> None:
    _books(platform)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        ledger.reserve_transfer(session, _pay("a", 30_000), at=at)
        ledger.reserve_transfer(session, _pay("b", 20_000), at=at)
        budget = queries.get_balance(session, BUDGET)
        assert (budget.posted, budget.available) == (100_000, 50_000)
        ledger.post_reserved(session, "a", transfer_key="a:post", at=at)
        ledger.void_reserved(session, "b", transfer_key="b:void", at=at)
        # The same resolution retried is a no-op; the other resolution is refused.
        ledger.post_reserved(session, "a", transfer_key="a:post", at=at)
        with pytest.raises(ReservationAlreadyResolved):
            ledger.void_reserved(session, "a", transfer_key="a:void", at=at)
        with pytest.raises(ReservationAlreadyResolved):
            ledger.post_reserved(session, "b", transfer_key="b:post", at=at)
        budget = queries.get_balance(session, BUDGET)
        bank = queries.get_balance(session, BANK)
        assert (budget.posted, budget.available) == (70_000, 70_000)
        assert (bank.posted, bank.available) == (30_000, 30_000)
        assert queries.reservation_state(session, "a") is queries.ReservationState.POSTED
        assert queries.reservation_state(session, "b") is queries.ReservationState.VOIDED
    report = _verify(platform)
    assert report.ok, report.problems
    assert report.debits_posted == report.credits_posted == 130_000


def test_a_reservation_is_settled_in_part_once(platform: Platform) -> None:
    """Decision 0011: a bank file's reservation posts what was paid and voids the rest in one
    act; the act retried is a no-op, any other resolution is refused, and the database itself
    refuses resolutions beyond the reservation."""
    _books(platform)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        ledger.reserve_transfer(session, _pay("file", 60_000), at=at)
        ledger.reserve_transfer(session, _pay("none", 10_000), at=at)
        ledger.reserve_transfer(session, _pay("all", 5_000), at=at)

        def settle(key: str, posted: int) -> ledger.Settlement:
            return ledger.settle_reserved(
                session,
                key,
                posted_minor=posted,
                journal_key=f"return:{key}",
                post_key=f"{key}:post",
                void_key=f"{key}:void",
                at=at,
            )

        settled = settle("file", 45_000)
        assert (settled.posted_minor, settled.voided_minor) == (45_000, 15_000)
        assert [t.phase for t in settled.transfers] == [TransferPhase.POST, TransferPhase.VOID]
        assert [t.amount_minor for t in settle("file", 45_000).transfers] == [45_000, 15_000]
        with pytest.raises(ReservationAlreadyResolved):
            settle("file", 60_000)
        with pytest.raises(ReservationAlreadyResolved):
            ledger.void_reserved(session, "file", transfer_key="file:void2", at=at)
        with pytest.raises(DomainError):
            settle("none", 10_001)
        assert [t.phase for t in settle("none", 0).transfers] == [TransferPhase.VOID]
        assert [t.phase for t in settle("all", 5_000).transfers] == [TransferPhase.POST]
        assert queries.reservation_state(session, "file") is queries.ReservationState.POSTED
        assert queries.reservation_state(session, "none") is queries.ReservationState.VOIDED
        budget = queries.get_balance(session, BUDGET)
        bank = queries.get_balance(session, BANK)
        assert (budget.posted, budget.available) == (50_000, 50_000)
        assert (bank.posted, bank.available) == (50_000, 50_000)
    with platform.session() as session:
        reservation = queries.get_transfer(session, "all")
        over = {
            "transfer_key": "all:void",
            "journal_key": "x",
            "debit_account_id": reservation.debit_account_id,
            "credit_account_id": reservation.credit_account_id,
            "amount_minor": 1,
            "kind": TransferKind.PAYOUT_RELEASED,
            "phase": TransferPhase.VOID,
            "pending_id": reservation.id,
            "reference": reservation.reference,
            "created_at": at,
        }
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(insert(LedgerTransfer).values(**over))
        session.rollback()
    report = _verify(platform)
    assert report.ok, report.problems


def test_floor_refuses_overspending_and_rolls_back(platform: Platform) -> None:
    _books(platform, fund=10_000)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        ledger.reserve_transfer(session, _pay("a", 9_000), at=at)
    with platform.session() as session:
        with pytest.raises(BalanceFloorBreached) as refused:
            ledger.reserve_transfer(session, _pay("b", 1_001), at=at)
        session.rollback()
    assert refused.value.details["available_minor"] == 1_000
    with platform.session() as session:
        assert (
            session.scalar(select(LedgerTransfer.id).where(LedgerTransfer.transfer_key == "b"))
            is None
        )
        assert queries.get_balance(session, BUDGET).available == 1_000
    assert _verify(platform).ok


def test_a_key_makes_a_retry_a_no_op_and_refuses_other_content(platform: Platform) -> None:
    _books(platform)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        first = ledger.post_transfer(session, _pay("k", 500), at=at)
        again = ledger.post_transfer(session, _pay("k", 500), at=at)
        assert first.id == again.id
        with pytest.raises(TransferKeyConflict):
            ledger.post_transfer(session, _pay("k", 501), at=at)
        count = session.scalar(select(LedgerTransfer.id).where(LedgerTransfer.transfer_key == "k"))
        assert count == first.id


def test_reversal_undoes_once_and_keeps_the_original(platform: Platform) -> None:
    _books(platform)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        ledger.post_transfer(session, _pay("x", 4_000), at=at)
        ledger.reverse_transfer(session, "x", transfer_key="x:rev", reference="correction:1", at=at)
        with pytest.raises(TransferNotReversible):
            ledger.reverse_transfer(session, "x", transfer_key="x:rev2", reference="c:2", at=at)
        with pytest.raises(TransferNotReversible):
            ledger.reverse_transfer(session, "x:rev", transfer_key="x:rr", reference="c:3", at=at)
        ledger.reserve_transfer(session, _pay("p", 100), at=at)
        with pytest.raises(TransferNotReversible):
            ledger.reverse_transfer(session, "p", transfer_key="p:rev", reference="c:4", at=at)
        assert queries.get_balance(session, BUDGET).posted == 100_000
        lines = queries.list_transfers(session, BUDGET, limit=10)
        assert [line.amount_minor for line in lines] == [-100, 4_000, -4_000, 100_000]
        assert lines[0].phase is TransferPhase.PENDING
    assert _verify(platform).ok


def test_transfers_cannot_be_changed_or_deleted(platform: Platform) -> None:
    _books(platform)
    with platform.session() as session:
        transfer = session.scalars(select(LedgerTransfer)).one()
        transfer.amount_minor = 1
        with pytest.raises(TransferImmutable):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(LedgerTransfer)).one())
        with pytest.raises(TransferImmutable):
            session.flush()
        session.rollback()
    # Below the ORM, the database itself refuses.
    for statement in (
        "UPDATE ledger_transfers SET amount_minor = 1",
        "DELETE FROM ledger_transfers",
    ):
        with pytest.raises(DBAPIError, match="append-only"), platform.engine.begin() as db:
            db.execute(text(statement))
    assert _verify(platform).ok


def test_constraints_refuse_one_sided_zero_and_unresolvable_rows(platform: Platform) -> None:
    _books(platform)
    at = platform.clock.now()
    with platform.session() as session:
        budget = queries.get_account(session, BUDGET)
        bank = queries.get_account(session, BANK)
        bad_rows: list[dict[str, object]] = [
            {"debit_account_id": budget.id, "credit_account_id": bank.id, "amount_minor": 0},
            {"debit_account_id": budget.id, "credit_account_id": budget.id, "amount_minor": 5},
            {
                "debit_account_id": budget.id,
                "credit_account_id": bank.id,
                "amount_minor": 5,
                "phase": TransferPhase.POST,
            },
        ]
        for number, values in enumerate(bad_rows):
            row = {
                "transfer_key": f"bad:{number}",
                "journal_key": "bad",
                "kind": TransferKind.ADJUSTMENT,
                "phase": TransferPhase.SINGLE,
                "reference": "test",
                "created_at": at,
                **values,
            }
            with pytest.raises(IntegrityError), session.begin_nested():
                session.execute(insert(LedgerTransfer).values(**row))


def test_verify_notices_a_tampered_balance_row(platform: Platform) -> None:
    _books(platform)
    with platform.session() as session, transaction(session):
        budget = queries.get_account(session, BUDGET)
        session.execute(
            update(LedgerBalance)
            .where(LedgerBalance.account_id == budget.id)
            .values(credits_posted=LedgerBalance.credits_posted + 1)
        )
    report = _verify(platform)
    assert not report.ok
    assert any(BUDGET in problem for problem in report.problems)


def test_account_codes_and_sides(platform: Platform) -> None:
    at = platform.clock.now()
    with platform.session() as session:
        with pytest.raises(AccountCodeInvalid):
            ledger.open_account(session, "money", name="x", normal_side=NormalSide.DEBIT, at=at)
        with pytest.raises(AccountCodeInvalid):
            ledger.open_account(session, "bank:a b", name="x", normal_side=NormalSide.DEBIT, at=at)
        ledger.open_account(session, BANK, name="x", normal_side=NormalSide.CREDIT, at=at)
        with pytest.raises(AccountSideConflict):
            ledger.open_account(session, BANK, name="x", normal_side=NormalSide.DEBIT, at=at)


def _journal(prefix: str, count: int, amount: int, budget: int, bank: int, at: object) -> Any:
    rows = [
        select(
            literal(f"{prefix}:{n}"),
            literal(f"journal:{prefix}"),
            literal(budget),
            literal(bank),
            literal(amount),
            literal(TransferKind.PAYOUT_RESERVED.value),
            literal(TransferPhase.PENDING.value),
            null_id,
            literal(f"line:{prefix}:{n}"),
            literal(at),
        )
        for n in range(count)
    ]
    return select(*rows[0].union_all(*rows[1:]).subquery().c)


def test_set_based_journal_posts_many_lines_and_checks_the_floor(platform: Platform) -> None:
    _books(platform, fund=1_000)
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        budget = queries.get_account(session, BUDGET).id
        bank = queries.get_account(session, BANK).id
        rows = _journal("bulk", 8, 100, budget, bank, at)
        count = ledger.record_journal_from(session, rows, journal_key="journal:bulk", at=at)
        assert count == 8
        assert queries.get_balance(session, BUDGET).available == 200
    with platform.session() as session:
        rows = _journal("more", 2, 150, budget, bank, at)
        with pytest.raises(BalanceFloorBreached):
            ledger.record_journal_from(session, rows, journal_key="journal:more", at=at)
        session.rollback()
    assert _verify(platform).ok


def test_concurrent_spending_never_breaks_the_floor(platform: Platform) -> None:
    """Eight workers each try to reserve 30 yuan from a 100-yuan budget at once: three win,
    the others are refused, the books balance (RELIABILITY A1 in miniature)."""
    _books(platform, fund=10_000)
    at = platform.clock.now()
    barrier = threading.Barrier(8)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def spend(n: int) -> None:
        barrier.wait()
        try:
            with platform.session() as session, transaction(session):
                ledger.reserve_transfer(session, _pay(f"c{n}", 3_000), at=at)
            result = "ok"
        except DomainError as error:
            result = error.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == Counter({"ok": 3, "ledger_insufficient_balance": 5})
    with platform.session() as session:
        assert queries.get_balance(session, BUDGET).available == 1_000
    assert _verify(platform).ok


def test_messages_are_delivered_one_by_one_and_a_failure_stops_nothing(
    platform: Platform,
) -> None:
    from datetime import datetime

    from socialcard.access.models import HolderMessage
    from socialcard.access.notifications import deliver_messages, record_message
    from tests.support import add_person, resident_id_for

    people = [add_person(platform, resident_id_for("431124", "19800101", n)) for n in (1, 2, 3)]
    with platform.session() as session, transaction(session):
        for person in people:
            record_message(
                session,
                person_id=person,
                kind="payment",
                text="到账",
                reference="t",
                at=platform.clock.now(),
            )

    class FlakyProvider:
        """An SMS provider that is down for the first message, then up."""

        def __init__(self) -> None:
            self.sent: list[tuple[str, str, datetime]] = []
            self.failures_left = 1

        def send(self, phone: str, text: str, *, at: datetime) -> None:
            if self.failures_left:
                self.failures_left -= 1
                raise ConnectionError("provider down")
            self.sent.append((phone, text, at))

    gateway = FlakyProvider()
    phones = {people[0]: "13800000001", people[1]: "13800000002"}  # the third has none
    first = deliver_messages(
        platform.sessions,
        gateway,
        lambda _s, ids: {i: phones[i] for i in ids if i in phones},
        at=platform.clock.now(),
    )
    assert (first.sent, first.without_phone) == (1, 1)
    again = deliver_messages(
        platform.sessions,
        gateway,
        lambda _s, ids: {i: phones[i] for i in ids if i in phones},
        at=platform.clock.now(),
    )
    assert (again.sent, again.without_phone) == (1, 0)  # the failed one, retried
    assert sorted(phone for phone, _, _ in gateway.sent) == sorted(phones.values())
    with platform.session() as session:
        undelivered = session.scalars(
            select(HolderMessage).where(HolderMessage.delivered_at.is_(None))
        ).all()
    assert undelivered == []


def test_a_statement_pages_through_both_sides_newest_first(platform: Platform) -> None:
    """The budget is credited by funding and debited by payouts: pages of three, each older than
    the last line of the page before, list every transfer once, newest first, signed on the
    budget's normal side, with the other side's code."""
    _books(platform, fund=0)
    at = platform.clock.now()
    expected: list[tuple[str, int, str]] = []
    with platform.session() as session, transaction(session):
        for n in range(1, 8):
            key = f"fund:{n}"
            ledger.post_transfer(
                session,
                ledger.TransferRequest(
                    key, TREASURY, BUDGET, Money(1_000 * n), TransferKind.FUNDING, f"budget:{n}"
                ),
                at=at,
            )
            expected.append((key, 1_000 * n, TREASURY))
            if n % 2 == 0:
                ledger.post_transfer(session, _pay(f"pay:{n}", 10 * n), at=at)
                expected.append((f"pay:{n}", -10 * n, BANK))
    expected.reverse()
    with platform.session() as session:
        budget = queries.get_account(session, BUDGET)
        pages: list[list[queries.TransferLine]] = []
        before: int | None = None
        while True:
            page = queries.account_statement(
                session, budget.id, budget.normal_side, limit=3, before_id=before
            )
            if not page:
                break
            pages.append(page)
            before = session.scalars(
                select(LedgerTransfer.id).where(
                    LedgerTransfer.transfer_key == page[-1].transfer_key
                )
            ).one()
        seen = [
            (line.transfer_key, line.amount_minor, line.counterpart) for p in pages for line in p
        ]
        assert seen == expected
        assert [len(p) for p in pages] == [3, 3, 3, 1]
        assert queries.list_transfers(session, BUDGET, limit=4) == pages[0] + pages[1][:1]
