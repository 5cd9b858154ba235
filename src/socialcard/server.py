"""The ASGI application: the API and the web pages in one process, composed here.

create_app(platform) is the only place the two entry points meet; uvicorn serves the result.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

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

    @app.middleware("http")
    async def request_ids(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-Id"] = request.state.request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # The route template, never the raw path or query: no identifier reaches the log.
        logger.info(
            "%s %s %s %.1fms rid=%s",
            request.method,
            route_template(request),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            request.state.request_id,
        )
        return response

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
