"""RELIABILITY D1: every route × every role against the policy file, deny by default.

Routes come from the application's router (not the OpenAPI schema). A route missing from the
policy, a policy entry for a route that does not exist, or any unexpected allow fails the build.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from socialcard.access import services as access
from socialcard.access.models import Staff
from socialcard.access.policy import AUTHENTICATED, PUBLIC, load_policy
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.http.context import CSRF_HEADER, SESSION_COOKIE
from socialcard.http.routes import list_route_templates
from socialcard.server import create_app
from tests.insurance_support import employer
from tests.support import StaffAccount, make_staff

DUMMY_PARAMETERS = {
    "person_id": "1",
    "import_id": "1",
    "staff_id": "999",
    "item_no": "22",
    "code": "431124",
    "file_format": "csv",
    "path": "missing.css",
    "card_number": "A00000018",
    "batch_no": "ZK20261129ICBC001",
    "terminal_code": "T-MISSING",
    "action": "issue",
    "order_no": "JF2026112900001",
    "line_id": "1",
    "declaration_no": "SB2026113000001",
    "enrolment_id": "1",
    "employer_id": "1",
    "document_no": "QY20261130000001",
    "transfer_no": "ZY202611000001",
}


def app_routes(platform: Platform) -> set[tuple[str, str]]:
    return list_route_templates(create_app(platform))


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: DUMMY_PARAMETERS[m.group(1)], path)


def test_every_route_is_in_the_policy_and_every_policy_route_exists(platform: Platform) -> None:
    routes = app_routes(platform)
    policy_routes = set(load_policy().routes)
    assert routes - policy_routes == set(), "routes without a policy entry"
    assert policy_routes - routes == set(), "policy entries for routes that do not exist"


def test_every_route_for_every_role_matches_the_policy(platform: Platform) -> None:
    policy = load_policy()
    accounts: dict[str | None, StaffAccount | None] = {None: None}
    accounts.update(
        {role: make_staff(platform, f"u_{role}", roles=(role,)) for role in policy.roles}
    )
    agent = accounts["employer_agent"]
    assert agent is not None
    firm = employer(platform)
    with platform.session() as session, transaction(session):
        # An employer's agent holds its role only when attached to an employer.
        session.get_one(Staff, agent.staff_id).employer_id = firm
    client = TestClient(create_app(platform), follow_redirects=False)
    cells = unexpected_allows = unexpected_denies = 0
    failures: list[str] = []
    for method, path in sorted(app_routes(platform)):
        permission = policy.permission_for(method, path)
        assert permission is not None
        for role, account in accounts.items():
            roles: frozenset[str] = frozenset() if role is None else frozenset({role})
            expected = permission == PUBLIC or (
                role is not None
                and (permission == AUTHENTICATED or policy.allows(roles, permission))
            )
            headers: dict[str, str] = {}
            client.cookies.clear()
            if account is not None:
                if path.startswith("/api/"):
                    with platform.session() as session, transaction(session):
                        token = access.issue_api_token(
                            session,
                            staff_id=account.staff_id,
                            name="matrix",
                            at=platform.clock.now(),
                        )
                    headers["Authorization"] = f"Bearer {token}"
                else:
                    with platform.session() as session, transaction(session):
                        started = access.start_session(
                            session, staff_id=account.staff_id, origin=None, at=platform.clock.now()
                        )
                    client.cookies.set(SESSION_COOKIE, started.token)
                    headers[CSRF_HEADER] = started.csrf_token
            kwargs: dict[str, object] = {"headers": headers}
            if method in ("POST", "PUT") and path.startswith("/api/"):
                kwargs["json"] = {}
            response = client.request(method, concrete(path), **kwargs)  # type: ignore[arg-type]
            location = response.headers.get("location", "")
            # A refusal sends the browser to log in (/login?next=…); a logout's own redirect to
            # /login?notice=… is a success.
            to_login = response.status_code in (302, 303) and (
                location == "/login" or location.startswith("/login?next=")
            )
            # A cardholder route sends anyone without a holder session back to its door.
            to_door = (
                permission == "holder"
                and response.status_code == 303
                and location in ("/portal", "/kiosk")
            )
            allowed = response.status_code not in (401, 403) and not to_login and not to_door
            cells += 1
            if allowed and not expected:
                unexpected_allows += 1
                failures.append(f"ALLOW {method} {path} as {role}: {response.status_code}")
            elif expected and not allowed:
                unexpected_denies += 1
                failures.append(f"DENY {method} {path} as {role}: {response.status_code}")
    assert cells == len(app_routes(platform)) * len(accounts)
    assert (unexpected_allows, unexpected_denies) == (0, 0), "\n".join(failures)
