"""Staff accounts: argon2 passwords, TOTP for administrators, throttling, 三员分立, sessions."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from socialcard.access import services as access
from socialcard.access.errors import (
    AccountLocked,
    LoginFailed,
    RolesIncompatible,
    SelfGrantRefused,
    SessionExpired,
    UnknownRole,
    WeakPassword,
)
from socialcard.access.models import Staff
from socialcard.access.policy import load_policy
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.kernel.clock import FixedClock
from tests.support import PASSWORD, make_staff


def login(platform: Platform, username: str, password: str, code: str | None = None) -> Staff:
    with platform.session() as session:
        try:
            return access.authenticate(
                session,
                load_policy(),
                platform.keys,
                username=username,
                password=password,
                one_time_code=code,
                at=platform.clock.now(),
                failures_before_lockout=5,
                lockout_minutes=15,
            )
        finally:
            session.commit()


def test_password_is_stored_as_argon2_and_checked(platform: Platform) -> None:
    make_staff(platform, "clerk1")
    with platform.session() as session:
        staff = access.get_staff_by_username(session, "clerk1")
        assert staff.password_hash.startswith("$argon2")
        assert PASSWORD not in staff.password_hash
    assert login(platform, "clerk1", PASSWORD).username == "clerk1"
    with pytest.raises(LoginFailed):
        login(platform, "clerk1", "wrong-password-1")
    with pytest.raises(LoginFailed):
        login(platform, "nobody", PASSWORD)


def test_weak_passwords_are_refused_with_the_rule(platform: Platform) -> None:
    with platform.session() as session, pytest.raises(WeakPassword) as caught:
        access.create_staff(
            session,
            username="x",
            display_name="x",
            password="short1",
            department_code="hrss",
            scope_region_code="431100",
            created_at=platform.clock.now(),
        )
    assert caught.value.field == "password"
    assert caught.value.rule == "min_length_10"


def test_a_prepared_password_opens_an_account_that_logs_in(platform: Platform) -> None:
    with pytest.raises(WeakPassword):
        access.prepare_password("letters-only-here")
    first, second = access.prepare_password(PASSWORD), access.prepare_password(PASSWORD)
    assert first.password_hash != second.password_hash  # each its own salt
    with platform.session() as session, transaction(session):
        access.create_staff(
            session,
            username="prepared",
            display_name="预先",
            password=first,
            department_code="hrss",
            scope_region_code="431100",
            created_at=platform.clock.now(),
        )
    assert login(platform, "prepared", PASSWORD).username == "prepared"
    with pytest.raises(LoginFailed):
        login(platform, "prepared", "wrong-password-1")


def test_five_failures_lock_the_account_for_fifteen_minutes(platform: Platform) -> None:
    make_staff(platform, "clerk1")
    for _ in range(5):
        with pytest.raises(LoginFailed):
            login(platform, "clerk1", "wrong-password-1")
    with pytest.raises(AccountLocked):
        login(platform, "clerk1", PASSWORD)
    assert isinstance(platform.clock, FixedClock)
    platform.clock.advance(timedelta(minutes=16))
    assert login(platform, "clerk1", PASSWORD).username == "clerk1"


def test_administrators_need_the_one_time_code(platform: Platform) -> None:
    admin = make_staff(platform, "sysadmin", roles=("system_admin",))
    assert admin.totp_secret is not None
    with pytest.raises(LoginFailed):
        login(platform, "sysadmin", PASSWORD)
    with pytest.raises(LoginFailed):
        login(platform, "sysadmin", PASSWORD, "000000")
    code = pyotp.TOTP(admin.totp_secret).at(platform.clock.now())
    assert login(platform, "sysadmin", PASSWORD, code).username == "sysadmin"


def test_administrator_roles_cannot_be_combined(platform: Platform) -> None:
    admin = make_staff(platform, "secadmin", roles=("security_admin",))
    clerk = make_staff(platform, "clerk1")
    policy = load_policy()
    with platform.session() as session:
        with pytest.raises(RolesIncompatible):
            access.grant_role(
                session,
                policy,
                staff_id=admin.staff_id,
                role="audit_admin",
                granted_by=None,
                at=platform.clock.now(),
            )
        with pytest.raises(RolesIncompatible):
            access.grant_role(
                session,
                policy,
                staff_id=clerk.staff_id,
                role="system_admin",
                granted_by=None,
                at=platform.clock.now(),
            )
        with pytest.raises(SelfGrantRefused):
            access.grant_role(
                session,
                policy,
                staff_id=admin.staff_id,
                role="clerk",
                granted_by=admin.staff_id,
                at=platform.clock.now(),
            )
        with pytest.raises(UnknownRole):
            access.grant_role(
                session,
                policy,
                staff_id=clerk.staff_id,
                role="root",
                granted_by=None,
                at=platform.clock.now(),
            )


def test_sessions_expire_when_idle_and_end_on_privilege_change(platform: Platform) -> None:
    clerk = make_staff(platform, "clerk1")
    with platform.session() as session, transaction(session):
        started = access.start_session(
            session, staff_id=clerk.staff_id, origin=None, at=platform.clock.now()
        )

    def resume() -> None:
        with platform.session() as session, transaction(session):
            access.resume_session(
                session,
                token=started.token,
                at=platform.clock.now(),
                idle_minutes=30,
                absolute_hours=8,
            )

    resume()
    with platform.session() as session, transaction(session):
        access.grant_role(
            session,
            load_policy(),
            staff_id=clerk.staff_id,
            role="registry_officer",
            granted_by=None,
            at=platform.clock.now(),
        )
    with pytest.raises(SessionExpired):
        resume()
    with platform.session() as session, transaction(session):
        again = access.start_session(
            session, staff_id=clerk.staff_id, origin=None, at=platform.clock.now()
        )
    assert isinstance(platform.clock, FixedClock)
    platform.clock.advance(timedelta(minutes=31))
    with platform.session() as session, pytest.raises(SessionExpired):
        access.resume_session(
            session, token=again.token, at=platform.clock.now(), idle_minutes=30, absolute_hours=8
        )


def test_disabling_an_account_revokes_its_tokens(platform: Platform) -> None:
    clerk = make_staff(platform, "clerk1")
    with platform.session() as session, transaction(session):
        token = access.issue_api_token(
            session, staff_id=clerk.staff_id, name="his", at=platform.clock.now()
        )
    with platform.session() as session, transaction(session):
        assert access.resolve_api_token(session, token).id == clerk.staff_id
        access.disable_staff(session, staff_id=clerk.staff_id, at=platform.clock.now())
    with platform.session() as session, pytest.raises(SessionExpired):
        access.resolve_api_token(session, token)
