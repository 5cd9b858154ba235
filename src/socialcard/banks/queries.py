"""Reads of the bank files: get_ raises, find_ may return None, list_ never loads contents."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from socialcard.banks.errors import BankFileNotFound
from socialcard.banks.models import BankFile, BankFileKind, BankFileStatus


def get_bank_file(session: Session, bank_file_id: int) -> BankFile:
    """The bank file with this id, content included."""
    bank_file = session.get(BankFile, bank_file_id)
    if bank_file is None:
        raise BankFileNotFound(str(bank_file_id))
    return bank_file


def find_bank_file(
    session: Session, bank_code: str, batch_no: str, kind: BankFileKind
) -> BankFile | None:
    return session.scalar(
        select(BankFile).where(
            BankFile.bank_code == bank_code, BankFile.batch_no == batch_no, BankFile.kind == kind
        )
    )


def find_send_file(session: Session, bank_code: str, batch_no: str) -> BankFile | None:
    """The stored send file of a batch, if the platform prepared one."""
    return find_bank_file(session, bank_code, batch_no, BankFileKind.SEND)


def list_bank_files(
    session: Session,
    *,
    bank_code: str | None = None,
    kind: BankFileKind | None = None,
    status: BankFileStatus | None = None,
    limit: int = 50,
) -> list[BankFile]:
    """The newest bank files first, without their contents (which can be large)."""
    query = select(BankFile).options(defer(BankFile.content, raiseload=True))
    if bank_code is not None:
        query = query.where(BankFile.bank_code == bank_code)
    if kind is not None:
        query = query.where(BankFile.kind == kind)
    if status is not None:
        query = query.where(BankFile.status == status)
    return list(session.scalars(query.order_by(BankFile.id.desc()).limit(limit)))


def list_prepared_file_ids(session: Session, *, bank_code: str | None = None) -> list[int]:
    """The outbox: send files not yet known to be at the bank, oldest first."""
    query = select(BankFile.id).where(
        BankFile.kind == BankFileKind.SEND, BankFile.status == BankFileStatus.PREPARED
    )
    if bank_code is not None:
        query = query.where(BankFile.bank_code == bank_code)
    return list(session.scalars(query.order_by(BankFile.id)))
