"""The web pages as one router, the static files, and the web's rendering of domain and
validation errors (the server's exception handlers call these for non-API requests)."""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from socialcard.access.errors import OutOfScope
from socialcard.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied
from socialcard.http.context import HOLDER_COOKIE, SESSION_COOKIE, enforce_policy
from socialcard.http.problems import status_for
from socialcard.web.forms import safe_local_path, see_other
from socialcard.web.rendering import render_page
from socialcard.web.routes import (
    audit,
    auth,
    cards,
    catalog,
    dashboard,
    disbursement,
    holder_money,
    holders,
    home,
    imports,
    insurance_holder,
    insurance_staff,
    insurance_verify,
    ledger,
    payments,
    persons,
    regions,
    staff,
)

STATIC_DIRECTORY: Final = Path(__file__).with_name("static")


def build_web_router() -> APIRouter:
    """Every page behind the single policy enforcement point."""
    router = APIRouter(dependencies=[Depends(enforce_policy)], include_in_schema=False)
    for module in (
        auth,
        home,
        holders,
        holder_money,
        payments,
        insurance_holder,
        insurance_verify,
        persons,
        cards,
        imports,
        staff,
        audit,
        regions,
        catalog,
        dashboard,
        disbursement,
        ledger,
        insurance_staff,
    ):
        router.include_router(module.router)
    return router


def mount_static(app: FastAPI) -> None:
    """The one stylesheet and the small script, served by the package (no CDN)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static")


def render_web_error(request: Request, error: DomainError) -> Response:
    """A refusal as a page: to the login form when nobody is logged in, else a page in Chinese
    with the message (refusals were already audited by the server's handler)."""
    if isinstance(error, NotAuthenticated) and request.url.path.startswith(("/portal", "/kiosk")):
        door = "/kiosk" if request.url.path.startswith("/kiosk") else "/portal"
        response = see_other(door)
        response.delete_cookie(HOLDER_COOKIE, path="/")
        return response
    if isinstance(error, NotAuthenticated):
        target = "/login"
        if request.method == "GET":
            path = safe_local_path(request.url.path, default="")
            if path and path != "/":
                target = f"/login?next={quote(path, safe='/')}"
        response = see_other(target)
        if SESSION_COOKIE in request.cookies:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    status = status_for(error)
    message = error.message
    if isinstance(error, OutOfScope) and error.details.get("object_type") == "person":
        message = "该人员不在您的辖区范围内。"
    if isinstance(error, PermissionDenied):
        title = "无权访问"
    elif isinstance(error, NotFound):
        title = "未找到"
    else:
        title = error.title
    return render_page(
        request, "error.html", status_code=status, title=title, message=message, code=error.code
    )


def render_web_validation_error(request: Request, error: RequestValidationError) -> Response:
    """Malformed input as a page naming the fields (never echoing what was sent)."""
    locations = ("body", "query", "path")
    fields = sorted(
        {
            ".".join(str(part) for part in item.get("loc", ()) if part not in locations)
            for item in error.errors()
        }
        - {""}
    )
    message = "提交的内容格式不正确，请检查后重试。"
    if fields:
        message += "涉及字段：" + "、".join(fields) + "。"
    return render_page(
        request,
        "error.html",
        status_code=422,
        title="请求格式不正确",
        message=message,
        code="invalid_request",
    )
