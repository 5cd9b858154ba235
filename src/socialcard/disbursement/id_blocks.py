"""A payee list's ID numbers, kept with its batch a slice of the list at a time (decision 0022).

A send file needs every line's ID number in the clear. Decrypting the holder's registry copy,
one SM4-GCM value per line, cost about 13 µs a line on the build machine, the largest part of
the platform's work in a city-wide run. The list's validation reads every ID number in the
clear anyway, so it keeps them: the 18-character IDs of one slice of the list (50,000 rows)
side by side and encrypted as one value. A send file decrypts the batch's blocks once and takes
row r's ID from its place in them. The blocks also keep the list's IDs as the department gave
them, with the batch they were paid by.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from socialcard.disbursement.models import (
    ID_WIDTH,
    DisbursementBatch,
    PayeeIdBlock,
    PaymentLine,
)
from socialcard.kernel.crypto import DecryptionFailed, KeyRing
from socialcard.registry.models import Person

# A row whose ID number could not be read (it is refused, and never sent).
BLANK: Final = " " * ID_WIDTH
# Rows per block when a batch validated before decision 0022 gets its blocks from the registry.
REGISTRY_BLOCK_ROWS: Final = 50_000

IdBlock = tuple[int, int, bytes]  # its first row of the list, its rows, the cipher


class IdBlockWriter:
    """Collects the ID numbers of consecutive rows of a list and encrypts them as one block."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys
        self._first = 0
        self._ids: list[str] = []

    def add(self, seq: int, value: str | None) -> None:
        """Row `seq`'s ID number (None: the row has none that could be read). Rows come in list
        order; a row skipped is blank."""
        if not self._ids:
            self._first = seq
        gap = seq - (self._first + len(self._ids))
        if gap < 0:
            raise ValueError(f"list row {seq} after row {self._first + len(self._ids) - 1}")
        if value is not None and (len(value) != ID_WIDTH or not value.isascii()):
            raise ValueError(f"list row {seq}: an ID number has {ID_WIDTH} ASCII characters")
        self._ids.extend([BLANK] * gap)
        self._ids.append(BLANK if value is None else value)

    def block(self) -> IdBlock:
        """The rows added since the last block, encrypted; the writer starts a new block."""
        if not self._ids:
            raise ValueError("an ID block holds one row at least")
        block = (self._first, len(self._ids), self._keys.encrypt("".join(self._ids)))
        self._ids = []
        return block


def store_id_block(session: Session, batch: DisbursementBatch, block: IdBlock) -> None:
    first_seq, row_count, cipher = block
    session.execute(
        insert(PayeeIdBlock).values(
            batch_id=batch.id, first_seq=first_seq, row_count=row_count, ids_cipher=cipher
        )
    )


def list_ids(session: Session, keys: KeyRing, batch: DisbursementBatch) -> str | None:
    """The batch's list ID numbers in the clear, side by side: row r's are the 18 characters
    from (r - 1) × 18, blank where the row had none. None when the batch has no blocks (it was
    validated before decision 0022: ensure_id_blocks writes them)."""
    parts: list[str] = []
    end = 1  # the row the next part starts at
    for first_seq, row_count, cipher in session.execute(
        select(PayeeIdBlock.first_seq, PayeeIdBlock.row_count, PayeeIdBlock.ids_cipher)
        .where(PayeeIdBlock.batch_id == batch.id)
        .order_by(PayeeIdBlock.first_seq)
    ):
        try:
            text = keys.decrypt(cipher)
        except DecryptionFailed as error:
            raise DecryptionFailed(
                f"批次 {batch.batch_no} 名单第 {first_seq}–{first_seq + row_count - 1} 行的"
                f"身份证号无法解密：{error}"
            ) from error
        if first_seq < end or len(text) != row_count * ID_WIDTH:
            raise DecryptionFailed(
                f"批次 {batch.batch_no} 名单第 {first_seq} 行起的身份证号块与其他块重叠或长度不符"
            )
        parts.append(BLANK * (first_seq - end))
        parts.append(text)
        end = first_seq + row_count
    return "".join(parts) if parts else None


def ensure_id_blocks(session: Session, keys: KeyRing, batch: DisbursementBatch) -> bool:
    """Give a batch validated before decision 0022 its blocks, from its holders' registry
    records (the IDs its lines were validated against); whether any were written. A batch with
    blocks is left alone, so its send files never change."""
    held = select(PayeeIdBlock.first_seq).where(PayeeIdBlock.batch_id == batch.id).limit(1)
    if session.scalar(held) is not None:
        return False
    writer = IdBlockWriter(keys)
    rows = 0
    for seq, cipher in session.execute(
        select(PaymentLine.seq, Person.resident_id_cipher)
        .join(Person, Person.id == PaymentLine.person_id)
        .where(PaymentLine.batch_id == batch.id)
        .order_by(PaymentLine.seq)
    ):
        writer.add(seq, keys.decrypt(cipher))
        rows += 1
        if rows % REGISTRY_BLOCK_ROWS == 0:
            store_id_block(session, batch, writer.block())
    if rows % REGISTRY_BLOCK_ROWS:
        store_id_block(session, batch, writer.block())
    return rows > 0
