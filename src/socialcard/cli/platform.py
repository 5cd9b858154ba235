"""What every CLI command shares: opening the platform (migrated, reference data loaded),
closing its connection pools when the command ends, and printing domain errors."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from socialcard.access.audit import Actor, AuditEvent, append_audit
from socialcard.access.models import AuditResult
from socialcard.bootstrap import Platform, build_platform, ensure_reference_data, migrate
from socialcard.config import Settings
from socialcard.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")

out = Console()
err = Console(stderr=True)

_opened: list[Platform] = []


def open_platform() -> Platform:
    """The configured platform, without touching the database."""
    platform = build_platform(Settings())
    _opened.append(platform)
    return platform


def ready_platform() -> Platform:
    """The configured platform, migrated and with the shipped reference data."""
    platform = open_platform()
    migrate(platform.engine)
    ensure_reference_data(platform)
    return platform


def closing_platforms(command: Callable[P, R]) -> Callable[P, R]:
    """Dispose the connection pools a command opened when it ends, however it ends."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        finally:
            while _opened:
                _opened.pop().engine.dispose()

    return run


@contextmanager
def domain_errors() -> Iterator[None]:
    """Print `error[code]: message` on stderr and exit 1 for a domain error."""
    try:
        yield
    except DomainError as error:
        err.print(f"error[{error.code}]: {error.message}", markup=False)
        raise typer.Exit(1) from None


OPERATOR = Actor(staff_id=None, username="cli-operator", roles=("operator",))


def audit_cli(
    session: Session,
    platform: Platform,
    action: str,
    object_type: str,
    object_id: object,
    details: dict[str, object] | None = None,
) -> None:
    """One audit record for an operator's command (actor `cli-operator`, origin `cli`)."""
    append_audit(
        session,
        AuditEvent(
            actor=OPERATOR,
            action=action,
            result=AuditResult.SUCCESS,
            object_type=object_type,
            object_id=str(object_id),
            origin="cli",
            details=dict(details or {}),
        ),
        at=platform.clock.now(),
    )
