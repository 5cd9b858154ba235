"""id_blocks.IdBlockWriter: a slice's ID numbers side by side in list order, one cipher."""

from __future__ import annotations

import pytest

from socialcard.disbursement.id_blocks import BLANK, IdBlockWriter
from socialcard.kernel.crypto import KeyRing

A, B = "431124197001010013", "43112419800202002X"


def test_rows_are_placed_side_by_side_and_a_skipped_or_unread_row_is_blank() -> None:
    keys = KeyRing.generate()
    writer = IdBlockWriter(keys)
    writer.add(7, A)
    writer.add(8, None)
    writer.add(10, B)  # row 9 skipped
    first, count, cipher = writer.block()
    assert (first, count) == (7, 4)
    assert keys.decrypt(cipher) == A + BLANK + BLANK + B
    # The writer starts again with the next row it is given.
    writer.add(11, B)
    first, count, cipher = writer.block()
    assert (first, count, keys.decrypt(cipher)) == (11, 1, B)


def test_rows_out_of_order_ids_of_another_width_and_empty_blocks_are_refused() -> None:
    writer = IdBlockWriter(KeyRing.generate())
    writer.add(5, A)
    with pytest.raises(ValueError, match="list row 5 after row 5"):
        writer.add(5, B)
    with pytest.raises(ValueError, match="18 ASCII characters"):
        writer.add(6, A[:15])
    with pytest.raises(ValueError, match="18 ASCII characters"):
        writer.add(6, "４" + A[1:])
    writer.block()
    with pytest.raises(ValueError, match="one row at least"):
        writer.block()
