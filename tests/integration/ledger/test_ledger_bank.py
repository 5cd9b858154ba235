"""RELIABILITY A1 (the Jepsen bank test) on the ledger: W workers send mixed operations with
client-chosen keys against a hot set of floored and unfloored accounts — payouts reserved then
posted or voided, collections, transfers between budgets, reversals — some retried with the same
key, some with the same key and other content. The checker: every `ok` operation appears exactly
once, every definite failure zero times, retries never duplicate, debits = credits, stored
balances = transfers, no floor broken, and the total money across the closed set is constant.

Size: PR W=8 × 2,000 operations per database (SOCIALCARD_BANK_TEST_OPS for the nightly tier)."""

from __future__ import annotations

import os
import random
import threading
from collections import Counter

from sqlalchemy import func, select

from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import DomainError
from socialcard.kernel.money import Money
from socialcard.ledger import queries
from socialcard.ledger import services as ledger
from socialcard.ledger.models import LedgerTransfer, NormalSide, TransferKind

WORKERS = 8
OPERATIONS = int(os.environ.get("SOCIALCARD_BANK_TEST_OPS", "2000"))
BUDGETS = [f"programme:P{n}:budget" for n in range(6)]  # floored, credit-normal
BANKS = [f"bank:b{n}:payouts" for n in range(3)]  # credit-normal, no floor
OPENING = 50_000


def _open(platform: Platform) -> None:
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        ledger.open_account(
            session, "external:treasury", name="t", normal_side=NormalSide.DEBIT, at=at
        )
        for code in BUDGETS:
            ledger.open_account(
                session, code, name=code, normal_side=NormalSide.CREDIT, has_floor=True, at=at
            )
            ledger.post_transfer(
                session,
                ledger.TransferRequest(
                    f"open:{code}",
                    "external:treasury",
                    code,
                    Money(OPENING),
                    TransferKind.FUNDING,
                    "opening",
                ),
                at=at,
            )
        for code in BANKS:
            ledger.open_account(session, code, name=code, normal_side=NormalSide.CREDIT, at=at)


def test_mixed_concurrent_operations_keep_the_books(platform: Platform) -> None:
    _open(platform)
    at = platform.clock.now()
    outcomes: dict[str, str] = {}
    lock = threading.Lock()
    per_worker = OPERATIONS // WORKERS

    def hot(rng: random.Random) -> str:
        # 80 % of operations touch the first budget (the hot spot), the rest spread out.
        return BUDGETS[0] if rng.random() < 0.8 else rng.choice(BUDGETS[1:])

    def worker(number: int) -> None:
        rng = random.Random(number)
        for step in range(per_worker):
            key = f"w{number}:{step}"
            kind = rng.random()
            budget, bank = hot(rng), rng.choice(BANKS)
            amount = rng.randint(1, 900)
            try:
                with platform.session() as session, transaction(session):
                    if kind < 0.45:  # a payout: reserve, then the bank answers
                        request = ledger.TransferRequest(
                            key,
                            budget,
                            bank,
                            Money(amount),
                            TransferKind.PAYOUT_RESERVED,
                            f"payment:{key}",
                        )
                        ledger.reserve_transfer(session, request, at=at)
                        if rng.random() < 0.8:
                            ledger.post_reserved(session, key, transfer_key=f"{key}:post", at=at)
                        else:
                            ledger.void_reserved(session, key, transfer_key=f"{key}:void", at=at)
                    elif kind < 0.75:  # a transfer between two budgets
                        other = rng.choice([b for b in BUDGETS if b != budget])
                        ledger.post_transfer(
                            session,
                            ledger.TransferRequest(
                                key, budget, other, Money(amount), TransferKind.ADJUSTMENT, key
                            ),
                            at=at,
                        )
                    elif kind < 0.9:  # a refund back into a budget (bank → budget)
                        ledger.post_transfer(
                            session,
                            ledger.TransferRequest(
                                key, bank, budget, Money(amount), TransferKind.REVERSAL, key
                            ),
                            at=at,
                        )
                    else:  # reverse one of this worker's earlier transfers
                        earlier = f"w{number}:{rng.randrange(max(step, 1))}"
                        ledger.reverse_transfer(
                            session, earlier, transfer_key=f"{key}:rev", reference=key, at=at
                        )
                result = "ok"
            except DomainError as error:
                result = f"fail:{error.code}"
            with lock:
                outcomes[key] = result
            if result == "ok" and rng.random() < 0.1:  # a client retry with the same key
                try:
                    with platform.session() as session, transaction(session):
                        if kind < 0.45:
                            ledger.post_reserved(session, key, transfer_key=f"{key}:post", at=at)
                except DomainError:
                    pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with platform.session() as session:
        keys = Counter(session.scalars(select(LedgerTransfer.transfer_key)))
        report = queries.verify_ledger(session)
        total = sum(queries.get_balance(session, code).posted for code in [*BUDGETS, *BANKS])
        count = session.scalar(select(func.count()).select_from(LedgerTransfer))
    assert report.ok, report.problems
    assert all(n == 1 for n in keys.values())  # a key never twice
    lost = [
        k for k, r in outcomes.items() if r == "ok" and k not in keys and f"{k}:rev" not in keys
    ]
    failed_but_written = [k for k, r in outcomes.items() if r != "ok" and k in keys]
    assert lost == []
    assert failed_but_written == []
    # Money only moved inside the closed set (budgets and banks) after the opening funding.
    assert total == OPENING * len(BUDGETS)
    codes = Counter(r for r in outcomes.values())
    assert codes["ok"] > OPERATIONS // 2
    assert set(codes) <= {
        "ok",
        "fail:ledger_insufficient_balance",
        "fail:ledger_transfer_not_reversible",
        "fail:ledger_transfer_not_found",
    }
    assert count == len(keys)
