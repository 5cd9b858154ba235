"""The software card: a social security card chip in software, speaking the APDU subset of
DOMAIN §2.4–2.6 so that reading a card and "writing into the card" can run end to end without
hardware. Pure: no database, no network.

Files. The social security environment SSSE (AID `sx1.sh.社会保障`) holds the basic data, never
changed after personalisation: EF05 (01 card identification code, 05 issue date, 06 expiry,
07 card number) and EF06 (08 社会保障号码, 09 name, 0A sex, 0B ethnicity, 0D birth date). DF01 to
DF04 are the application areas (public, employment, social insurance, medical) whose EF files
hold records that terminals write.

Commands (ISO 7816-4 as the card specification uses them):
    00 A4 04 00 Lc AID        SELECT the SSSE by name
    00 A4 02 00 02 FID        SELECT a DF or an EF by file id (DF01…DF04, EF05…)
    00 B2 rec 00 Le           READ RECORD: TLV (tag = rec, length, value), 9000
    00 20 00 00 03 PIN(BCD)   VERIFY the PIN: 9000, 63Cx (x tries left), 6983 blocked
    00 84 00 00 08            GET CHALLENGE: 8 random bytes
    04 DC rec 00 Lc data MAC  UPDATE RECORD with secure messaging: MAC = first 4 bytes of the
                              SM4-CBC-MAC under the card key over challenge ‖ header ‖ data
Status words: 6A82 file not found, 6A83 record not found, 6982 not allowed (basic data,
unverified PIN), 6984 no challenge, 6988 bad MAC, 6D00 unknown instruction.

The card key is dispersed from the issuer master key with the card identification code
(card_key): the platform computes MACs for terminals, as an encryption machine (加密机) does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from socialcard.kernel.crypto import KeyRing, issuer_master_key, sm4_disperse

SSSE_AID: Final = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
BASIC_FILES: Final = ("EF05", "EF06")
AREAS: Final = ("DF01", "DF02", "DF03", "DF04")
OK: Final = b"\x90\x00"
PIN_TRIES: Final = 3


def card_key(keys: KeyRing, card_uid: str) -> bytes:
    """Two levels of dispersal: the issuer master key with the two halves of the card
    identification code's bytes."""
    raw = bytes.fromhex(card_uid)
    return sm4_disperse(sm4_disperse(issuer_master_key(keys), raw[:8]), raw[8:16])


def sm4_cbc_mac(key: bytes, message: bytes) -> bytes:
    """ISO 9797-1 method 2 padding (80 00 …), SM4-CBC with a zero IV; the last block."""
    padded = message + b"\x80"
    padded += b"\x00" * (-len(padded) % 16)
    encryptor = Cipher(algorithms.SM4(key), modes.CBC(b"\x00" * 16)).encryptor()
    return (encryptor.update(padded) + encryptor.finalize())[-16:]


def write_mac(key: bytes, challenge: bytes, header: bytes, data: bytes) -> bytes:
    """The 4-byte MAC of an UPDATE RECORD command."""
    return sm4_cbc_mac(key, challenge + header + data)[:4]


def bcd_date(on: date | None) -> bytes:
    return bytes.fromhex(on.strftime("%Y%m%d")) if on else b"\x00" * 4


def pin_bcd(pin: str) -> bytes:
    return bytes.fromhex(pin)


@dataclass
class SoftCard:
    """One personalised chip. `records[(df, ef)][record]` holds the bytes."""

    key: bytes
    pin: str
    records: dict[tuple[str, str], dict[int, bytes]] = field(default_factory=dict)
    atr: bytes = bytes.fromhex("3B6D000000815448")
    _tries: int = PIN_TRIES
    _verified: bool = False
    _df: str | None = None
    _ef: str | None = None
    _challenge: bytes | None = None

    @classmethod
    def personalise(
        cls,
        *,
        key: bytes,
        pin: str,
        card_uid: str,
        card_number: str,
        issued_on: date | None,
        expires_on: date | None,
        resident_id: str,
        name: str,
        sex_code: str,
        ethnicity_code: str,
        birth_on: date,
    ) -> SoftCard:
        """What the card factory writes (DOMAIN §2.4 lengths)."""
        card = cls(key=key, pin=pin)
        card.records[("SSSE", "EF05")] = {
            0x01: bytes.fromhex(card_uid),
            0x05: bcd_date(issued_on),
            0x06: bcd_date(expires_on),
            0x07: card_number.encode("ascii"),
        }
        card.records[("SSSE", "EF06")] = {
            0x08: resident_id.encode("ascii"),
            0x09: name.encode("gbk").ljust(30, b"\x00"),
            0x0A: sex_code.encode("ascii"),
            0x0B: ethnicity_code.encode("ascii")[:1].ljust(1, b"0"),
            0x0D: bcd_date(birth_on),
        }
        for area in AREAS:
            card.records[(area, "EF05")] = {}
            card.records[(area, "EF06")] = {}
            card.records[(area, "EF07")] = {}
        return card

    def transmit(self, apdu: bytes) -> bytes:
        """One command in, one response out (data ‖ SW1 SW2)."""
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1 = apdu[0], apdu[1], apdu[2]
        body = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4:
            return self._select(p1, body)
        if ins == 0xB2:
            return self._read(p1)
        if ins == 0x20:
            return self._verify(body)
        if ins == 0x84:
            self._challenge = os.urandom(8)
            return self._challenge + OK
        if ins == 0xDC and cla & 0x0F == 0x04:
            return self._update(apdu[:5], p1, body)
        return b"\x6d\x00"

    def _select(self, p1: int, body: bytes) -> bytes:
        if p1 == 0x04:
            if body != SSSE_AID:
                return b"\x6a\x82"
            self._df, self._ef = "SSSE", None
            return OK
        fid = body.hex().upper()
        if fid in AREAS:
            self._df, self._ef = fid, None
            return OK
        if self._df is not None and (self._df, fid) in self.records:
            self._ef = fid
            return OK
        return b"\x6a\x82"

    def _read(self, record: int) -> bytes:
        if self._df is None or self._ef is None:
            return b"\x69\x86"
        if self._df in AREAS and not self._verified:
            return b"\x69\x82"
        value = self.records[(self._df, self._ef)].get(record)
        if value is None:
            return b"\x6a\x83"
        return bytes([record, len(value)]) + value + OK

    def _verify(self, body: bytes) -> bytes:
        if self._tries == 0:
            return b"\x69\x83"
        if body == pin_bcd(self.pin):
            self._tries, self._verified = PIN_TRIES, True
            return OK
        self._tries -= 1
        return b"\x69\x83" if self._tries == 0 else bytes([0x63, 0xC0 | self._tries])

    def _update(self, header: bytes, record: int, body: bytes) -> bytes:
        if self._df not in AREAS or self._ef is None:
            return b"\x69\x82"  # the basic data never changes after personalisation
        if self._challenge is None:
            return b"\x69\x84"
        challenge, self._challenge = self._challenge, None
        data, mac = body[:-4], body[-4:]
        if write_mac(self.key, challenge, header, data) != mac:
            return b"\x69\x88"
        if len(data) < 2 or data[0] != record or data[1] != len(data) - 2:
            return b"\x6a\x80"
        self.records[(self._df, self._ef)][record] = data[2:]
        return OK


@dataclass
class CardReader:
    """A terminal's reader driving a (soft) card: the read flow of DOMAIN §2.5, PIN
    verification and a MAC-protected write whose MAC comes from the platform."""

    card: SoftCard
    log: list[tuple[bytes, bytes]] = field(default_factory=list)

    def send(self, apdu: bytes) -> bytes:
        response = self.card.transmit(apdu)
        self.log.append((apdu, response))
        return response

    def _ok(self, apdu: bytes) -> bytes:
        response = self.send(apdu)
        if response[-2:] != OK:
            raise CardCommandFailed(apdu, response[-2:])
        return response[:-2]

    def select_path(self, df: str, ef: str) -> None:
        self._ok(b"\x00\xa4\x04\x00" + bytes([len(SSSE_AID)]) + SSSE_AID)
        if df != "SSSE":
            self._ok(b"\x00\xa4\x02\x00\x02" + bytes.fromhex(df))
        self._ok(b"\x00\xa4\x02\x00\x02" + bytes.fromhex(ef))

    def read(self, df: str, ef: str, record: int) -> bytes:
        self.select_path(df, ef)
        tlv = self._ok(bytes([0x00, 0xB2, record, 0x00, 0x00]))
        return tlv[2 : 2 + tlv[1]]

    def read_basic(self) -> dict[str, str]:
        """What iReadCardBas returns: identification code, card number, ID number, name."""
        return {
            "card_uid": self.read("SSSE", "EF05", 0x01).hex().upper(),
            "card_number": self.read("SSSE", "EF05", 0x07).decode("ascii"),
            "resident_id": self.read("SSSE", "EF06", 0x08).decode("ascii"),
            "name": self.read("SSSE", "EF06", 0x09).rstrip(b"\x00").decode("gbk"),
        }

    def verify_pin(self, pin: str) -> bytes:
        """The status word of VERIFY (9000, 63Cx or 6983)."""
        return self.send(b"\x00\x20\x00\x00\x03" + pin_bcd(pin))[-2:]

    def begin_write(self, df: str, ef: str) -> bytes:
        """Select the file and ask the card for a challenge (sent to the platform for the MAC)."""
        self.select_path(df, ef)
        return self._ok(b"\x00\x84\x00\x00\x08")

    def write(self, record: int, value: bytes, mac: bytes) -> None:
        """UPDATE RECORD in the selected file with the MAC the platform computed."""
        data = bytes([record, len(value)]) + value
        self._ok(bytes([0x04, 0xDC, record, 0x00, len(data) + 4]) + data + mac)


class CardCommandFailed(Exception):
    def __init__(self, apdu: bytes, status: bytes) -> None:
        super().__init__(f"{apdu[:4].hex().upper()} → {status.hex().upper()}")
        self.status = status.hex().upper()
