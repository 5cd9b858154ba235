"""The shipped access policy: deny by default, separation of the three administrators."""

from __future__ import annotations

from socialcard.access.policy import AUTHENTICATED, PUBLIC, load_policy
from socialcard.access.terminals import TERMINAL_OPERATIONS
from socialcard.http.context import HOLDER


def test_no_role_has_an_empty_permission_list() -> None:
    assert all(role.permissions for role in load_policy().roles.values())


def test_the_three_administrators_share_no_permission_and_hold_no_business_one() -> None:
    policy = load_policy()
    admins = [r for r in policy.roles.values() if r.is_administrator]
    assert {r.code for r in admins} == {"system_admin", "security_admin", "audit_admin"}
    for i, first in enumerate(admins):
        for second in admins[i + 1 :]:
            assert not first.permissions & second.permissions
    business = {"person.search", "person.view", "person.reveal", "import.run"}
    assert all(not r.permissions & business for r in admins)


def test_every_route_permission_is_held_by_a_role_a_terminal_or_a_holder_or_is_public() -> None:
    policy = load_policy()
    terminal_operations = set().union(*TERMINAL_OPERATIONS.values())
    for permission in set(policy.routes.values()):
        if permission.startswith("terminal:"):
            assert permission.removeprefix("terminal:") in terminal_operations
            assert not any(permission in role.permissions for role in policy.roles.values())
            continue
        assert permission in (PUBLIC, AUTHENTICATED, HOLDER) or permission in policy.all_permissions


def test_unknown_roles_and_routes_are_denied() -> None:
    policy = load_policy()
    assert policy.permission_for("GET", "/nowhere") is None
    assert not policy.allows(frozenset({"no_such_role"}), "person.view")
    assert not policy.allows(frozenset(), "person.view")
