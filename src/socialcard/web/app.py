"""Web router (stub until the pages land)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse

from socialcard.errors import DomainError
from socialcard.http.context import enforce_policy


def build_web_router() -> APIRouter:
    return APIRouter(dependencies=[Depends(enforce_policy)])


def mount_static(app: FastAPI) -> None:
    return None


def render_web_error(request: Request, error: DomainError) -> Response:
    return PlainTextResponse(error.message, status_code=400)


def render_web_validation_error(request: Request, error: RequestValidationError) -> Response:
    return PlainTextResponse("请求格式不正确", status_code=422)
