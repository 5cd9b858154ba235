"""Production batches (制卡): collected applications go to the card factory and the partner bank
in a send file; the return file marks each card produced (with its identification code, ATR,
bank account and box) or failed (with stage and reason)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcard.cards import queries
from socialcard.cards.errors import NothingToProduce, ProductionFileRejected
from socialcard.cards.models import (
    BatchStatus,
    Card,
    CardEventKind,
    CardStatus,
    ProductionBatch,
)
from socialcard.cards.numbers import is_valid_card_uid
from socialcard.cards.policy import CardPolicy
from socialcard.cards.production_files import (
    FAILURE_STAGES,
    SendLine,
    parse_return_file,
    render_send_file,
)
from socialcard.cards.services import Handling, add_card_event, link_bank_account
from socialcard.kernel.clock import SHANGHAI
from socialcard.kernel.crypto import KeyRing, sm3_hex
from socialcard.kernel.resident_id import Sex
from socialcard.registry.models import Person

BATCH_SIZE_MAX = 5000


@dataclass(frozen=True, slots=True)
class SentBatch:
    batch: ProductionBatch
    send_file: bytes


def _batch_no(session: Session, bank_code: str, handling: Handling) -> str:
    day = handling.at.astimezone(SHANGHAI).strftime("%Y%m%d")
    prefix = f"ZK{day}{bank_code}"
    count = session.scalar(
        select(func.count())
        .select_from(ProductionBatch)
        .where(ProductionBatch.batch_no.like(prefix + "%"))
    )
    return f"{prefix}{(count or 0) + 1:03d}"


def create_production_batch(
    session: Session,
    keys: KeyRing,
    policy: CardPolicy,
    *,
    bank_code: str,
    handling: Handling,
    size_max: int = BATCH_SIZE_MAX,
    encoding: str = "gbk",
) -> SentBatch:
    """Put the oldest collected applications of one partner bank into a batch and render its send
    file. Two operators at once never take the same card (rows are locked, the second skips
    them)."""
    stmt = (
        select(Card)
        .where(Card.status == CardStatus.DATA_COLLECTED, Card.bank_code == bank_code)
        .order_by(Card.id)
        .limit(size_max)
        .with_for_update(skip_locked=True)
    )
    cards = list(session.scalars(stmt))
    if not cards:
        raise NothingToProduce(bank_code)
    batch = ProductionBatch(
        batch_no=_batch_no(session, bank_code, handling),
        bank_code=bank_code,
        status=BatchStatus.SENT,
        card_count=len(cards),
        produced_count=0,
        failed_count=0,
        file_encoding=encoding,
        send_file_sm3="",
        created_at=handling.at,
        created_by=handling.staff_id,
    )
    send_file = _render(session, keys, policy, batch, cards)
    batch.send_file_sm3 = sm3_hex(send_file)
    session.add(batch)
    session.flush()
    batch_no = batch.batch_no
    for card in cards:
        card.move_to(CardStatus.IN_PRODUCTION)
        card.production_batch_id = batch.id
        add_card_event(session, card, CardEventKind.SENT_TO_PRODUCTION, handling, batch_no=batch_no)
    return SentBatch(batch=batch, send_file=send_file)


def _render(
    session: Session, keys: KeyRing, policy: CardPolicy, batch: ProductionBatch, cards: list[Card]
) -> bytes:
    persons = {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_([c.person_id for c in cards])))
    }
    lines: list[SendLine] = []
    for card in cards:
        person = persons[card.person_id]
        lines.append(
            SendLine(
                card_number=card.card_number,
                resident_id=keys.decrypt(person.resident_id_cipher),
                name=person.name,
                sex_code="1" if person.sex is Sex.MALE else "2",
                birth_on=person.birth_on.strftime("%Y%m%d"),
                issuing_region_code=card.issuing_region_code,
                generation=card.generation,
                reason=card.reason.value,
            )
        )
    return render_send_file(
        batch_no=batch.batch_no,
        bank_code=batch.bank_code,
        created_at=batch.created_at.astimezone(SHANGHAI),
        spec_version=policy.spec_version,
        lines=lines,
        encoding=batch.file_encoding,
    )


def render_batch_send_file(
    session: Session, keys: KeyRing, policy: CardPolicy, batch: ProductionBatch
) -> bytes:
    """The batch's send file again (for a download after the batch was made): the same bytes,
    checked against the SM3 recorded when the batch was created."""
    cards = sorted(queries.list_batch_cards(session, batch.id), key=lambda c: c.id)
    data = _render(session, keys, policy, batch, cards)
    if sm3_hex(data) != batch.send_file_sm3:
        raise ProductionFileRejected([f"批次 {batch.batch_no} 的送盘数据已变化，不能重新生成"])
    return data


def apply_production_return(
    session: Session, keys: KeyRing, *, batch_no: str, content: bytes, handling: Handling
) -> ProductionBatch:
    """Apply a return file: all of it or nothing. The same file again changes nothing; a
    different file for a returned batch is refused."""
    batch = queries.get_batch(session, batch_no)
    digest = sm3_hex(content)
    if batch.status is BatchStatus.RETURNED:
        if batch.return_file_sm3 == digest:
            return batch
        raise ProductionFileRejected([f"批次 {batch_no} 已回盘，不能再次回盘不同的文件"])
    parsed = parse_return_file(content)
    problems = list(parsed.problems)
    if parsed.batch_no and parsed.batch_no != batch.batch_no:
        problems.append(f"文件头批次号 {parsed.batch_no} 与批次 {batch.batch_no} 不符")
    cards = {card.card_number: card for card in queries.list_batch_cards(session, batch.id)}
    seen: set[str] = set()
    for line in parsed.lines:
        card = cards.get(line.card_number)
        if card is None:
            problems.append(f"第 {line.line_number} 行卡号 {line.card_number} 不属于该批次")
            continue
        if line.card_number in seen:
            problems.append(f"第 {line.line_number} 行卡号 {line.card_number} 重复")
        seen.add(line.card_number)
        if line.produced and not is_valid_card_uid(line.card_uid, card.issuing_region_code):
            problems.append(
                f"第 {line.line_number} 行卡识别码应为 32 位十六进制，以发卡地区代码和 D156 开头"
            )
    missing = sorted(set(cards) - seen)
    if missing:
        problems.append(f"回盘缺少 {len(missing)} 张卡，如 {missing[0]}")
    if problems:
        raise ProductionFileRejected(problems)
    for line in parsed.lines:
        card = cards[line.card_number]
        if line.produced:
            card.move_to(CardStatus.PRODUCED)
            card.card_uid = line.card_uid
            card.atr = line.atr
            card.box_location = line.box_location
            card.produced_at = handling.at
            link_bank_account(keys, card=card, account_number=line.bank_account)
            add_card_event(session, card, CardEventKind.PRODUCED, handling, batch_no=batch_no)
            batch.produced_count += 1
        else:
            card.move_to(CardStatus.PRODUCTION_FAILED)
            card.ended_at = handling.at
            stage = FAILURE_STAGES.get(line.failure_stage, line.failure_stage)
            card.end_reason = f"{stage}：{line.failure_reason}"[:200]
            add_card_event(
                session,
                card,
                CardEventKind.PRODUCTION_FAILED,
                handling,
                note=card.end_reason,
                stage=line.failure_stage,
            )
            batch.failed_count += 1
    batch.move_to(BatchStatus.RETURNED)
    batch.return_file_sm3 = digest
    batch.returned_at = handling.at
    return batch
