"""Every domain error code and every import rejection code is listed in docs/errors.md."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import socialcard
from socialcard.errors import DomainError
from socialcard.registry.household.rules import REASONS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_code_is_documented() -> None:
    for module in pkgutil.walk_packages(socialcard.__path__, "socialcard."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    text = DOCS.read_text(encoding="utf-8")
    codes = {DomainError.code} | {cls.code for cls in _subclasses(DomainError)} | set(REASONS)
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert missing == []
