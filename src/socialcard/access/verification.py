"""One-time codes to a resident's registered phone, and the SMS gateway port.

A resident who has no card yet proves who they are on the portal with the ID number, the name and
a code sent to the phone the household register holds. The code lives CODE_MINUTES, allows
ATTEMPTS_MAX tries, is used once, and is stored only as a keyed digest. The SMS gateway is a
port: the sandbox gateway (demo, tests, development) appends each message to a file the operator
can read (`var/sms-outbox.log`); a real SMS provider plugs in behind the same `send`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.models import VerificationCode
from socialcard.errors import NotAuthenticated
from socialcard.kernel.crypto import KeyRing, constant_time_equal

CODE_MINUTES: Final = 5
ATTEMPTS_MAX: Final = 5


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, *, at: datetime) -> None: ...


class SandboxSmsGateway:
    """Messages appended to a file (one line each) instead of sent."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, phone: str, text: str, *, at: datetime) -> None:
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as handle:
            handle.write(f"{at.isoformat(timespec='seconds')}\t{phone}\t{text}\n")


class CodeRefused(NotAuthenticated):
    code = "verification_code_refused"

    def __init__(self, *, wrong_try: bool = False) -> None:
        super().__init__("验证码不正确或已过期，请重新获取。")
        self.wrong_try = wrong_try


def _digest(keys: KeyRing, person_id: int, code: str) -> str:
    return keys.blind_index("verification_code", f"{person_id}:{code}")


def issue_code(
    session: Session,
    keys: KeyRing,
    gateway: SmsGateway,
    *,
    purpose: str,
    person_id: int,
    phone: str,
    at: datetime,
) -> int:
    """Send a fresh 6-digit code; returns the code's id (kept in the applicant's form)."""
    code = f"{secrets.randbelow(10**6):06d}"
    row = VerificationCode(
        purpose=purpose,
        person_id=person_id,
        code_digest=_digest(keys, person_id, code),
        created_at=at,
        expires_at=at + timedelta(minutes=CODE_MINUTES),
        attempts=0,
    )
    session.add(row)
    session.flush()
    gateway.send(
        phone,
        f"【永州社保卡】您的验证码为 {code}，{CODE_MINUTES} 分钟内有效。如非本人操作请忽略。",
        at=at,
    )
    return row.id


def check_code(
    session: Session, keys: KeyRing, *, code_id: int, purpose: str, code: str, at: datetime
) -> int:
    """The person the code was sent to; CodeRefused when wrong, expired, used or burnt. After a
    wrong try (`wrong_try`) the caller counts it with count_wrong_try in a transaction of its
    own (the refused one rolls back)."""
    row = session.scalars(
        select(VerificationCode).where(VerificationCode.id == code_id).with_for_update()
    ).first()
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or row.expires_at <= at
        or row.attempts >= ATTEMPTS_MAX
    ):
        raise CodeRefused()
    if not constant_time_equal(row.code_digest, _digest(keys, row.person_id, code.strip())):
        raise CodeRefused(wrong_try=True)
    row.used_at = at
    return row.person_id


def count_wrong_try(session: Session, *, code_id: int) -> None:
    row = session.get(VerificationCode, code_id)
    if row is not None:
        row.attempts += 1
