"""Terminal admission (终端入网) and signed terminal requests (DOMAIN §2.6, RELIABILITY D5).

Keys: each admitted terminal holds K_T = SM4 dispersal of the issuer master key with the factor
SM3(terminal code ‖ "#" ‖ key version) (kernel.crypto.sm4_disperse). Rotating a terminal's key
bumps its version; the old key stops working at once.

Requests: a terminal sends X-Terminal-Id, X-Nonce (16–64 characters of [A-Za-z0-9_-]),
X-Timestamp (Unix seconds) and X-Signature = hex HMAC-SM3 under K_T of
    METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n hex SM3(body)
The platform refuses an unknown or not-admitted terminal, a timestamp more than
FRESHNESS_SECONDS away from its clock, a nonce the terminal used before, a wrong signature, and an
operation the terminal's kind may not do — each with its own code, each audited by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.orm import Session

from socialcard.access.models import (
    TERMINAL_TRANSITIONS,
    Terminal,
    TerminalKind,
    TerminalNonce,
    TerminalStatus,
)
from socialcard.errors import Conflict, InvalidField, NotAuthenticated, NotFound, PermissionDenied
from socialcard.kernel.crypto import (
    KeyRing,
    constant_time_equal,
    hmac_sm3,
    issuer_master_key,
    sm3_hex,
    sm4_disperse,
)

FRESHNESS_SECONDS: Final = 300
NONCE_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CODE_PATTERN: Final = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")

# What each kind of terminal may do. Operations are named in the policy file's routes as
# "terminal:<operation>".
TERMINAL_OPERATIONS: Final[dict[TerminalKind, frozenset[str]]] = {
    TerminalKind.COUNTER: frozenset(
        {"card.read", "card.use", "ecard.verify", "card.pin", "card.write", "insurance.query"}
    ),
    TerminalKind.KIOSK: frozenset(
        {"card.read", "card.use", "ecard.verify", "card.pin", "payments.query", "insurance.query"}
    ),
    TerminalKind.HOSPITAL: frozenset({"card.read", "card.use", "ecard.verify", "card.write"}),
    TerminalKind.PHARMACY: frozenset({"card.read", "card.use", "ecard.verify"}),
    TerminalKind.BANK: frozenset(
        {"card.read", "card.use", "card.bank_activation", "payments.query", "insurance.query"}
    ),
    TerminalKind.VILLAGE_AGENT: frozenset({"card.read", "card.use"}),
}

TERMINAL_KIND_LABELS: Final = {
    TerminalKind.COUNTER: "窗口终端",
    TerminalKind.KIOSK: "自助服务一体机",
    TerminalKind.HOSPITAL: "定点医院 HIS",
    TerminalKind.PHARMACY: "定点药店 POS",
    TerminalKind.BANK: "合作银行终端",
    TerminalKind.VILLAGE_AGENT: "村级代办点",
}


class TerminalNotFound(NotFound):
    code = "terminal_not_found"

    def __init__(self, terminal_code: str) -> None:
        super().__init__(f"没有终端 {terminal_code}。", terminal_code=terminal_code)


class TerminalAlreadyRegistered(Conflict):
    code = "terminal_already_registered"

    def __init__(self, terminal_code: str) -> None:
        super().__init__(f"终端 {terminal_code} 已登记。", terminal_code=terminal_code)


class TerminalTransitionNotAllowed(Conflict):
    code = "terminal_transition_not_allowed"

    def __init__(self, terminal_code: str, current: str, target: str) -> None:
        super().__init__(
            f"终端 {terminal_code} 当前为 {current}，不能变为 {target}。",
            terminal_code=terminal_code,
            current_status=current,
            target_status=target,
        )


class TerminalRequestRefused(NotAuthenticated):
    """A terminal request that fails authentication; `rule` says which check."""

    code = "terminal_request_refused"

    def __init__(self, rule: str, message: str, terminal_code: str | None) -> None:
        super().__init__(message, rule=rule, terminal_code=terminal_code)
        self.rule = rule
        self.terminal_code = terminal_code


class TerminalNotAdmitted(PermissionDenied):
    code = "terminal_not_admitted"

    def __init__(self, terminal_code: str, operation: str) -> None:
        super().__init__(
            f"终端 {terminal_code} 未获准办理该业务（{operation}）。",
            terminal_code=terminal_code,
            operation=operation,
        )


def terminal_key(keys: KeyRing, terminal_code: str, key_version: int) -> bytes:
    """K_T for a terminal and key version (see the module docstring)."""
    factor = bytes.fromhex(sm3_hex(f"{terminal_code}#{key_version}".encode()))
    return sm4_disperse(issuer_master_key(keys), factor)


def signing_text(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, sm3_hex(body)]).encode()


def sign_request(
    key: bytes, *, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """What a terminal (or the terminal simulator) puts in X-Signature."""
    return hmac_sm3(key, signing_text(method, path, timestamp, nonce, body)).hex()


def get_terminal(session: Session, terminal_code: str) -> Terminal:
    terminal = session.scalars(
        select(Terminal).where(Terminal.terminal_code == terminal_code)
    ).first()
    if terminal is None:
        raise TerminalNotFound(terminal_code)
    return terminal


def list_terminals(session: Session) -> list[Terminal]:
    return list(session.scalars(select(Terminal).order_by(Terminal.terminal_code)))


def register_terminal(
    session: Session,
    *,
    terminal_code: str,
    kind: TerminalKind,
    name: str,
    county_code: str,
    location: str,
    institution_id: int | None,
    at: datetime,
    bank_code: str | None = None,
) -> Terminal:
    code = terminal_code.strip().upper()
    if (kind is TerminalKind.BANK) != (bank_code is not None):
        raise InvalidField(
            "bank_code", "bank_terminals_only", "合作银行终端须填写所属银行，其他终端不填。"
        )
    if not CODE_PATTERN.match(code):
        raise InvalidField(
            "terminal_code", "pattern", "终端编号应为 4–40 位大写字母、数字或连字符。"
        )
    if session.scalars(select(Terminal.id).where(Terminal.terminal_code == code)).first():
        raise TerminalAlreadyRegistered(code)
    terminal = Terminal(
        terminal_code=code,
        kind=kind,
        name=name,
        institution_id=institution_id,
        bank_code=bank_code,
        county_code=county_code,
        location=location,
        status=TerminalStatus.REGISTERED,
        key_version=0,
        registered_at=at,
        changed_at=at,
    )
    session.add(terminal)
    session.flush()
    return terminal


def _move(terminal: Terminal, target: TerminalStatus, at: datetime) -> None:
    if target not in TERMINAL_TRANSITIONS[terminal.status]:
        raise TerminalTransitionNotAllowed(
            terminal.terminal_code, terminal.status.value, target.value
        )
    terminal.status = target
    terminal.changed_at = at


def admit_terminal(
    session: Session, keys: KeyRing, *, terminal_code: str, staff_id: int | None, at: datetime
) -> bytes:
    """入网: allow the terminal and give it a fresh key (returned once, to load into its secure
    module)."""
    terminal = get_terminal(session, terminal_code)
    _move(terminal, TerminalStatus.ADMITTED, at)
    terminal.key_version += 1
    terminal.admitted_at = at
    terminal.admitted_by = staff_id
    return terminal_key(keys, terminal.terminal_code, terminal.key_version)


def suspend_terminal(session: Session, *, terminal_code: str, at: datetime) -> Terminal:
    terminal = get_terminal(session, terminal_code)
    _move(terminal, TerminalStatus.SUSPENDED, at)
    return terminal


def revoke_terminal(session: Session, *, terminal_code: str, at: datetime) -> Terminal:
    terminal = get_terminal(session, terminal_code)
    _move(terminal, TerminalStatus.REVOKED, at)
    return terminal


@dataclass(frozen=True, slots=True)
class SignedRequest:
    terminal_code: str | None
    nonce: str | None
    timestamp: str | None
    signature: str | None
    method: str
    path: str
    body: bytes


# One statement whatever the outcome (SQLite and PostgreSQL both know ON CONFLICT and
# RETURNING), written once: SQLAlchemy compiles its dialect inserts again on every execution.
_RECORD_NONCE: Final = text(
    "INSERT INTO terminal_nonces (terminal_id, nonce, seen_at) "
    "VALUES (:terminal_id, :nonce, :seen_at) ON CONFLICT DO NOTHING RETURNING nonce"
).bindparams(bindparam("seen_at", type_=TerminalNonce.__table__.c.seen_at.type))


def authenticate_terminal(
    session: Session,
    keys: KeyRing,
    request: SignedRequest,
    *,
    operation: str,
    now: datetime,
) -> Terminal:
    """Check a signed terminal request (module docstring) and record its nonce in the caller's
    transaction. Raises TerminalRequestRefused or TerminalNotAdmitted."""
    code = (request.terminal_code or "").strip().upper()
    if not code or not request.nonce or not request.timestamp or not request.signature:
        raise TerminalRequestRefused("missing_headers", "缺少终端签名信息。", code or None)
    terminal = session.scalars(select(Terminal).where(Terminal.terminal_code == code)).first()
    if terminal is None or terminal.status is not TerminalStatus.ADMITTED:
        raise TerminalRequestRefused("not_admitted", "终端未入网或已停用。", code)
    if not NONCE_PATTERN.match(request.nonce):
        raise TerminalRequestRefused("bad_nonce", "随机数格式不正确。", code)
    try:
        sent_at = int(request.timestamp)
    except ValueError as error:
        raise TerminalRequestRefused("stale", "时间戳格式不正确。", code) from error
    if abs(now.timestamp() - sent_at) > FRESHNESS_SECONDS:
        raise TerminalRequestRefused("stale", "请求时间与平台时间相差过大，请校准终端时钟。", code)
    key = terminal_key(keys, terminal.terminal_code, terminal.key_version)
    expected = sign_request(
        key,
        method=request.method,
        path=request.path,
        timestamp=request.timestamp,
        nonce=request.nonce,
        body=request.body,
    )
    if not constant_time_equal(expected, request.signature.lower()):
        raise TerminalRequestRefused("signature", "请求签名不正确（报文可能被篡改）。", code)
    recorded = session.execute(
        _RECORD_NONCE, {"terminal_id": terminal.id, "nonce": request.nonce, "seen_at": now}
    ).first()
    if recorded is None:  # the nonce was already there: a replay
        raise TerminalRequestRefused("replayed", "重复的请求（随机数已使用）。", code)
    if operation not in TERMINAL_OPERATIONS[terminal.kind]:
        raise TerminalNotAdmitted(code, operation)
    return terminal


def purge_nonces(session: Session, *, now: datetime) -> int:
    """Forget nonces older than twice the freshness window (their requests are stale anyway)."""
    cutoff = now - timedelta(seconds=2 * FRESHNESS_SECONDS)
    result = session.execute(delete(TerminalNonce).where(TerminalNonce.seen_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
