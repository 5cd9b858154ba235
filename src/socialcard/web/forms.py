"""Form plumbing: domain errors shown next to the field they concern, safe redirect targets
and See-Other redirects after a successful post."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi.responses import RedirectResponse

from socialcard.errors import DomainError, InvalidField
from socialcard.http.context import RequestContext
from socialcard.http.problems import status_for
from socialcard.web.navigation import Permissions


@dataclass(frozen=True, slots=True)
class FormErrors:
    """Messages for a re-rendered form: per field, and one for the form as a whole."""

    fields: dict[str, str] = field(default_factory=dict)
    general: str | None = None
    status_code: int = 422

    @classmethod
    def of(cls, error: DomainError, *, aliases: Mapping[str, str] | None = None) -> FormErrors:
        """Place a domain error next to its field (`aliases` maps domain field names to form
        field names), or at the top of the form when it names no field."""
        name = error.field if isinstance(error, InvalidField) else None
        if name is None:
            detail = error.details.get("field")
            name = detail if isinstance(detail, str) else None
        if name is None and "username" in error.details:
            name = "username"
        status = status_for(error)
        if name is not None:
            name = (aliases or {}).get(name, name)
            return cls(fields={name: error.message}, status_code=status)
        return cls(general=error.message, status_code=status)

    @classmethod
    def single(cls, name: str, message: str) -> FormErrors:
        return cls(fields={name: message})


def see_other(path: str) -> RedirectResponse:
    """The redirect after a successful post (303: the browser follows with GET)."""
    return RedirectResponse(path, status_code=303)


def safe_local_path(candidate: str | None, *, default: str = "/") -> str:
    """`candidate` when it is a path on this site, else `default` (no open redirects)."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return default
    if "\\" in candidate or any(ord(c) < 0x20 or ord(c) == 0x7F for c in candidate):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    if parts.path in ("/login", "/logout"):
        return default
    return candidate


def permissions_of(ctx: RequestContext) -> Permissions:
    principal = ctx.principal
    return Permissions(principal.roles if principal is not None else None)
