"""Writes of payments: raising an order, paying it from the card's bank account, refunding it,
and settling outcomes the bank did not give.

Paying is three steps, each its own short transaction, and the bank call sits between them
with no transaction open (a bank that hangs must not hold a database lock):
  1. lock the order, reserve the money in the ledger, store the end-to-end id (outbox), commit;
  2. gateway.execute_now(…, DEBIT, …);
  3. lock the order again and post or void the reservation as the bank answered.
A timeout leaves the order `unknown`; settle_unknown_orders asks the bank (query_line) and never
sends the instruction again. Because step 1 moves the order out of `created` under a row lock,
a double click, a retry or a second kiosk finds it `debiting` and the bank is called once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from socialcard.access.notifications import record_message
from socialcard.banks.gateway import (
    BankGateway,
    BankTimeout,
    BankUnavailable,
    Direction,
    InstructionLine,
    LineResult,
    LineStatus,
)
from socialcard.cards.models import Card
from socialcard.catalog.models import Channel
from socialcard.catalog.queries import get_item
from socialcard.catalog.services import record_card_use
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.money import Money
from socialcard.ledger import accounts
from socialcard.ledger import services as ledger
from socialcard.ledger.models import NormalSide, TransferKind
from socialcard.ledger.services import TransferRequest
from socialcard.payments.errors import (
    CardWithoutBankAccount,
    OrderAmountInvalid,
    OrderKeyReused,
    OrderTransitionNotAllowed,
    PayerNotOrderHolder,
    RefundInProgress,
)
from socialcard.payments.models import (
    OPEN_DEBIT,
    OPEN_REFUND,
    OrderStatus,
    PaymentOrder,
    PaymentRefund,
    RefundStatus,
)
from socialcard.payments.queries import lock_order
from socialcard.payments.schedules import get_schedule_in_force, income_account
from socialcard.registry.models import Person
from socialcard.registry.queries import get_person

AMOUNT_MAX_MINOR = 10_000_000  # ¥100,000: above it a counter collection is refused
NOT_EXECUTED = "not_executed"
NOT_EXECUTED_TEXT = "银行未执行该指令"
BANK_UNAVAILABLE = "bank_unavailable"
BANK_UNAVAILABLE_TEXT = "银行系统暂不可用，未扣款"


def collection_account(bank_code: str) -> str:
    """The platform's collecting account at each partner bank (from the agreements)."""
    return f"YZJF{bank_code}0001"


def _keys_of(order_no: str) -> tuple[str, str, str, str]:
    """Ledger transfer keys of an order: reserve, post, void, refund reversal."""
    base = f"payment:{order_no}"
    return f"{base}:reserve", f"{base}:post", f"{base}:void", f"{base}:refund"


@dataclass(frozen=True, slots=True)
class Payer:
    """Who pays with which card, as the caller's card check (the cards door) found them."""

    person_id: int
    card_id: int
    channel: Channel
    county_code: str | None
    terminal_code: str | None = None


# -- raising an order ---------------------------------------------------------------------------


def _next_order_no(session: Session, at: datetime) -> str:
    prefix = "JF" + at.astimezone(SHANGHAI).strftime("%Y%m%d")
    last = session.scalar(
        select(func.max(PaymentOrder.order_no)).where(PaymentOrder.order_no.startswith(prefix))
    )
    number = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{number:05d}"


def _find_by_key(session: Session, caller: str, key: str) -> PaymentOrder | None:
    return session.scalars(
        select(PaymentOrder).where(
            PaymentOrder.caller == caller, PaymentOrder.idempotency_key == key
        )
    ).first()


def create_order(
    session: Session,
    *,
    person_id: int,
    reference: str,
    caller: str,
    idempotency_key: str,
    at: datetime,
    schedule_code: str | None = None,
    amount: Money | None = None,
    item_no: int | None = None,
    department_code: str | None = None,
    purpose: str | None = None,
) -> PaymentOrder:
    """Raise a payment order for a person: under a fee schedule (its fixed fee, or `amount` when
    the schedule takes one per order), or directly for a catalogue item (`item_no`,
    `department_code`, `purpose`, `amount`: insurance contributions, medical self-pay). The same
    (caller, idempotency_key) returns the first order; with other content it is refused."""
    person = get_person(session, person_id)
    if schedule_code is not None:
        schedule = get_schedule_in_force(session, schedule_code, on=at.astimezone(SHANGHAI).date())
        if schedule.amount_minor is not None:
            if amount is not None and amount.minor != schedule.amount_minor:
                raise OrderAmountInvalid("固定收费项目的金额由收费标准确定")
            amount = Money(schedule.amount_minor)
        schedule_id: int | None = schedule.id
        item_no, department_code = schedule.item_no, schedule.department_code
        purpose = purpose or schedule.name
        income = income_account(schedule)
    else:
        if item_no is None or department_code is None or not purpose:
            raise OrderAmountInvalid("须指定收费项目，或应用目录事项、部门和用途")
        get_item(session, item_no)
        schedule_id = None
        income = accounts.department_income(department_code, f"I{item_no:03d}")
    if amount is None or amount.minor <= 0 or amount.currency != "CNY":
        raise OrderAmountInvalid("金额必须为正数（分）")
    if amount.minor > AMOUNT_MAX_MINOR:
        raise OrderAmountInvalid("单笔缴费不超过 100,000.00 元")
    wanted = (person.id, schedule_id, item_no, amount.minor, reference)
    for _ in range(5):
        earlier = _find_by_key(session, caller, idempotency_key)
        if earlier is not None:
            found = (
                earlier.person_id,
                earlier.schedule_id,
                earlier.item_no,
                earlier.amount_minor,
                earlier.reference,
            )
            if found != wanted:
                raise OrderKeyReused(idempotency_key)
            return earlier
        ledger.open_account(
            session, income, name=f"{department_code} {purpose}"[:120],
            normal_side=NormalSide.CREDIT, at=at,
        )  # fmt: skip
        order = PaymentOrder(
            order_no=_next_order_no(session, at),
            person_id=person.id,
            schedule_id=schedule_id,
            item_no=item_no,
            department_code=department_code,
            purpose=purpose[:60],
            amount_minor=amount.minor,
            income_account=income,
            reference=reference[:80],
            caller=caller[:60],
            idempotency_key=idempotency_key,
            status=OrderStatus.CREATED,
            created_at=at,
        )
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
        except IntegrityError:
            continue  # the same key or the same number was taken meanwhile: look again
        return order
    raise OrderKeyReused(idempotency_key)


# -- paying -------------------------------------------------------------------------------------


def _instruction(
    keys: KeyRing, person: Person, card: Card, *, end_to_end_id: str, amount: int, memo: str
) -> InstructionLine:
    assert card.bank_account_cipher is not None
    return InstructionLine(
        seq=1,
        end_to_end_id=end_to_end_id,
        resident_id=keys.decrypt(person.resident_id_cipher),
        name=person.name,
        account_number=keys.decrypt(card.bank_account_cipher),
        amount_minor=amount,
        memo=memo[:30],
    )


def _begin_debit(
    session: Session, keys: KeyRing, order_no: str, payer: Payer, at: datetime
) -> tuple[PaymentOrder, InstructionLine | None]:
    order = lock_order(session, order_no)
    if order.status is not OrderStatus.CREATED:
        return order, None  # paid, failed or being debited by another request: never again
    if payer.person_id != order.person_id:
        raise PayerNotOrderHolder(order_no)
    card = session.get_one(Card, payer.card_id)
    if card.person_id != order.person_id:
        raise PayerNotOrderHolder(order_no)
    if card.bank_account_cipher is None:
        raise CardWithoutBankAccount(card.card_number)
    collections = accounts.bank_clearing(card.bank_code, "collections")
    ledger.open_account(
        session, collections, name=f"{card.bank_code} 代收款",
        normal_side=NormalSide.DEBIT, at=at,
    )  # fmt: skip
    reserve_key = _keys_of(order_no)[0]
    ledger.reserve_transfer(
        session,
        TransferRequest(
            transfer_key=reserve_key,
            debit_account=collections,
            credit_account=order.income_account,
            amount=Money(order.amount_minor),
            kind=TransferKind.COLLECTION_RESERVED,
            reference=f"payment:{order_no}",
        ),
        at=at,
    )
    end_to_end_id = f"{order_no}-D"
    order.card_id = card.id
    order.bank_code = card.bank_code
    order.bank_account_masked = card.bank_account_masked
    order.channel = payer.channel.value
    order.terminal_code = payer.terminal_code
    order.county_code = payer.county_code
    order.start_debit(end_to_end_id=end_to_end_id, at=at)
    person = get_person(session, order.person_id)
    line = _instruction(
        keys, person, card, end_to_end_id=end_to_end_id, amount=order.amount_minor,
        memo=order.purpose,
    )  # fmt: skip
    return order, line


def _yuan(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _apply_debit(session: Session, order: PaymentOrder, result: LineResult, at: datetime) -> None:
    """Post or release the order's reservation as the bank answered; only an open debit moves."""
    if order.status not in OPEN_DEBIT:
        return
    reserve_key, post_key, void_key, _ = _keys_of(order.order_no)
    if result.status is LineStatus.DONE and result.amount_minor == order.amount_minor:
        ledger.post_reserved(
            session, reserve_key, transfer_key=post_key, kind=TransferKind.COLLECTION_CONFIRMED,
            at=at,
        )  # fmt: skip
        order.mark_paid(at=at)
        record_card_use(
            session,
            item_no=order.item_no,
            person_id=order.person_id,
            card_id=order.card_id,
            channel=Channel(order.channel or Channel.COUNTER.value),
            terminal_code=order.terminal_code,
            county_code=order.county_code,
            used_at=at,
        )
        text = (
            f"【永州社保卡】您已用社会保障卡缴纳{order.purpose} {_yuan(order.amount_minor)} 元，"
            f"缴费单号 {order.order_no}。"
        )
    else:
        reason_code = result.reason_code or "amount_mismatch"
        reason_text = result.reason_text or "银行扣款金额与缴费单不一致"
        ledger.void_reserved(
            session, reserve_key, transfer_key=void_key, kind=TransferKind.COLLECTION_RELEASED,
            at=at,
        )  # fmt: skip
        order.mark_failed(reason_code=reason_code, reason_text=reason_text, at=at)
        text = (
            f"【永州社保卡】{order.purpose}缴费未成功（{reason_text}），未扣款，"
            f"缴费单号 {order.order_no}。"
        )
    record_message(
        session, person_id=order.person_id, kind="payment", text=text,
        reference=f"payment_order:{order.order_no}", at=at,
    )  # fmt: skip


def _fail_unexecuted(
    session: Session, order: PaymentOrder, code: str, text: str, at: datetime
) -> None:
    _apply_debit(
        session,
        order,
        LineResult(1, order.end_to_end_id or "", order.amount_minor, LineStatus.FAILED, code, text),
        at,
    )


def pay_order(
    sessions: sessionmaker[Session],
    keys: KeyRing,
    gateway: BankGateway,
    order_no: str,
    *,
    payer: Payer,
    at: datetime,
) -> PaymentOrder:
    """Debit the order's amount from the payer's card account, once. The caller has already
    checked the card (the cards door: card, PIN, item opened). Returns the order as it ended:
    paid, failed, unknown, or as another request left it."""
    with sessions() as session, session.begin():
        order, line = _begin_debit(session, keys, order_no, payer, at)
    if line is None:
        return order
    assert order.bank_code is not None
    try:
        result = gateway.execute_now(
            order.bank_code, Direction.DEBIT, collection_account(order.bank_code), line
        )
    except BankTimeout:
        with sessions() as session, session.begin():
            order = lock_order(session, order_no)
            if order.status is OrderStatus.DEBITING:
                order.mark_unknown()
        return order
    except BankUnavailable:
        # Refused before anything happened: nothing to ask about later.
        with sessions() as session, session.begin():
            order = lock_order(session, order_no)
            _fail_unexecuted(session, order, BANK_UNAVAILABLE, BANK_UNAVAILABLE_TEXT, at)
        return order
    with sessions() as session, session.begin():
        order = lock_order(session, order_no)
        _apply_debit(session, order, result, at)
    return order


# -- refunding ----------------------------------------------------------------------------------


def _begin_refund(
    session: Session, keys: KeyRing, order_no: str, *, reason: str, requested_by: int | None,
    at: datetime,
) -> tuple[PaymentOrder, PaymentRefund, InstructionLine]:  # fmt: skip
    order = lock_order(session, order_no)
    if order.status is not OrderStatus.PAID:
        raise OrderTransitionNotAllowed(order_no, order.status.value, OrderStatus.REFUNDED.value)
    refunds = list(session.scalars(select(PaymentRefund).where(PaymentRefund.order_id == order.id)))
    if any(r.status in OPEN_REFUND for r in refunds):
        raise RefundInProgress(order_no)
    attempt = len(refunds) + 1
    refund = PaymentRefund(
        order_id=order.id,
        attempt=attempt,
        end_to_end_id=f"{order_no}-R{attempt}",
        amount_minor=order.amount_minor,
        reason=reason[:200],
        requested_by=requested_by,
        status=RefundStatus.CREDITING,
        created_at=at,
    )
    session.add(refund)
    session.flush()
    assert order.card_id is not None
    card = session.get_one(Card, order.card_id)
    if card.bank_account_cipher is None:
        raise CardWithoutBankAccount(card.card_number)
    line = _instruction(
        keys, get_person(session, order.person_id), card, end_to_end_id=refund.end_to_end_id,
        amount=order.amount_minor, memo=f"退费 {order.purpose}",
    )  # fmt: skip
    return order, refund, line


def _apply_refund(
    session: Session, order: PaymentOrder, refund: PaymentRefund, result: LineResult, at: datetime
) -> None:
    """Reverse the collection once the bank credited the holder; a refusal changes no money."""
    if refund.status not in OPEN_REFUND:
        return
    _, post_key, _, refund_key = _keys_of(order.order_no)
    if result.status is LineStatus.DONE:
        ledger.reverse_transfer(
            session, post_key, transfer_key=refund_key,
            reference=f"refund:{refund.end_to_end_id}", at=at,
        )  # fmt: skip
        refund.move_to(RefundStatus.CREDITED, at=at)
        order.mark_refunded(at=at)
        text = (
            f"【永州社保卡】您缴纳的{order.purpose} {_yuan(order.amount_minor)} 元已退回"
            f"社会保障卡银行账户，缴费单号 {order.order_no}。"
        )
        record_message(
            session, person_id=order.person_id, kind="payment", text=text,
            reference=f"payment_refund:{refund.end_to_end_id}", at=at,
        )  # fmt: skip
    else:
        refund.bank_reason_code = result.reason_code
        refund.bank_reason_text = result.reason_text
        refund.move_to(RefundStatus.FAILED, at=at)


def _lock_refund(session: Session, end_to_end_id: str) -> tuple[PaymentOrder, PaymentRefund]:
    refund = session.scalars(
        select(PaymentRefund).where(PaymentRefund.end_to_end_id == end_to_end_id)
    ).one()
    order = lock_order(session, session.get_one(PaymentOrder, refund.order_id).order_no)
    session.refresh(refund)
    return order, refund


def refund_order(
    sessions: sessionmaker[Session],
    keys: KeyRing,
    gateway: BankGateway,
    order_no: str,
    *,
    reason: str,
    requested_by: int | None,
    at: datetime,
) -> PaymentRefund:
    """Pay a paid order back in full to the card account it came from: the credit goes to the
    bank under the refund's own end-to-end id, and the ledger reverses the collection only when
    the bank confirms. A second refund of the same order is refused."""
    with sessions() as session, session.begin():
        order, refund, line = _begin_refund(
            session, keys, order_no, reason=reason, requested_by=requested_by, at=at
        )
    assert order.bank_code is not None
    end_to_end_id = refund.end_to_end_id
    try:
        result = gateway.execute_now(
            order.bank_code, Direction.CREDIT, collection_account(order.bank_code), line
        )
    except BankTimeout:
        with sessions() as session, session.begin():
            order, refund = _lock_refund(session, end_to_end_id)
            if refund.status is RefundStatus.CREDITING:
                refund.move_to(RefundStatus.UNKNOWN)
        return refund
    except BankUnavailable:
        result = LineResult(
            1, end_to_end_id, order.amount_minor, LineStatus.FAILED, BANK_UNAVAILABLE,
            BANK_UNAVAILABLE_TEXT,
        )  # fmt: skip
    with sessions() as session, session.begin():
        order, refund = _lock_refund(session, end_to_end_id)
        _apply_refund(session, order, refund, result, at)
    return refund


# -- settling what the bank did not answer -------------------------------------------------------


@dataclass
class Settlement:
    """What settle_unknown_orders found out."""

    paid: int = 0
    failed: int = 0
    refunds_credited: int = 0
    refunds_failed: int = 0
    still_unknown: int = 0


def _open_debits(
    sessions: sessionmaker[Session], *, at: datetime, asked_after: timedelta,
    stale_after: timedelta,
) -> list[tuple[str, str, str]]:  # fmt: skip
    with sessions() as session, session.begin():
        rows = session.execute(
            select(PaymentOrder.order_no, PaymentOrder.bank_code, PaymentOrder.end_to_end_id)
            .where(
                (
                    (PaymentOrder.status == OrderStatus.UNKNOWN.value)
                    & (PaymentOrder.debit_started_at <= at - asked_after)
                )
                | (
                    (PaymentOrder.status == OrderStatus.DEBITING.value)
                    & (PaymentOrder.debit_started_at <= at - stale_after)
                )
            )
            .order_by(PaymentOrder.id)
        ).tuples()
        return [(no, bank or "", e2e or "") for no, bank, e2e in rows]


def _open_refunds(
    sessions: sessionmaker[Session], *, at: datetime, asked_after: timedelta,
    stale_after: timedelta,
) -> list[tuple[str, str]]:  # fmt: skip
    with sessions() as session, session.begin():
        rows = session.execute(
            select(PaymentRefund.end_to_end_id, PaymentOrder.bank_code)
            .join(PaymentOrder, PaymentOrder.id == PaymentRefund.order_id)
            .where(
                (
                    (PaymentRefund.status == RefundStatus.UNKNOWN.value)
                    & (PaymentRefund.created_at <= at - asked_after)
                )
                | (
                    (PaymentRefund.status == RefundStatus.CREDITING.value)
                    & (PaymentRefund.created_at <= at - stale_after)
                )
            )
            .order_by(PaymentRefund.id)
        ).tuples()
        return [(e2e, bank or "") for e2e, bank in rows]


def settle_unknown_orders(
    sessions: sessionmaker[Session],
    gateway: BankGateway,
    *,
    at: datetime,
    asked_after: timedelta = timedelta(minutes=1),
    stale_after: timedelta = timedelta(minutes=10),
) -> Settlement:
    """Ask the bank about every debit and refund whose outcome is unknown (and any left
    `debiting`/`crediting` by a crash longer than `stale_after`), and settle each as the bank
    says: executed → as its result; never executed → failed, the reservation released. Nothing
    is ever sent again. A bank that does not answer leaves the order for the next run."""
    report = Settlement()
    for order_no, bank_code, end_to_end_id in _open_debits(
        sessions, at=at, asked_after=asked_after, stale_after=stale_after
    ):
        try:
            result = gateway.query_line(bank_code, end_to_end_id)
        except (BankTimeout, BankUnavailable):
            report.still_unknown += 1
            continue
        with sessions() as session, session.begin():
            order = lock_order(session, order_no)
            if order.status is OrderStatus.DEBITING:
                order.mark_unknown()
            if result is None:
                _fail_unexecuted(session, order, NOT_EXECUTED, NOT_EXECUTED_TEXT, at)
            else:
                _apply_debit(session, order, result, at)
            if order.status is OrderStatus.PAID:
                report.paid += 1
            elif order.status is OrderStatus.FAILED:
                report.failed += 1
    for end_to_end_id, bank_code in _open_refunds(
        sessions, at=at, asked_after=asked_after, stale_after=stale_after
    ):
        try:
            result = gateway.query_line(bank_code, end_to_end_id)
        except (BankTimeout, BankUnavailable):
            report.still_unknown += 1
            continue
        with sessions() as session, session.begin():
            order, refund = _lock_refund(session, end_to_end_id)
            if refund.status is RefundStatus.CREDITING:
                refund.move_to(RefundStatus.UNKNOWN)
            if result is None:
                result = LineResult(
                    1, end_to_end_id, refund.amount_minor, LineStatus.FAILED, NOT_EXECUTED,
                    NOT_EXECUTED_TEXT,
                )  # fmt: skip
            _apply_refund(session, order, refund, result, at)
            if refund.status is RefundStatus.CREDITED:
                report.refunds_credited += 1
            else:
                report.refunds_failed += 1
    return report
