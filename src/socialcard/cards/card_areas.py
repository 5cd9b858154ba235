"""The on-card data areas (卡内数据区, DF01–DF04) as the platform keeps them, and the platform's
part in writing them: like an encryption machine (加密机), it computes the MAC a terminal needs to
write a record into the card, after checking the card is usable, and records what the card should
now hold; the terminal confirms the write. `personalise_soft_card` builds the software card the
card factory would have made, for the terminal simulator and the tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.cards import queries
from socialcard.cards.door import check_usable
from socialcard.cards.errors import CardTransitionNotAllowed
from socialcard.cards.models import Card, CardAreaRecord
from socialcard.cards.softcard import AREAS, SoftCard, card_key, write_mac
from socialcard.errors import InvalidField
from socialcard.kernel.crypto import KeyRing
from socialcard.kernel.resident_id import Sex
from socialcard.registry.queries import get_person, lock_person

AREA_FILES = ("EF05", "EF06", "EF07")
VALUE_BYTES_MAX = 200


def _check_target(area: str, file_id: str, record_no: int, value: bytes) -> None:
    if area not in AREAS:
        raise InvalidField("area", "writable_area", "只能写入应用数据区 DF01–DF04。")
    if file_id not in AREA_FILES:
        raise InvalidField("file_id", "known_file", "文件标识应为 EF05、EF06 或 EF07。")
    if not 1 <= record_no <= 0xFE:
        raise InvalidField("record_no", "range", "记录号应为 1–254。")
    if not 1 <= len(value) <= VALUE_BYTES_MAX:
        raise InvalidField("value", "length", f"记录内容应为 1–{VALUE_BYTES_MAX} 字节。")


def prepare_area_write(
    session: Session,
    keys: KeyRing,
    *,
    card_number: str,
    area: str,
    file_id: str,
    record_no: int,
    value: bytes,
    challenge: bytes,
    terminal_code: str | None,
    at: datetime,
) -> bytes:
    """The MAC for UPDATE RECORD of `value` into the card after the card's `challenge`; refused
    for a card that is not usable (reported, cancelled, not activated)."""
    _check_target(area, file_id, record_no, value)
    if len(challenge) != 8:
        raise InvalidField("challenge", "length", "随机数应为 8 字节。")
    card = queries.get_card(session, card_number)
    lock_person(session, card.person_id)
    session.refresh(card)
    check_usable(card)
    if card.card_uid is None:
        raise CardTransitionNotAllowed(card.card_number, card.status.value, "area_write")
    record = session.get(CardAreaRecord, (card.id, area, file_id, record_no))
    if record is None:
        record = CardAreaRecord(
            card_id=card.id, area=area, file_id=file_id, record_no=record_no, expected_value=""
        )
        session.add(record)
    record.expected_value = value.hex().upper()
    record.requested_at = at
    record.terminal_code = terminal_code
    header = bytes([0x04, 0xDC, record_no, 0x00, len(value) + 2 + 4])
    data = bytes([record_no, len(value)]) + value
    return write_mac(card_key(keys, card.card_uid), challenge, header, data)


def confirm_area_write(
    session: Session,
    *,
    card_number: str,
    area: str,
    file_id: str,
    record_no: int,
    terminal_code: str | None,
    at: datetime,
) -> CardAreaRecord:
    """The terminal wrote the record: the card now holds what the platform expected."""
    card = queries.get_card(session, card_number)
    record = session.get(CardAreaRecord, (card.id, area, file_id, record_no))
    if record is None:
        raise InvalidField("record_no", "prepared", "没有待确认的写卡记录。")
    record.written_value = record.expected_value
    record.written_at = at
    record.terminal_code = terminal_code
    return record


def list_area_records(session: Session, card_id: int) -> list[CardAreaRecord]:
    stmt = (
        select(CardAreaRecord)
        .where(CardAreaRecord.card_id == card_id)
        .order_by(CardAreaRecord.area, CardAreaRecord.file_id, CardAreaRecord.record_no)
    )
    return list(session.scalars(stmt))


def personalise_soft_card(session: Session, keys: KeyRing, card: Card, *, pin: str) -> SoftCard:
    """The chip the factory made for `card` (its identification code, number, dates and the
    holder's basic data), with the records the platform says were written into its areas."""
    if card.card_uid is None:
        raise CardTransitionNotAllowed(card.card_number, card.status.value, "produced")
    person = get_person(session, card.person_id)
    soft = SoftCard.personalise(
        key=card_key(keys, card.card_uid),
        pin=pin,
        card_uid=card.card_uid,
        card_number=card.card_number,
        issued_on=card.issued_on,
        expires_on=card.expires_on,
        resident_id=keys.decrypt(person.resident_id_cipher),
        name=person.name,
        sex_code="1" if person.sex is Sex.MALE else "2",
        ethnicity_code="1",
        birth_on=person.birth_on,
    )
    for record in list_area_records(session, card.id):
        if record.written_value:
            soft.records[(record.area, record.file_id)][record.record_no] = bytes.fromhex(
                record.written_value
            )
    return soft
