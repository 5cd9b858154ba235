"""Access tables: departments, staff, roles held, sessions, API tokens, audit records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialcard.db import Base, JSONType, UTCDateTime, enum_type, statement_checked_key


class Department(Base):
    """A department (部门) or agency whose staff use the platform."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # The responsible units (责任单位) of the catalogue this department answers for, as the
    # plan's appendix names them; its staff may open those items.
    responsible_units: Mapped[list[str]] = mapped_column(JSONType, default=list)


class Staff(Base):
    """A staff account. Scope: the city (431100) or one county code."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    scope_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    # An employer's own agent (单位经办员) acts for that employer only; None for government staff.
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffRole(Base):
    """A role held by a staff member (roles and their permissions live in policy.toml)."""

    __tablename__ = "staff_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    role: Mapped[str] = mapped_column(String(40))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("staff_id", "role", name="uq_staff_roles_staff_role"),)


class WebSession(Base):
    """A logged-in browser. Only the SM3 of the cookie token is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    origin: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for a department system, acting as one staff account."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditResult(StrEnum):
    """How an audited action ended."""

    SUCCESS = "success"  # done
    DENIED = "denied"  # refused by the access policy or scope
    FAILURE = "failure"  # attempted and failed (wrong password, invalid input)


class AuditRecord(Base):
    """One link of the append-only audit chain. Never updated or deleted."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str | None] = mapped_column(String(40))
    actor_roles: Mapped[str | None] = mapped_column(String(200))
    department_code: Mapped[str | None] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[AuditResult] = mapped_column(enum_type(AuditResult, "audit_result", length=12))
    origin: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_records_actor", "actor_id", "id"),
        Index("ix_audit_records_object", "object_type", "object_id"),
    )


class AuditChainHead(Base):
    """The single row that serialises appends to the chain (locked FOR UPDATE on PostgreSQL)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class TerminalKind(StrEnum):
    """What a terminal is (终端类型); each kind may do only its operations (access.terminals)."""

    COUNTER = "counter"  # a counter workstation with a card reader and PIN pad
    KIOSK = "kiosk"  # self-service kiosk (自助服务一体机)
    HOSPITAL = "hospital"  # a designated hospital's HIS
    PHARMACY = "pharmacy"  # a designated pharmacy's POS
    BANK = "bank"  # a partner bank's ATM or counter system
    VILLAGE_AGENT = "village_agent"  # a village service point (村级代办点)


class TerminalStatus(StrEnum):
    """A terminal's admission (入网) status."""

    REGISTERED = "registered"  # known, not yet allowed to connect
    ADMITTED = "admitted"  # allowed; holds a key
    SUSPENDED = "suspended"  # refused until admitted again
    REVOKED = "revoked"  # removed for good; terminal


TERMINAL_TRANSITIONS: Final = {
    TerminalStatus.REGISTERED: frozenset({TerminalStatus.ADMITTED, TerminalStatus.REVOKED}),
    TerminalStatus.ADMITTED: frozenset({TerminalStatus.SUSPENDED, TerminalStatus.REVOKED}),
    TerminalStatus.SUSPENDED: frozenset({TerminalStatus.ADMITTED, TerminalStatus.REVOKED}),
    TerminalStatus.REVOKED: frozenset[TerminalStatus](),
}


class Terminal(Base):
    """A device that reads cards for the platform, and its key version."""

    __tablename__ = "terminals"

    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[TerminalKind] = mapped_column(enum_type(TerminalKind, "terminal_kind", length=20))
    name: Mapped[str] = mapped_column(String(100))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    bank_code: Mapped[str | None] = mapped_column(String(10))  # bank terminals: the partner bank
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    location: Mapped[str] = mapped_column(String(200))
    status: Mapped[TerminalStatus] = mapped_column(
        enum_type(TerminalStatus, "terminal_status", length=20)
    )
    key_version: Mapped[int] = mapped_column(Integer, default=0)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    admitted_by: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TerminalNonce(Base):
    """A nonce a terminal has used: a request carrying it again is a replay. Kept for the
    freshness window and then purged."""

    __tablename__ = "terminal_nonces"

    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class IdempotencyRecord(Base):
    """The stored outcome of an unsafe request made with an Idempotency-Key (RELIABILITY A2): the
    same key and body again gets the same response and no second effect."""

    __tablename__ = "idempotency_records"

    caller: Mapped[str] = mapped_column(
        String(60), primary_key=True
    )  # staff:<id> / terminal:<code>
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    route: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    # The response body exactly as first sent (a replay is byte-identical).
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class HolderSession(Base):
    """A cardholder signed in with card and PIN: on the resident portal (website, mobile) or at
    a kiosk, where it is short-lived (automatic sign-out)."""

    __tablename__ = "holder_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    channel: Mapped[str] = mapped_column(String(10))  # portal or kiosk
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VerificationCode(Base):
    """A one-time code sent to a resident's registered phone (portal application). Only its
    keyed digest is kept; it expires, and a few wrong tries burn it."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HolderMessage(Base):
    """A message to a cardholder (a payment received, a payment failed): kept as a log that the
    portal and the kiosk show, and delivered by SMS through the notification port when the
    holder has a phone number on record."""

    __tablename__ = "holder_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # Checked per statement on PostgreSQL: a return file tells a million holders at once.
    person_id: Mapped[int] = mapped_column(statement_checked_key("persons.id"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivery: Mapped[str | None] = mapped_column(String(20))  # sms | no_phone

    __table_args__ = (
        Index("ix_holder_messages_person", "person_id", "id"),
        Index("ix_holder_messages_undelivered", "delivered_at", "id"),
    )
