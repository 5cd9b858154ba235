"""The per-request context and the one enforcement point of the access policy."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from socialcard.access import services as access
from socialcard.access.audit import ANONYMOUS, Actor, AuditEvent, append_audit
from socialcard.access.errors import PermissionMissing
from socialcard.access.holders import resume_holder_session
from socialcard.access.models import AuditResult, TerminalKind
from socialcard.access.policy import AUTHENTICATED, PUBLIC, Policy, load_policy
from socialcard.access.terminals import SignedRequest, authenticate_terminal
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import DomainError, NotAuthenticated, PermissionDenied

logger = logging.getLogger("socialcard.http")

SESSION_COOKIE = "sc_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TERMINAL_PREFIX = "terminal:"
HOLDER = "holder"  # a route for a signed-in cardholder (portal, kiosk)
HOLDER_COOKIE = "sc_holder"


class CsrfRejected(PermissionDenied):
    code = "csrf_rejected"

    def __init__(self) -> None:
        super().__init__("表单已失效（CSRF 校验失败），请刷新页面后重试。")


class RouteNotInPolicy(PermissionDenied):
    code = "route_not_in_policy"

    def __init__(self, method: str, path: str) -> None:
        super().__init__("该功能尚未在访问策略中登记，已拒绝。", method=method, path=path)


@dataclass(frozen=True, slots=True)
class TerminalIdentity:
    """An admitted terminal that signed the request."""

    terminal_code: str
    kind: TerminalKind
    county_code: str


@dataclass(frozen=True, slots=True)
class HolderIdentity:
    """A cardholder signed in on the portal or at a kiosk."""

    session_id: int
    person_id: int
    card_id: int
    channel: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who is asking, from where, under which request id."""

    principal: access.Principal | None
    request_id: str
    origin: str | None
    web_session_id: int | None = None
    csrf_token: str | None = None
    terminal: TerminalIdentity | None = None
    holder: HolderIdentity | None = None

    def require_holder(self) -> HolderIdentity:
        if self.holder is None:
            raise NotAuthenticated("请先插卡（或登录）并输入社保卡密码。")
        return self.holder

    def require_terminal(self) -> TerminalIdentity:
        if self.terminal is None:
            raise NotAuthenticated("该接口只接受已入网终端的签名请求。")
        return self.terminal

    @property
    def actor(self) -> Actor:
        p = self.principal
        if p is None:
            return ANONYMOUS
        return Actor(p.staff_id, p.username, tuple(sorted(p.roles)), p.department_code)

    def require_principal(self) -> access.Principal:
        if self.principal is None:
            raise NotAuthenticated("请先登录。")
        return self.principal

    def event(
        self,
        action: str,
        result: AuditResult,
        *,
        object_type: str | None = None,
        object_id: object = None,
        details: dict[str, object] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            actor=self.actor,
            action=action,
            result=result,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            origin=self.origin,
            request_id=self.request_id,
            details=dict(details or {}),
        )


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    """One session per request; the route commits through transaction()."""
    with platform.session() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def request_id_of(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = uuid.uuid4().hex
        request.state.request_id = rid
    return str(rid)


def origin_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def is_api_request(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def route_template(request: Request) -> str:
    """The matched route's path template, e.g. /api/v1/persons/{person_id}.

    Fails closed: if the template does not match the whole request path (a router included
    under an extra prefix), the raw path is returned, which no policy entry names.
    """
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    regex = getattr(route, "path_regex", None)
    if path is None or regex is None or regex.match(request.url.path) is None:
        return request.url.path
    return str(path)


async def enforce_policy(request: Request, platform: PlatformDep) -> RequestContext:
    """The single enforcement point: find the route's permission, identify the caller, check
    CSRF on cookie-authenticated unsafe requests, and allow or refuse.

    Identifying the caller reads (and for terminals writes) the database: that runs in a worker
    thread, never on the event loop. On the loop it would wait for a pooled connection that only
    the loop can give back (a request's session is closed after its answer is sent), and under
    as many requests at once as the pool holds the whole process would stall."""
    policy: Policy = load_policy()
    method, path = request.method, route_template(request)
    permission = policy.permission_for(method, path)
    request_id = request_id_of(request)
    origin = origin_of(request)
    if permission is None:
        logger.error("route %s %s is not in the access policy", method, path)
        ctx = RequestContext(None, request_id, origin)
        request.state.ctx = ctx
        raise RouteNotInPolicy(method, path)

    if permission.startswith(TERMINAL_PREFIX):
        claimed = (request.headers.get("x-terminal-id") or "?")[:40]
        # A refused terminal call is audited under the terminal it claimed to be.
        request.state.ctx = RequestContext(None, request_id, f"terminal:{claimed}")
        ctx = await _identify_terminal(
            request, platform, request_id, permission.removeprefix(TERMINAL_PREFIX)
        )
        request.state.ctx = ctx
        return ctx
    if permission == HOLDER:
        ctx = await run_in_threadpool(_identify_holder, request, platform, request_id, origin)
        request.state.ctx = ctx
        holder = ctx.require_holder()
        if method in UNSAFE_METHODS:
            await _check_csrf(request, replace(ctx, csrf_token=holder.csrf_token))
        return ctx
    ctx = await run_in_threadpool(_identify, request, platform, policy, request_id, origin)
    if ctx.principal is None:
        ctx = replace(ctx, holder=await run_in_threadpool(_find_holder, request, platform))
    request.state.ctx = ctx
    if permission == PUBLIC:
        return ctx
    principal = ctx.require_principal()
    if ctx.web_session_id is not None and method in UNSAFE_METHODS:
        await _check_csrf(request, ctx)
    if permission != AUTHENTICATED and not policy.allows(principal.roles, permission):
        raise PermissionMissing(permission)
    return ctx


def _find_holder(request: Request, platform: Platform) -> HolderIdentity | None:
    token = request.cookies.get(HOLDER_COOKIE)
    if not token:
        return None
    with platform.session() as session, transaction(session):
        try:
            row = resume_holder_session(session, token=token, at=platform.clock.now())
        except NotAuthenticated:
            return None
        return HolderIdentity(row.id, row.person_id, row.card_id, row.channel, row.csrf_token)


def _identify_holder(
    request: Request, platform: Platform, request_id: str, origin: str | None
) -> RequestContext:
    holder = _find_holder(request, platform)
    # A holder's actions are audited as coming from their door (portal, kiosk) and address.
    where = f"holder:{holder.channel}@{origin}" if holder is not None else origin
    return RequestContext(None, request_id, where, holder=holder)


async def _identify_terminal(
    request: Request, platform: Platform, request_id: str, operation: str
) -> RequestContext:
    """A terminal route: the caller is the terminal whose signature checks (access.terminals)."""
    body = await request.body()
    signed = SignedRequest(
        terminal_code=request.headers.get("x-terminal-id"),
        nonce=request.headers.get("x-nonce"),
        timestamp=request.headers.get("x-timestamp"),
        signature=request.headers.get("x-signature"),
        method=request.method,
        path=request.url.path,
        body=body,
    )

    def authenticate() -> TerminalIdentity:
        with platform.session() as session, transaction(session):
            terminal = authenticate_terminal(
                session, platform.keys, signed, operation=operation, now=platform.clock.now()
            )
            return TerminalIdentity(terminal.terminal_code, terminal.kind, terminal.county_code)

    identity = await run_in_threadpool(authenticate)
    return RequestContext(None, request_id, f"terminal:{identity.terminal_code}", terminal=identity)


def _identify(
    request: Request, platform: Platform, policy: Policy, request_id: str, origin: str | None
) -> RequestContext:
    settings = platform.settings
    with platform.session() as session, transaction(session):
        authorization = request.headers.get("authorization", "")
        try:
            if is_api_request(request) and authorization.lower().startswith("bearer "):
                staff = access.resolve_api_token(session, authorization[7:].strip())
                return RequestContext(
                    access.principal_of(session, policy, staff), request_id, origin
                )
            token = request.cookies.get(SESSION_COOKIE)
            if token:
                row = access.resume_session(
                    session,
                    token=token,
                    at=platform.clock.now(),
                    idle_minutes=settings.session_idle_minutes,
                    absolute_hours=settings.session_absolute_hours,
                )
                staff = access.get_staff(session, row.staff_id)
                return RequestContext(
                    access.principal_of(session, policy, staff),
                    request_id,
                    origin,
                    web_session_id=row.id,
                    csrf_token=row.csrf_token,
                )
        except NotAuthenticated:
            pass
    return RequestContext(None, request_id, origin)


async def _check_csrf(request: Request, ctx: RequestContext) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or ctx.csrf_token is None or not access.tokens_match(sent, ctx.csrf_token):
        raise CsrfRejected()


Context = Annotated[RequestContext, Depends(enforce_policy)]


def audit_refusal(platform: Platform, request: Request, error: DomainError) -> None:
    """Record a refused request in the audit log, in its own transaction (the request's own
    work, if any, was rolled back)."""
    ctx: RequestContext | None = getattr(request.state, "ctx", None)
    if ctx is None:
        ctx = RequestContext(None, request_id_of(request), origin_of(request))
    details: dict[str, object] = {"code": error.code, "route": route_template(request)}
    details.update({k: v for k, v in error.details.items() if isinstance(v, str | int)})
    event = ctx.event(
        "access.denied",
        AuditResult.DENIED,
        object_type=str(error.details.get("object_type") or "") or None,
        object_id=error.details.get("object_id"),
        details=details,
    )
    with platform.session() as session, transaction(session):
        append_audit(session, event, at=platform.clock.now())
