"""Region errors."""

from __future__ import annotations

from socialcard.errors import NotFound


class RegionNotFound(NotFound):
    code = "region_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"没有代码为 {code} 的行政区划。", region_code=code)
