"""Access use cases: departments, staff accounts, roles, login, sessions and API tokens.

Services take a Session and never commit; the entry point owns the transaction. Tokens are
random 256-bit values; only their SM3 is stored.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialcard.access.errors import (
    AccountLocked,
    LoginFailed,
    RolesIncompatible,
    SelfGrantRefused,
    SessionExpired,
    StaffNotFound,
    UnknownDepartment,
    UnknownRole,
    UsernameTaken,
    WeakPassword,
)
from socialcard.access.models import ApiToken, Department, Staff, StaffRole, WebSession
from socialcard.access.policy import Masking, Policy
from socialcard.errors import InvalidField
from socialcard.kernel.crypto import KeyRing, constant_time_equal, sm3_hex

PASSWORD_LENGTH_MAX: Final = 200

# Shipped departments and the catalogue's responsible units (责任单位) each answers for.
DEPARTMENTS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    (
        "hrss",
        "永州市人力资源和社会保障局",
        (
            "市人社局",
            "市人社局及其社保经办机构",
            "市就业局",
            "市人才交流中心",
            "市职介中心",
            "市工伤处",
            "市职业技能鉴定中心",
            "市劳动能力鉴定委员会",
            "市劳动人事争议仲裁院",
            "市劳动监察支队",
            "市职建中心",
            "市人事考试院",
        ),
    ),
    ("healthcare_security", "永州市医疗保障局", ("市医保处",)),
    ("public_security", "永州市公安局", ()),
    ("finance", "永州市财政局", ("市财政局",)),
    ("civil_affairs", "永州市民政局", ("市民政局",)),
    ("health", "永州市卫生健康委员会", ("市卫计委",)),
    ("education", "永州市教育局", ("市教育局",)),
    ("agriculture", "永州市农业农村局", ("市农业委", "市农机局")),
    ("forestry", "永州市林业局", ("市林业局",)),
    ("resettlement", "永州市移民开发局", ("市移民局",)),
    ("leading_group", "永州市社会保障卡应用工作领导小组办公室", ()),
    ("data_center", "永州市社会保障卡服务中心", ()),
)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps a login for an unknown username as slow as for a known one;
    made on first use, not at import (an argon2 hash is a fifth of a second)."""
    return _hasher.hash("socialcard-timing-equaliser")


@dataclass(frozen=True, slots=True)
class PreparedPassword:
    """A password checked for strength and hashed (argon2id, its own salt) ahead of opening the
    account. Hashing releases the GIL: a caller opening many accounts prepares their passwords on
    several threads, then opens the accounts with them."""

    password_hash: str


def prepare_password(password: str) -> PreparedPassword:
    check_password_strength(password)
    return PreparedPassword(_hasher.hash(password))


@dataclass(frozen=True, slots=True)
class Principal:
    """A logged-in staff member as entry points see it."""

    staff_id: int
    username: str
    display_name: str
    roles: frozenset[str]
    department_code: str
    department_name: str
    scope_region_code: str
    masking: Masking
    responsible_units: frozenset[str] = frozenset()
    employer_id: int | None = None  # an employer's agent acts for this employer only

    @property
    def is_city_wide(self) -> bool:
        return self.scope_region_code == "431100"


def ensure_departments(session: Session) -> None:
    """Insert the shipped departments that are missing and keep their responsible units current
    (reference data: shipped with the catalogue version)."""
    existing = {d.code: d for d in session.scalars(select(Department))}
    for code, name, units in DEPARTMENTS:
        department = existing.get(code)
        if department is None:
            session.add(Department(code=code, name=name, responsible_units=list(units)))
        elif department.responsible_units != list(units):
            department.responsible_units = list(units)
    session.flush()


def check_password_strength(password: str) -> None:
    """At least 10 characters with letters and digits (等保 identity rules)."""
    if len(password) < 10:
        raise WeakPassword("min_length_10", "密码至少 10 位。")
    if len(password) > PASSWORD_LENGTH_MAX:
        raise WeakPassword("max_length_200", f"密码不能超过 {PASSWORD_LENGTH_MAX} 位。")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        raise WeakPassword("letters_and_digits", "密码须同时包含字母和数字。")


def create_staff(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str | PreparedPassword,
    department_code: str,
    scope_region_code: str,
    created_at: datetime,
    employer_id: int | None = None,
) -> Staff:
    """Open a staff account (without roles: roles are granted by the security administrator).
    `employer_id` makes it an employer's own agent (the caller checks the employer exists).
    `password` may come prepared (`prepare_password`) when many accounts are opened at once."""
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise InvalidField("username", "alphanumeric", "用户名只能由字母、数字、下划线或点组成。")
    if not display_name.strip():
        raise InvalidField("display_name", "required", "请填写姓名。")
    if not isinstance(password, PreparedPassword):
        check_password_strength(password)
    if session.scalars(select(Staff.id).where(Staff.username == username)).first() is not None:
        raise UsernameTaken(username)
    department = session.scalars(
        select(Department).where(Department.code == department_code)
    ).first()
    if department is None:
        raise UnknownDepartment(department_code)
    if isinstance(password, PreparedPassword):
        password_hash = password.password_hash
    else:
        password_hash = _hasher.hash(password)
    staff = Staff(
        username=username,
        display_name=display_name.strip(),
        password_hash=password_hash,
        department_id=department.id,
        scope_region_code=scope_region_code,
        employer_id=employer_id,
        is_disabled=False,
        failed_login_count=0,
        password_changed_at=created_at,
        created_at=created_at,
    )
    session.add(staff)
    session.flush()
    return staff


def get_staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffNotFound(staff_id)
    return staff


def get_staff_by_username(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise StaffNotFound(username)
    return staff


def list_roles_of(session: Session, staff_id: int) -> frozenset[str]:
    return frozenset(session.scalars(select(StaffRole.role).where(StaffRole.staff_id == staff_id)))


def disable_staff(session: Session, *, staff_id: int, at: datetime) -> Staff:
    """Disable an account and end all its sessions and tokens."""
    staff = get_staff(session, staff_id)
    staff.is_disabled = True
    _end_all_sessions(session, staff_id, at=at)
    session.execute(
        update(ApiToken)
        .where(ApiToken.staff_id == staff_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return staff


def grant_role(
    session: Session,
    policy: Policy,
    *,
    staff_id: int,
    role: str,
    granted_by: int | None,
    at: datetime,
) -> StaffRole:
    """Give a staff member a role from the policy; administrators hold exactly one role."""
    if role not in policy.roles:
        raise UnknownRole(role)
    if granted_by is not None and granted_by == staff_id:
        raise SelfGrantRefused()
    staff = get_staff(session, staff_id)
    held = list_roles_of(session, staff.id)
    if role in held:
        return session.scalars(
            select(StaffRole).where(StaffRole.staff_id == staff.id, StaffRole.role == role)
        ).one()
    for other in held:
        if policy.roles[other].is_administrator or policy.roles[role].is_administrator:
            raise RolesIncompatible(other, role)
    granted = StaffRole(staff_id=staff.id, role=role, granted_by=granted_by, granted_at=at)
    session.add(granted)
    # A privilege change ends the account's sessions so the new rights start with a new login.
    _end_all_sessions(session, staff.id, at=at)
    session.flush()
    return granted


def enrol_totp(session: Session, keys: KeyRing, *, staff_id: int) -> str:
    """Give the account a new TOTP secret (returned once, to show as a QR/otpauth link)."""
    staff = get_staff(session, staff_id)
    secret = pyotp.random_base32()
    staff.totp_secret_cipher = keys.encrypt(secret)
    return secret


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="永州社保卡平台")


EMPLOYER_AGENT: Final = "employer_agent"


def principal_of(session: Session, policy: Policy, staff: Staff) -> Principal:
    department = session.get(Department, staff.department_id)
    assert department is not None
    roles = list_roles_of(session, staff.id)
    if EMPLOYER_AGENT in roles and staff.employer_id is None:
        # An employer's agent not yet attached to an employer acts for nobody: without the
        # role, every insurance route refuses it instead of treating it as agency staff.
        roles = roles - {EMPLOYER_AGENT}
    return Principal(
        staff_id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        roles=roles,
        department_code=department.code,
        department_name=department.name,
        scope_region_code=staff.scope_region_code,
        masking=policy.masking_for(roles),
        responsible_units=frozenset(department.responsible_units or ()),
        employer_id=staff.employer_id,
    )


def authenticate(
    session: Session,
    policy: Policy,
    keys: KeyRing,
    *,
    username: str,
    password: str,
    one_time_code: str | None,
    at: datetime,
    failures_before_lockout: int,
    lockout_minutes: int,
) -> Staff:
    """Check password (and TOTP for administrators); count failures and lock after too many.

    The caller must commit even when this raises LoginFailed, so the failure count sticks.

    Raises:
        LoginFailed: wrong username, password or code (never says which).
        AccountLocked: too many recent failures.
    """
    # Locked while checked: concurrent guesses at one account each count (a plain read would
    # let them all write back the same failure count).
    staff = session.scalars(
        select(Staff)
        .where(Staff.username == username.strip())
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if staff is None or staff.is_disabled:
        _verify_quietly(_dummy_hash(), password)
        raise LoginFailed()
    if staff.locked_until is not None and staff.locked_until > at:
        raise AccountLocked(lockout_minutes)
    ok = _verify_quietly(staff.password_hash, password)
    if ok and policy.needs_second_factor(list_roles_of(session, staff.id)):
        ok = _totp_ok(keys, staff, one_time_code, at)
    if not ok:
        _count_failure(staff, at, failures_before_lockout, lockout_minutes)
        raise LoginFailed()
    staff.failed_login_count = 0
    staff.locked_until = None
    return staff


def _count_failure(
    staff: Staff, at: datetime, failures_before_lockout: int, lockout_minutes: int
) -> None:
    staff.failed_login_count += 1
    if staff.failed_login_count >= failures_before_lockout:
        staff.locked_until = at + timedelta(minutes=lockout_minutes)
        staff.failed_login_count = 0


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _totp_ok(keys: KeyRing, staff: Staff, code: str | None, at: datetime) -> bool:
    if staff.totp_secret_cipher is None or not code:
        return False
    secret = keys.decrypt(staff.totp_secret_cipher)
    return pyotp.TOTP(secret).verify(code.strip(), for_time=at, valid_window=1)


def change_password(
    session: Session,
    *,
    staff_id: int,
    current: str,
    new: str,
    at: datetime,
    failures_before_lockout: int,
    lockout_minutes: int,
) -> None:
    """A staff member changes their own password; every session of the account ends (ASVS
    3.3.3). A wrong current password counts as a failed login, as at the login form, so guesses
    from a session left open lock the account; the caller must commit even when this raises
    LoginFailed.

    Raises:
        AccountLocked: too many recent failures.
        LoginFailed: the current password is wrong.
        WeakPassword: the new one breaks the rules.
    """
    staff = session.get(Staff, staff_id, with_for_update=True, populate_existing=True)
    if staff is None:
        raise StaffNotFound(staff_id)
    if staff.locked_until is not None and staff.locked_until > at:
        raise AccountLocked(lockout_minutes)
    if not _verify_quietly(staff.password_hash, current):
        _count_failure(staff, at, failures_before_lockout, lockout_minutes)
        if staff.locked_until is not None:
            # Guessed from an open session: that session, and every other, ends with the lock.
            _end_all_sessions(session, staff.id, at=at)
        raise LoginFailed()
    check_password_strength(new)
    _set_password(session, staff, new, at)
    staff.failed_login_count = 0


def reset_password(session: Session, *, staff_id: int, new: str, at: datetime) -> Staff:
    """An operator sets a new password for an account whose holder forgot it (the caller
    audits it): the account's lock is lifted and every session ends."""
    staff = get_staff(session, staff_id)
    check_password_strength(new)
    _set_password(session, staff, new, at)
    staff.failed_login_count = 0
    staff.locked_until = None
    return staff


def _set_password(session: Session, staff: Staff, new: str, at: datetime) -> None:
    staff.password_hash = _hasher.hash(new)
    staff.password_changed_at = at
    _end_all_sessions(session, staff.id, at=at)


@dataclass(frozen=True, slots=True)
class StartedSession:
    token: str  # goes into the cookie; never stored
    csrf_token: str
    session_id: int


def start_session(
    session: Session, *, staff_id: int, origin: str | None, at: datetime
) -> StartedSession:
    """Open a web session with a fresh token (rotated at every login)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=sm3_hex(token.encode()),
        csrf_token=csrf,
        staff_id=staff_id,
        origin=origin,
        created_at=at,
        last_seen_at=at,
    )
    session.add(row)
    session.flush()
    return StartedSession(token=token, csrf_token=csrf, session_id=row.id)


def resume_session(
    session: Session, *, token: str, at: datetime, idle_minutes: int, absolute_hours: int
) -> WebSession:
    """Find the live session for a cookie token and touch it.

    Raises:
        SessionExpired: unknown, ended, idle too long or too old.
    """
    row = session.scalars(
        select(WebSession).where(WebSession.token_hash == sm3_hex(token.encode()))
    ).first()
    if row is None or row.ended_at is not None:
        raise SessionExpired()
    if at - row.last_seen_at > timedelta(minutes=idle_minutes) or at - row.created_at > timedelta(
        hours=absolute_hours
    ):
        row.ended_at = at
        raise SessionExpired()
    staff = session.get(Staff, row.staff_id)
    if staff is None or staff.is_disabled:
        row.ended_at = at
        raise SessionExpired()
    row.last_seen_at = at
    return row


def end_session(session: Session, *, session_id: int, at: datetime) -> None:
    row = session.get(WebSession, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = at


def _end_all_sessions(session: Session, staff_id: int, *, at: datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.staff_id == staff_id, WebSession.ended_at.is_(None))
        .values(ended_at=at)
    )


def issue_api_token(session: Session, *, staff_id: int, name: str, at: datetime) -> str:
    """Create a bearer token for a department system; the value is shown once."""
    get_staff(session, staff_id)
    token = "sc_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(token_hash=sm3_hex(token.encode()), name=name, staff_id=staff_id, created_at=at)
    )
    session.flush()
    return token


def resolve_api_token(session: Session, token: str) -> Staff:
    """The staff account behind a live bearer token.

    Raises:
        SessionExpired: unknown or revoked token, or disabled account.
    """
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == sm3_hex(token.encode()))
    ).first()
    if row is None or row.revoked_at is not None:
        raise SessionExpired()
    staff = session.get(Staff, row.staff_id)
    if staff is None or staff.is_disabled:
        raise SessionExpired()
    return staff


def list_staff(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).order_by(Staff.id)))


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))


def tokens_match(sent: str, expected: str) -> bool:
    """Compare a CSRF token in constant time."""
    return constant_time_equal(sent, expected)
