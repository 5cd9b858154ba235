"""RELIABILITY A2 coverage: every unsafe card endpoint of the staff API refuses a call without an
Idempotency-Key (so no client can make an effect that cannot be safely retried), and with one it
replays instead of acting twice."""

from __future__ import annotations

import re

from socialcard.bootstrap import Platform
from socialcard.http.routes import list_route_templates
from socialcard.server import create_app
from tests.support import add_person, api_client, give_card, make_staff, resident_id_for

UPLOADS = {"POST /api/v1/cards/batches/{batch_no}/return-file"}  # a file, applied idempotently


def test_every_unsafe_card_endpoint_demands_a_key(platform: Platform) -> None:
    number = give_card(platform, add_person(platform, resident_id_for("431124", "19800101", 1)))
    staff = api_client(platform, make_staff(platform, "both", roles=("clerk", "registry_officer")))
    unsafe = sorted(
        path
        for method, path in list_route_templates(create_app(platform))
        if method == "POST" and path.startswith("/api/v1/cards") and f"POST {path}" not in UPLOADS
    )
    assert len(unsafe) >= 12
    for template in unsafe:
        path = re.sub(r"\{card_number\}", number, template)
        response = staff.post(path, json={"bank_code": "ICBC", "person_id": 1})
        assert response.status_code == 422, (template, response.text)
        assert response.json()["field"] == "Idempotency-Key", template
