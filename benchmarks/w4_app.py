"""The ASGI application W4 serves with uvicorn: the platform as `socialcard serve` composes it
(`create_app(build_platform(Settings()))`), as a factory so that uvicorn can start several
worker processes. Settings come from the SOCIALCARD_* environment the benchmark passes.

    SOCIALCARD_DATABASE_URL=... SOCIALCARD_DATA_DIR=... \\
        uvicorn --factory w4_app:create --app-dir benchmarks --workers 2
"""

from __future__ import annotations

from fastapi import FastAPI

from socialcard.bootstrap import build_platform
from socialcard.config import Settings
from socialcard.server import create_app


def create() -> FastAPI:
    return create_app(build_platform(Settings()))
