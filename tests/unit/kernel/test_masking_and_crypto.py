"""Masks per DOMAIN §8.3, SM4 field encryption and the HMAC-SM3 blind index."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcard.kernel.crypto import DecryptionFailed, KeyRing, sm3_hex
from socialcard.kernel.masking import (
    mask_bank_account,
    mask_card_number,
    mask_name,
    mask_phone,
    mask_resident_id,
)


def test_masks_follow_the_project_rules() -> None:
    assert mask_resident_id("43112419900517123X") == "431124********123X"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳修文") == "欧***"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_card_number("B00000019") == "*****0019"
    assert mask_bank_account("6217001234567890123") == "621700*********0123"


def test_sm3_matches_the_standard_test_vector() -> None:
    # GB/T 32905-2016 appendix A: SM3("abc").
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_encryption_round_trips_and_is_randomised() -> None:
    keys = KeyRing.generate()
    first, second = keys.encrypt("43112419900517123X"), keys.encrypt("43112419900517123X")
    assert first != second
    assert b"43112419900517123X" not in first
    assert keys.decrypt(first) == "43112419900517123X"


def test_tampered_or_foreign_ciphertexts_do_not_decrypt() -> None:
    keys = KeyRing.generate()
    blob = bytearray(keys.encrypt("13812345678"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        keys.decrypt(bytes(blob))
    with pytest.raises(DecryptionFailed):
        KeyRing.generate().decrypt(keys.encrypt("13812345678"))


def test_rotated_keys_still_read_old_values() -> None:
    old = KeyRing.generate()
    blob = old.encrypt("13812345678")
    rotated = KeyRing(
        data_keys={**old.data_keys, "k2": b"0123456789abcdef"},
        active_key_id="k2",
        index_key=old.index_key,
    )
    assert rotated.decrypt(blob) == "13812345678"
    assert rotated.encrypt("x").startswith(b"k2:")


@given(st.text(min_size=1, max_size=30))
def test_blind_index_is_deterministic_per_key_and_purpose(value: str) -> None:
    keys = KeyRing.generate()
    assert keys.blind_index("resident_id", value) == keys.blind_index("resident_id", value)
    assert keys.blind_index("resident_id", value) != keys.blind_index("phone", value)
    assert KeyRing.generate().blind_index("resident_id", value) != keys.blind_index(
        "resident_id", value
    )


def test_key_ring_survives_its_json_form() -> None:
    keys = KeyRing.generate()
    assert KeyRing.from_json_dict(keys.to_json_dict()) == keys


def test_blind_index_is_hmac_sm3_of_purpose_and_value() -> None:
    from socialcard.kernel.crypto import hmac_sm3

    keys = KeyRing.generate()
    expected = hmac_sm3(keys.index_key, b"resident_id\x1f43112419900517123X").hex()
    assert keys.blind_index("resident_id", "43112419900517123X") == expected
