"""Payment orders against the strict sandbox bank, on both databases: one debit per order
whatever happens (refusals, lost answers, timeouts, ten kiosks at once), refunds credited once,
and the books proven after every test (the `fees` fixture verifies the ledger)."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from socialcard.access.models import HolderMessage
from socialcard.banks import reasons
from socialcard.banks.faults import FaultPlan
from socialcard.banks.sandbox import SandboxBank
from socialcard.banks.sandbox_accounts import AccountState
from socialcard.bootstrap import Platform
from socialcard.catalog.models import CardUse, UseOutcome
from socialcard.db import transaction
from socialcard.kernel.money import Money
from socialcard.ledger import accounts
from socialcard.ledger import queries as ledger_queries
from socialcard.ledger.queries import ReservationState
from socialcard.payments import services as payments
from socialcard.payments.errors import (
    FeeScheduleInactive,
    OrderAmountInvalid,
    OrderKeyReused,
    OrderTransitionNotAllowed,
    PayerNotOrderHolder,
)
from socialcard.payments.models import OrderStatus, RefundStatus
from socialcard.payments.queries import list_orders_for_holder
from socialcard.reports.payment_receipt import payment_receipt_of, render_payment_receipt
from tests.integration.payments.conftest import (
    CALLER,
    open_at_bank,
    order_for,
    order_row,
    payer_of,
)
from tests.money_support import cardholders

EXAM_FEE = 5_000


def _uses(platform: Platform, person_id: int) -> int:
    with platform.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(CardUse)
                .where(CardUse.person_id == person_id, CardUse.outcome == UseOutcome.SUCCESS.value)
            )
            or 0
        )


def _messages(platform: Platform, person_id: int) -> list[str]:
    with platform.session() as session:
        return list(
            session.scalars(select(HolderMessage.text).where(HolderMessage.person_id == person_id))
        )


def _income(platform: Platform) -> int:
    with platform.session() as session:
        return ledger_queries.get_balance(
            session, accounts.department_income("hrss", "personnel_exam")
        ).posted


def _reservation(platform: Platform, order_no: str) -> ReservationState:
    with platform.session() as session:
        return ledger_queries.reservation_state(session, f"payment:{order_no}:reserve")


def test_paying_an_order_debits_once_and_posts_records_and_tells(
    fees: Platform, bank: SandboxBank
) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(bank, holder, deposit=20_000)
    order_no = order_for(fees, holder, key="exam-0001")

    order = payments.pay_order(
        fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, holder), at=fees.clock.now()
    )

    assert order.status is OrderStatus.PAID
    assert order.end_to_end_id == f"{order_no}-D"
    assert bank.executions_of(f"{order_no}-D") == 1
    assert bank.balance(holder.bank_code, holder.account) == 20_000 - EXAM_FEE
    assert bank.balance(holder.bank_code, payments.collection_account(holder.bank_code)) == (
        EXAM_FEE
    )
    assert _reservation(fees, order_no) is ReservationState.POSTED
    assert _income(fees) == EXAM_FEE
    assert _uses(fees, holder.person_id) == 1
    assert any(order_no in text and "50.00" in text for text in _messages(fees, holder.person_id))
    with fees.session() as session:
        mine = list_orders_for_holder(session, holder.person_id)
        receipt = payment_receipt_of(session, fees.keys, order_no)
    assert [o.order_no for o in mine] == [order_no]
    text = PdfReader(io.BytesIO(render_payment_receipt(receipt))).pages[0].extract_text()
    assert order_no in text
    assert "伍拾元整" in text
    assert holder.resident_id not in text


def test_paying_again_changes_nothing(fees: Platform, bank: SandboxBank) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(bank, holder)
    order_no = order_for(fees, holder, key="exam-0002")
    payer = payer_of(fees, holder)
    for _ in range(3):
        order = payments.pay_order(
            fees.sessions, fees.keys, bank, order_no, payer=payer, at=fees.clock.now()
        )
        assert order.status is OrderStatus.PAID
    assert bank.executions_of(f"{order_no}-D") == 1
    assert _uses(fees, holder.person_id) == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no_money", reasons.INSUFFICIENT_FUNDS),
        ("not_activated", reasons.NOT_ACTIVATED),
        ("frozen", reasons.ACCOUNT_FROZEN),
    ],
)
def test_a_refused_debit_fails_the_order_and_releases_the_reservation(
    fees: Platform, bank: SandboxBank, setup: str, reason: str
) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(
        bank,
        holder,
        deposit=0 if setup == "no_money" else 100_000,
        activated=setup != "not_activated",
    )
    if setup == "frozen":
        bank.set_state(holder.bank_code, holder.account, AccountState.FROZEN)
    before = bank.balance(holder.bank_code, holder.account)
    order_no = order_for(fees, holder, key=f"exam-{setup}")

    order = payments.pay_order(
        fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, holder), at=fees.clock.now()
    )

    assert order.status is OrderStatus.FAILED
    assert order.bank_reason_code == reason
    assert bank.balance(holder.bank_code, holder.account) == before
    assert _reservation(fees, order_no) is ReservationState.VOIDED
    assert _income(fees) == 0
    assert _uses(fees, holder.person_id) == 0
    assert any("未成功" in text for text in _messages(fees, holder.person_id))
    with pytest.raises(OrderTransitionNotAllowed):
        payments.refund_order(
            fees.sessions, fees.keys, bank, order_no, reason="x", requested_by=None,
            at=fees.clock.now(),
        )  # fmt: skip


def test_a_lost_answer_is_settled_as_paid_by_asking_the_bank(
    fees: Platform, bank: SandboxBank
) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(bank, holder, deposit=20_000)
    order_no = order_for(fees, holder, key="exam-drop")
    bank.set_faults(FaultPlan(seed=1, drop_response_rate=1.0))

    order = payments.pay_order(
        fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, holder), at=fees.clock.now()
    )
    assert order.status is OrderStatus.UNKNOWN
    assert _reservation(fees, order_no) is ReservationState.PENDING
    # Paying again while unknown never sends the instruction a second time.
    again = payments.pay_order(
        fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, holder), at=fees.clock.now()
    )
    assert again.status is OrderStatus.UNKNOWN

    bank.set_faults(None)
    too_soon = payments.settle_unknown_orders(fees.sessions, bank, at=fees.clock.now())
    assert too_soon.paid == 0
    report = payments.settle_unknown_orders(
        fees.sessions, bank, at=fees.clock.now() + timedelta(minutes=2)
    )

    assert report.paid == 1
    assert order_row(fees, order_no).status is OrderStatus.PAID
    assert bank.executions_of(f"{order_no}-D") == 1
    assert bank.balance(holder.bank_code, holder.account) == 20_000 - EXAM_FEE
    assert _income(fees) == EXAM_FEE
    assert _uses(fees, holder.person_id) == 1


def test_a_timeout_before_execution_is_settled_as_failed_without_a_debit(
    fees: Platform, bank: SandboxBank
) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(bank, holder, deposit=20_000)
    order_no = order_for(fees, holder, key="exam-timeout")
    bank.set_faults(FaultPlan(seed=2, timeout_rate=1.0))

    order = payments.pay_order(
        fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, holder), at=fees.clock.now()
    )
    assert order.status is OrderStatus.UNKNOWN

    bank.set_faults(None)
    report = payments.settle_unknown_orders(
        fees.sessions, bank, at=fees.clock.now() + timedelta(minutes=2)
    )

    assert report.failed == 1
    settled = order_row(fees, order_no)
    assert settled.status is OrderStatus.FAILED
    assert settled.bank_reason_code == payments.NOT_EXECUTED
    assert bank.executions_of(f"{order_no}-D") == 0
    assert bank.balance(holder.bank_code, holder.account) == 20_000
    assert _reservation(fees, order_no) is ReservationState.VOIDED
    assert _uses(fees, holder.person_id) == 0


def test_ten_kiosks_paying_the_same_order_at_once_debit_once(
    fees: Platform, bank: SandboxBank
) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(bank, holder, deposit=100_000)
    order_no = order_for(fees, holder, key="exam-race")
    payer = payer_of(fees, holder)
    start = threading.Barrier(10)
    outcomes: list[OrderStatus] = []
    errors: list[BaseException] = []

    def pay() -> None:
        try:
            start.wait()
            order = payments.pay_order(
                fees.sessions, fees.keys, bank, order_no, payer=payer, at=fees.clock.now()
            )
            outcomes.append(order.status)
        except BaseException as error:  # collected and re-raised below
            errors.append(error)

    threads = [threading.Thread(target=pay) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert len(outcomes) == 10
    assert OrderStatus.PAID in outcomes
    assert bank.executions_of(f"{order_no}-D") == 1
    assert bank.balance(holder.bank_code, holder.account) == 100_000 - EXAM_FEE
    assert order_row(fees, order_no).status is OrderStatus.PAID
    assert _uses(fees, holder.person_id) == 1


def test_a_refund_credits_once_and_reverses_the_collection(
    fees: Platform, bank: SandboxBank
) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(bank, holder, deposit=20_000)
    order_no = order_for(fees, holder, key="exam-refund")
    payments.pay_order(
        fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, holder), at=fees.clock.now()
    )

    refund = payments.refund_order(
        fees.sessions, fees.keys, bank, order_no, reason="考试取消", requested_by=None,
        at=fees.clock.now(),
    )  # fmt: skip

    assert refund.status is RefundStatus.CREDITED
    assert bank.executions_of(f"{order_no}-R1") == 1
    assert bank.balance(holder.bank_code, holder.account) == 20_000
    assert order_row(fees, order_no).status is OrderStatus.REFUNDED
    assert _income(fees) == 0
    with fees.session() as session:
        reversal = ledger_queries.get_transfer(session, f"payment:{order_no}:refund")
        original = ledger_queries.get_transfer(session, f"payment:{order_no}:post")
    assert reversal.reverses_id == original.id
    with pytest.raises(OrderTransitionNotAllowed):
        payments.refund_order(
            fees.sessions, fees.keys, bank, order_no, reason="again", requested_by=None,
            at=fees.clock.now(),
        )  # fmt: skip
    assert bank.executions_of(f"{order_no}-R2") == 0
    assert any("已退回" in text for text in _messages(fees, holder.person_id))


def test_a_refund_whose_answer_is_lost_is_settled_by_asking(
    fees: Platform, bank: SandboxBank
) -> None:
    holder = cardholders(fees, 1)[0]
    open_at_bank(bank, holder, deposit=20_000)
    order_no = order_for(fees, holder, key="exam-refund-drop")
    payments.pay_order(
        fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, holder), at=fees.clock.now()
    )
    bank.set_faults(FaultPlan(seed=3, drop_response_rate=1.0))
    refund = payments.refund_order(
        fees.sessions, fees.keys, bank, order_no, reason="重复缴费", requested_by=None,
        at=fees.clock.now(),
    )  # fmt: skip
    assert refund.status is RefundStatus.UNKNOWN
    bank.set_faults(None)
    report = payments.settle_unknown_orders(
        fees.sessions, bank, at=fees.clock.now() + timedelta(minutes=2)
    )
    assert report.refunds_credited == 1
    assert bank.executions_of(f"{order_no}-R1") == 1
    assert order_row(fees, order_no).status is OrderStatus.REFUNDED


def test_someone_elses_card_cannot_pay_the_order(fees: Platform, bank: SandboxBank) -> None:
    owner, other = cardholders(fees, 2)
    open_at_bank(bank, other)
    order_no = order_for(fees, owner, key="exam-other")
    with pytest.raises(PayerNotOrderHolder):
        payments.pay_order(
            fees.sessions, fees.keys, bank, order_no, payer=payer_of(fees, other),
            at=fees.clock.now(),
        )  # fmt: skip
    assert order_row(fees, order_no).status is OrderStatus.CREATED
    assert bank.execution_count() == 0


def test_creating_an_order_is_idempotent_per_caller_and_key(fees: Platform) -> None:
    holder = cardholders(fees, 1)[0]
    first = order_for(fees, holder, key="exam-same")
    assert order_for(fees, holder, key="exam-same") == first
    with pytest.raises(OrderKeyReused):
        order_for(fees, holder, key="exam-same", schedule="skill_appraisal")
    with fees.session() as session, transaction(session):
        tuition = payments.create_order(
            session,
            person_id=holder.person_id,
            schedule_code="tuition",
            amount=Money(320_000),
            reference="notice:2026-001",
            caller=CALLER,
            idempotency_key="tuition-1",
            at=fees.clock.now(),
        )
        assert tuition.amount_minor == 320_000
        assert tuition.income_account == "department:education:tuition"
        with pytest.raises(OrderAmountInvalid):
            payments.create_order(
                session, person_id=holder.person_id, schedule_code="tuition", reference="n",
                caller=CALLER, idempotency_key="tuition-2", at=fees.clock.now(),
            )  # fmt: skip
        contribution = payments.create_order(
            session,
            person_id=holder.person_id,
            item_no=30,
            department_code="hrss",
            purpose="城乡居民养老保险个人缴费（2027 年度）",
            amount=Money(20_000),
            reference="contribution:2027",
            caller="insurance",
            idempotency_key="resident-pension-2027",
            at=fees.clock.now(),
        )
        assert contribution.income_account == "department:hrss:I030"


def test_a_switched_off_schedule_takes_no_orders(fees: Platform) -> None:
    from socialcard.payments.schedules import get_fee_schedule

    holder = cardholders(fees, 1)[0]
    with fees.session() as session, transaction(session):
        get_fee_schedule(session, "personnel_agency").active = False
    with pytest.raises(FeeScheduleInactive):
        order_for(fees, holder, key="agency-1", schedule="personnel_agency")
