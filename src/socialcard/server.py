"""The ASGI application: the API and the web pages in one process, composed here.

create_app(platform) is the only place the two entry points meet; uvicorn serves the result.
"""

from __future__ import annotations

import logging
import time
import uuid

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcard import __version__
from socialcard.access.terminals import TerminalRequestRefused
from socialcard.api.app import build_api_routers, problem_response, validation_problem
from socialcard.bootstrap import Platform
from socialcard.errors import DomainError, NotFound, PermissionDenied
from socialcard.http.context import audit_refusal, is_api_request, request_id_of, route_template
from socialcard.web.app import (
    build_web_router,
    mount_static,
    render_web_error,
    render_web_validation_error,
)

logger = logging.getLogger("socialcard.access_log")


class RequestIds:
    """Every HTTP request gets an id (the caller's X-Request-Id, or a new one) kept in
    request.state, sent back with the answer beside the browser-hardening headers, and one log
    line per request with the route template — never the raw path or query: no identifier reaches
    the log. A plain ASGI middleware: Starlette's BaseHTTPMiddleware runs every request through
    an extra task and stream, which cost a noticeable share of a short request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id")
        rid = given or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = rid
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            request = Request(scope)
            logger.info(
                "%s %s %s %.1fms rid=%s",
                request.method,
                route_template(request),
                status,
                (time.perf_counter() - started) * 1000,
                rid,
            )


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="永州市社会保障卡（市民卡）综合应用平台 API",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.platform = platform
    for router in build_api_routers():
        app.include_router(router)
    app.include_router(build_web_router())
    mount_static(app)

    app.add_middleware(RequestIds)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if isinstance(error, PermissionDenied | TerminalRequestRefused):
            await run_in_threadpool(audit_refusal, platform, request, error)  # off the loop
        if is_api_request(request):
            return problem_response(request, error)
        return render_web_error(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404 and not is_api_request(request):
            return render_web_error(request, NotFound("页面不存在。"))
        if error.status_code == 404:
            return problem_response(request, NotFound("No such resource."))
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if is_api_request(request):
            return validation_problem(request, error)
        return render_web_validation_error(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        rid = request_id_of(request)
        logger.error(
            "unhandled %s on %s rid=%s",
            type(error).__name__,
            route_template(request),
            rid,
            exc_info=error,
        )
        if is_api_request(request):
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": "内部错误",
                    "status": 500,
                    "detail": "服务器内部错误，请凭请求编号联系运维。",
                    "code": "internal_error",
                    "request_id": rid,
                },
                status_code=500,
                media_type="application/problem+json",
            )
        return PlainTextResponse(f"服务器内部错误。请求编号：{rid}", status_code=500)

    return app
