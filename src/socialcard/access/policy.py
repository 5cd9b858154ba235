"""The access policy loaded from policy.toml: roles, permissions, masking, route permissions.

Pure: it reads the shipped file once and answers questions; rights cannot be changed from the
database (RELIABILITY D1).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Final

PUBLIC: Final = "public"
AUTHENTICATED: Final = "authenticated"


class Masking(StrEnum):
    """How much of a person a role sees without an audited reveal."""

    STANDARD = "standard"  # name shown; ID number, phone and addresses masked
    FULL = "full"  # name masked too


@dataclass(frozen=True, slots=True)
class Role:
    code: str
    name: str
    is_administrator: bool
    masking: Masking
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Policy:
    roles: dict[str, Role]
    routes: dict[tuple[str, str], str]

    def permission_for(self, method: str, path_template: str) -> str | None:
        """The permission a route needs, or None when the route is not in the policy."""
        return self.routes.get((method.upper(), path_template))

    def allows(self, roles: frozenset[str], permission: str) -> bool:
        if permission in (PUBLIC, AUTHENTICATED):
            return True
        return any(permission in self.roles[r].permissions for r in roles if r in self.roles)

    def masking_for(self, roles: frozenset[str]) -> Masking:
        known = [self.roles[r] for r in roles if r in self.roles]
        if any(r.masking is Masking.STANDARD for r in known):
            return Masking.STANDARD
        return Masking.FULL

    def needs_second_factor(self, roles: frozenset[str]) -> bool:
        return any(self.roles[r].is_administrator for r in roles if r in self.roles)

    @property
    def all_permissions(self) -> frozenset[str]:
        return frozenset(p for role in self.roles.values() for p in role.permissions)


def parse_policy(text: str) -> Policy:
    data = tomllib.loads(text)
    roles = {
        code: Role(
            code=code,
            name=str(body["name"]),
            is_administrator=bool(body["administrator"]),
            masking=Masking(body["masking"]),
            permissions=frozenset(body["permissions"]),
        )
        for code, body in data["roles"].items()
    }
    routes: dict[tuple[str, str], str] = {}
    for key, permission in data["routes"].items():
        method, path = key.split(" ", 1)
        routes[(method, path)] = str(permission)
    for role in roles.values():
        if not role.permissions:
            raise ValueError(f"role {role.code} has no permissions")
    return Policy(roles=roles, routes=routes)


@cache
def load_policy() -> Policy:
    """The shipped policy (read once per process)."""
    text = resources.files("socialcard.access").joinpath("policy.toml").read_text("utf-8")
    return parse_policy(text)
