"""Login (password, plus the TOTP code for administrators), logout, and a staff member's own
password change."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from socialcard.access import services as access
from socialcard.access.audit import append_audit
from socialcard.access.errors import LoginFailed
from socialcard.access.models import AuditResult
from socialcard.access.policy import load_policy
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import DomainError, InvalidField, NotAuthenticated
from socialcard.http.context import SESSION_COOKIE, Context, DbSession, PlatformDep
from socialcard.web.forms import FormErrors, safe_local_path, see_other
from socialcard.web.rendering import render_page

router = APIRouter()

USERNAME_LENGTH_MAX = 64


@router.get("/login")
def login_form(
    request: Request, ctx: Context, next_path: Annotated[str, Query(alias="next")] = ""
) -> Response:
    """The login form; a visitor who is already logged in goes straight on."""
    target = safe_local_path(next_path)
    if ctx.principal is not None:
        return see_other(target)
    return render_page(request, "login.html", next=target, username="", error=None)


@router.post("/login")
def log_in(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    one_time_code: Annotated[str, Form(max_length=20)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """Check the credentials; on success open a session (fresh token) and set the cookie.

    A failure is committed together with the raised failure count, so lockout works.
    """
    target = safe_local_path(next_path)
    if not username.strip() or not password:
        # Nothing to check: not an attempt, so no failure is counted or audited.
        return render_page(
            request,
            "login.html",
            status_code=422,
            next=target,
            username=_shown_username(username),
            error="请输入用户名和密码。",
        )
    settings = platform.settings
    policy = load_policy()
    now = platform.clock.now()
    failure: NotAuthenticated | None = None
    with transaction(session):
        try:
            staff = access.authenticate(
                session,
                policy,
                platform.keys,
                username=username,
                password=password,
                one_time_code=one_time_code or None,
                at=now,
                failures_before_lockout=settings.login_failures_before_lockout,
                lockout_minutes=settings.lockout_minutes,
            )
        except NotAuthenticated as error:
            failure = error
            append_audit(
                session,
                ctx.event(
                    "auth.login",
                    AuditResult.FAILURE,
                    details={"code": error.code, "username": _shown_username(username)},
                ),
                at=now,
            )
        else:
            if ctx.web_session_id is not None:
                access.end_session(session, session_id=ctx.web_session_id, at=now)
            started = access.start_session(session, staff_id=staff.id, origin=ctx.origin, at=now)
            logged_in = dataclasses.replace(
                ctx, principal=access.principal_of(session, policy, staff)
            )
            append_audit(
                session,
                logged_in.event(
                    "auth.login", AuditResult.SUCCESS, object_type="staff", object_id=staff.id
                ),
                at=now,
            )
    if failure is not None:
        return render_page(
            request,
            "login.html",
            status_code=401,
            next=target,
            username=_shown_username(username),
            error=failure.message,
        )
    response = see_other(target)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
def log_out(ctx: Context, session: DbSession, platform: PlatformDep) -> Response:
    """End the session on the server and forget the cookie."""
    ctx.require_principal()
    with transaction(session):
        if ctx.web_session_id is not None:
            access.end_session(session, session_id=ctx.web_session_id, at=platform.clock.now())
        append_audit(
            session, ctx.event("auth.logout", AuditResult.SUCCESS), at=platform.clock.now()
        )
    return _to_login(platform, notice="logged_out")


@router.get("/account/password")
def password_form(request: Request, ctx: Context) -> Response:
    """Any logged-in staff member changes their own password here."""
    ctx.require_principal()
    return render_page(request, "account_password.html", errors=FormErrors())


@router.post("/account/password")
def change_password(
    request: Request,
    ctx: Context,
    session: DbSession,
    platform: PlatformDep,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",  # the rule (200) names the field
    confirm_password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Check the current password, set the new one and end every session of the account (this
    one too): the staff member logs in again with the new password. A wrong current password
    counts towards the login lockout and is audited as a failure; the password stays."""
    principal = ctx.require_principal()
    now = platform.clock.now()
    settings = platform.settings
    errors: FormErrors | None = None
    try:
        if not current_password:
            raise InvalidField("current_password", "required", "请输入当前密码。")
        if new_password != confirm_password:
            raise InvalidField("confirm_password", "same_as_new", "两次输入的新密码不一致。")
        if new_password == current_password:
            raise InvalidField("new_password", "differs_from_current", "新密码不能与当前密码相同。")
        with transaction(session):
            try:
                access.change_password(
                    session,
                    staff_id=principal.staff_id,
                    current=current_password,
                    new=new_password,
                    at=now,
                    failures_before_lockout=settings.login_failures_before_lockout,
                    lockout_minutes=settings.lockout_minutes,
                )
            except NotAuthenticated as error:
                # Committed with the raised failure count, so guesses lock the account.
                message = "当前密码不正确。" if isinstance(error, LoginFailed) else error.message
                errors = FormErrors(fields={"current_password": message}, status_code=401)
                result = AuditResult.FAILURE
                details: dict[str, object] = {"code": error.code}
            else:
                result, details = AuditResult.SUCCESS, {}
            append_audit(
                session,
                ctx.event(
                    "auth.password_changed",
                    result,
                    object_type="staff",
                    object_id=principal.staff_id,
                    details=details,
                ),
                at=now,
            )
    except DomainError as error:
        errors = FormErrors.of(error, aliases={"password": "new_password"})
    if errors is not None:
        return render_page(
            request, "account_password.html", status_code=errors.status_code, errors=errors
        )
    return _to_login(platform, notice="password_changed")


def _to_login(platform: Platform, *, notice: str) -> Response:
    """Back to the login form with a notice, the session cookie forgotten (the session itself
    has ended on the server)."""
    response = see_other(f"/login?notice={notice}")
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=platform.settings.secure_cookies,
    )
    return response


def _shown_username(username: str) -> str:
    return username.strip()[:USERNAME_LENGTH_MAX]
