"""Electronic social security card QR tokens (电子社保卡码, DOMAIN §3).

A token is "YZ1" + Base32 (QR alphanumeric mode) of 32 bytes: a 16-byte block encrypted with SM4
under a key derived from the key ring — card id (8 bytes), issue time (4 bytes, Unix seconds) and
4 random bytes — followed by the first 16 bytes of an HMAC-SM3 over "YZ1" and the block. Nothing
readable about the holder is in it, and two codes of one card look unrelated. A code lives
`ecard_token_seconds` (default 60 s); a payment use consumes it (used_ecard_tokens).
"""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialcard.cards.errors import EcardTokenRefused
from socialcard.cards.models import Card, UsedEcardToken
from socialcard.cards.policy import CardPolicy
from socialcard.kernel.crypto import KeyRing, constant_time_equal, hmac_sm3

PREFIX = "YZ1"
CLOCK_SKEW_SECONDS = 5


def _keys(keys: KeyRing) -> tuple[bytes, bytes]:
    return (
        hmac_sm3(keys.index_key, b"ecard-token/encryption")[:16],
        hmac_sm3(keys.index_key, b"ecard-token/mac"),
    )


def _sm4(key: bytes, block: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.SM4(key), modes.ECB())  # one 16-byte block: a keyed permutation
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(block) + worker.finalize()


@dataclass(frozen=True, slots=True)
class EcardToken:
    token_id: str  # hex of the encrypted block: unique per code
    card_id: int
    issued_at: datetime
    expires_at: datetime


def sign_ecard_token(
    keys: KeyRing, *, card_id: int, at: datetime, seconds: int
) -> tuple[str, datetime]:
    """A fresh code for a card, and when it expires. Pure apart from the random bytes."""
    encryption_key, mac_key = _keys(keys)
    plain = struct.pack(">QI", card_id, int(at.timestamp())) + os.urandom(4)
    block = _sm4(encryption_key, plain, encrypt=True)
    mac = hmac_sm3(mac_key, PREFIX.encode() + block)[:16]
    token = PREFIX + base64.b32encode(block + mac).decode().rstrip("=")
    return token, at + timedelta(seconds=seconds)


def read_ecard_token(keys: KeyRing, token: str, *, at: datetime, seconds: int) -> EcardToken:
    """Check form, signature and age; raise EcardTokenRefused with the rule that failed."""
    text = token.strip().upper()
    if not text.startswith(PREFIX) or len(text) != len(PREFIX) + 52:
        raise EcardTokenRefused("malformed")
    try:
        raw = base64.b32decode(text[len(PREFIX) :] + "====")
    except ValueError as error:
        raise EcardTokenRefused("malformed") from error
    if base64.b32encode(raw).decode().rstrip("=") != text[len(PREFIX) :]:
        raise EcardTokenRefused("malformed")  # one code, one spelling
    block, mac = raw[:16], raw[16:]
    encryption_key, mac_key = _keys(keys)
    expected = hmac_sm3(mac_key, PREFIX.encode() + block)[:16]
    if not constant_time_equal(expected.hex(), mac.hex()):
        raise EcardTokenRefused("signature")
    card_id, issued = struct.unpack(">QI", _sm4(encryption_key, block, encrypt=False)[:12])
    issued_at = datetime.fromtimestamp(issued, UTC)
    expires_at = issued_at + timedelta(seconds=seconds)
    if at >= expires_at or issued_at > at + timedelta(seconds=CLOCK_SKEW_SECONDS):
        raise EcardTokenRefused("expired")
    return EcardToken(block.hex(), card_id, issued_at, expires_at)


def issue_ecard_token(
    keys: KeyRing, policy: CardPolicy, *, card: Card, at: datetime
) -> tuple[str, datetime]:
    """A QR code for the holder's usable card (the caller checked the card with the door's rules:
    the electronic card has the physical card's status)."""
    return sign_ecard_token(keys, card_id=card.id, at=at, seconds=policy.ecard_token_seconds)


def redeem_ecard_token(
    session: Session, keys: KeyRing, policy: CardPolicy, *, token: str, payment: bool, at: datetime
) -> EcardToken:
    """Read a presented code; a payment use consumes it (a second payment with the same code is
    refused, even when both arrive at once)."""
    read = read_ecard_token(keys, token, at=at, seconds=policy.ecard_token_seconds)
    if payment:
        try:
            with session.begin_nested():
                session.add(
                    UsedEcardToken(
                        token_id=read.token_id,
                        card_id=read.card_id,
                        used_at=at,
                        expires_at=read.expires_at,
                    )
                )
        except IntegrityError as error:
            raise EcardTokenRefused("used") from error
    return read
