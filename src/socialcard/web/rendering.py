"""Page rendering: the Jinja2 environment, the values every page gets (who is logged in, the
CSRF token, the navigation) and the security headers of every HTML response."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from socialcard.errors import DomainError
from socialcard.http.context import RequestContext
from socialcard.kernel.clock import SHANGHAI
from socialcard.web.labels import department_name, department_names, role_names
from socialcard.web.navigation import Permissions, navigation_for

# Every asset comes from /static; forms post only here; nothing may frame the pages.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

# Fixed messages a redirect may name in ?notice=…; user input never travels this way.
NOTICES: Final[Mapping[str, str]] = {
    "staff_created": "已创建工作人员账户。角色由安全管理员在“角色授权”中授予。",
    "staff_disabled": "已停用该账户，其所有会话与接口令牌同时失效。",
    "role_granted": "已授予角色。该工作人员需重新登录后新权限生效。",
    "population_set": "已更正人口数，并记入审计日志。",
    "logged_out": "您已安全退出。",
    "password_changed": "密码已修改，本账户的所有会话已结束。请用新密码重新登录。",
}


def shanghai_time(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An aware timestamp as Yongzhou reads it (Asia/Shanghai)."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(pattern)


def iso_date(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def thousands(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


@cache
def environment() -> Environment:
    """The template environment (built on first use, never at import time)."""
    env = Environment(
        loader=PackageLoader("socialcard.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shanghai_time"] = shanghai_time
    env.filters["iso_date"] = iso_date
    env.filters["thousands"] = thousands
    env.filters["department"] = department_name
    env.filters["departments"] = department_names
    env.globals["notices"] = NOTICES
    return env


def context_of(request: Request) -> RequestContext | None:
    """The request's context as enforce_policy left it (absent when it never ran)."""
    ctx: RequestContext | None = getattr(request.state, "ctx", None)
    return ctx


def render_page(
    request: Request, template: str, *, status_code: int = 200, **values: object
) -> HTMLResponse:
    """Render a page with the shared layout values and the security headers."""
    ctx = context_of(request)
    principal = ctx.principal if ctx is not None else None
    permissions = Permissions(principal.roles if principal is not None else None)
    notice_key = request.query_params.get("notice", "")
    page: dict[str, object] = {
        "principal": principal,
        "principal_roles": role_names(principal.roles) if principal is not None else [],
        "csrf_token": (ctx.csrf_token if ctx is not None else None) or "",
        "may": permissions.may,
        "navigation": navigation_for(permissions, current_path=request.url.path),
        "current_path": request.url.path,
        "notice": NOTICES.get(notice_key),
        "request_id": ctx.request_id if ctx is not None else "",
    }
    page.update(values)
    body = environment().get_template(template).render(page)
    return HTMLResponse(body, status_code=status_code, headers=page_headers())


def page_headers() -> dict[str, str]:
    # Pages show personal data: no shared or browser cache may keep them.
    return {"Cache-Control": "no-store", "Content-Security-Policy": CONTENT_SECURITY_POLICY}


def refused_page(request: Request, error: DomainError, *, back: str) -> HTMLResponse:
    """The page for an operation a business rule refused: the message (and the problems it
    lists, line by line), a way back, and the error's HTTP status."""
    from socialcard.http.problems import status_for

    problems = error.details.get("problems")
    return render_page(
        request,
        "cards/refused.html",
        message=error.message,
        problems=problems if isinstance(problems, list) else [],
        back=back,
        status_code=status_for(error),
    )
