"""Cards through the API: a whole card life, idempotency keys (RELIABILITY A2) and signed
terminal calls (D5), with a lost card refused at a kiosk, a hospital and the e-card at once."""

from __future__ import annotations

import threading
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from socialcard.access.audit import list_records
from socialcard.bootstrap import Platform
from socialcard.cards import queries, sandbox_factory
from socialcard.cards.ecard import issue_ecard_token
from socialcard.cards.models import Card
from socialcard.catalog.models import CardUse, OpeningStatus
from socialcard.db import transaction
from socialcard.demo.terminal_simulator import TerminalSimulator
from socialcard.server import create_app
from tests.support import (
    add_person,
    api_client,
    change_opening,
    give_card,
    make_staff,
    resident_id_for,
)

ITEM = 29


def _key(n: int) -> dict[str, str]:
    return {"Idempotency-Key": f"test-key-{n:04d}"}


def _terminal(
    platform: Platform, admin: TestClient, code: str, kind: str, **extra: object
) -> TerminalSimulator:
    registered = admin.post(
        "/api/v1/terminals",
        json={
            "terminal_code": code,
            "kind": kind,
            "name": f"测试{kind}",
            "county_code": "431124",
            "location": "道县政务服务中心",
            **extra,
        },
    )
    assert registered.status_code == 201, registered.text
    admitted = admin.post(f"/api/v1/terminals/{code}/admission")
    assert admitted.status_code == 200, admitted.text
    key = bytes.fromhex(admitted.json()["terminal_key"])
    return TerminalSimulator(
        api_client(platform), code, key, now=lambda: platform.clock.now().timestamp()
    )


def test_a_card_life_through_the_api(platform: Platform) -> None:
    clerk = api_client(platform, make_staff(platform, "clerk1", roles=("clerk",)))
    officer = api_client(platform, make_staff(platform, "officer", roles=("registry_officer",)))
    person_id = add_person(platform, resident_id_for("431124", "19800101", 1))

    missing = clerk.post(
        "/api/v1/cards/applications", json={"person_id": person_id, "bank_code": "ICBC"}
    )
    assert missing.status_code == 422
    assert missing.json()["field"] == "Idempotency-Key"

    body = {"person_id": person_id, "bank_code": "ICBC", "photo_collected": True}
    first = clerk.post("/api/v1/cards/applications", json=body, headers=_key(1))
    again = clerk.post("/api/v1/cards/applications", json=body, headers=_key(1))
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    other = clerk.post(
        "/api/v1/cards/applications", json={**body, "bank_code": "CCB"}, headers=_key(1)
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    number = first.json()["card_number"]
    assert first.json()["status"] == "data_collected"

    batch = officer.post("/api/v1/cards/batches", json={"bank_code": "ICBC"}, headers=_key(2))
    assert batch.status_code == 201, batch.text
    batch_no = batch.json()["batch_no"]
    send_file = officer.get(f"/api/v1/cards/batches/{batch_no}/send-file")
    assert send_file.status_code == 200
    assert "张三" in send_file.content.decode("gbk")
    returned = sandbox_factory.produce(send_file.content, at=platform.clock.now(), failure_rate=0)
    uploaded = officer.post(
        f"/api/v1/cards/batches/{batch_no}/return-file",
        files={"file": ("ZKHP.txt", returned, "text/plain")},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["produced_count"] == 1

    issued = clerk.post(f"/api/v1/cards/{number}/issue", headers=_key(3))
    assert issued.json()["status"] == "issued"
    weak = clerk.post(
        f"/api/v1/cards/{number}/activate", json={"new_pin": "123456"}, headers=_key(4)
    )
    assert weak.status_code == 422
    assert weak.json()["rule"] == "not_initial"
    active = clerk.post(
        f"/api/v1/cards/{number}/activate", json={"new_pin": "246810"}, headers=_key(5)
    )
    assert active.json()["status"] == "active"
    assert active.json()["bank_account_masked"].count("*") >= 6
    assert not {"pin", "pin_hash", "bank_account_cipher"} & set(active.json())

    reported = clerk.post(f"/api/v1/cards/{number}/report-formal", headers=_key(6))
    assert reported.json()["status_label"] == "正式挂失"
    reissued = clerk.post(f"/api/v1/cards/{number}/reissue", headers=_key(7))
    assert reissued.status_code == 200
    assert reissued.json()["card_number"] != number
    assert clerk.get(f"/api/v1/cards/{number}").json()["status"] == "replaced"
    events = clerk.get(f"/api/v1/cards/{number}/events").json()
    assert [e["kind"] for e in events][-3:] == ["activated", "loss_reported_formal", "replaced"]

    with platform.session() as session:
        actions = [r.action for r in list_records(session, limit=200)]
    for action in (
        "card.apply",
        "card.issue",
        "card.activate",
        "card.report_formal",
        "card.reissue",
    ):
        assert action in actions


def test_a_clerk_of_another_county_cannot_touch_the_card(platform: Platform) -> None:
    person_id = add_person(platform, resident_id_for("431124", "19800101", 2))
    number = give_card(platform, person_id)
    lingling = api_client(platform, make_staff(platform, "lingling", scope="431102"))
    refused = lingling.post(f"/api/v1/cards/{number}/report-temporary", headers=_key(8))
    assert refused.status_code == 403
    assert lingling.get(f"/api/v1/cards/{number}").status_code == 403


def test_twenty_parallel_requests_with_one_key_make_one_card(platform: Platform) -> None:
    account = make_staff(platform, "racer", roles=("clerk",))
    person_id = add_person(platform, resident_id_for("431124", "19800101", 3))
    body = {"person_id": person_id, "bank_code": "BOC"}
    responses: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    # One app, as in production: FastAPI builds a route's state on its first match, and that
    # build is not thread-safe under warnings-as-errors; a first sequential call builds it (the
    # missing key makes it a 422 that claims nothing).
    app = create_app(platform)
    token = api_client(platform, account).headers["Authorization"]
    clients = [TestClient(app, headers={"Authorization": token}) for _ in range(20)]
    assert clients[0].post("/api/v1/cards/applications", json=body).status_code == 422
    barrier = threading.Barrier(len(clients))

    def send(client: TestClient) -> None:
        barrier.wait()
        response = client.post("/api/v1/cards/applications", json=body, headers=_key(9))
        with lock:
            responses.append((response.status_code, response.content))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in responses} == {201}
    assert len({content for _, content in responses}) == 1
    with platform.session() as session:
        assert len(queries.list_cards_for_holder(session, person_id)) == 1


def test_a_lost_card_is_refused_everywhere_the_same_second(platform: Platform) -> None:
    change_opening(platform, ITEM, "431100", OpeningStatus.OPENED, date(2015, 9, 1))
    admin = api_client(platform, make_staff(platform, "sysadmin", roles=("system_admin",)))
    kiosk = _terminal(platform, admin, "K-431124-0001", "kiosk")
    hospital = _terminal(platform, admin, "H-431124-0001", "hospital")
    clerk = api_client(platform, make_staff(platform, "clerk2", roles=("clerk",)))
    number = give_card(platform, add_person(platform, resident_id_for("431124", "19800101", 4)))
    with platform.session() as session:
        card = queries.get_card(session, number)
        token, _ = issue_ecard_token(
            platform.keys, platform.card_policy, card=card, at=platform.clock.now()
        )

    use = {"item_no": ITEM, "credential": {"kind": "card", "card_number": number, "pin": "246810"}}
    accepted = kiosk.post("/api/v1/terminal/card-uses", use, idempotency_key="kiosk-use-0001")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["holder"]["name_masked"] == "张*"
    replay = kiosk.post("/api/v1/terminal/card-uses", use, idempotency_key="kiosk-use-0001")
    assert replay.json() == accepted.json()

    assert (
        clerk.post(f"/api/v1/cards/{number}/report-temporary", headers=_key(10)).status_code == 200
    )
    ecard = {"item_no": ITEM, "credential": {"kind": "ecard", "token": token}}
    for terminal, payload in ((kiosk, use), (hospital, use), (hospital, ecard)):
        refused = terminal.post("/api/v1/terminal/card-uses", payload)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "card_reported_lost"

    with platform.session() as session:
        uses = session.execute(select(CardUse.outcome, CardUse.terminal_code)).all()
        records = list_records(session, limit=200)
    assert sorted((o.value, t) for o, t in uses) == [
        ("refused", "H-431124-0001"),
        ("refused", "H-431124-0001"),
        ("refused", "K-431124-0001"),
        ("success", "K-431124-0001"),
    ]
    refusals = [r for r in records if r.action == "card.use_refused"]
    assert len(refusals) == 3
    assert {r.details["code"] for r in refusals} == {"card_reported_lost"}
    assert any(r.action == "card.report_temporary" for r in records)


def test_terminal_signatures_refuse_replays_tampering_and_stale_requests(
    platform: Platform,
) -> None:
    admin = api_client(platform, make_staff(platform, "sysadmin2", roles=("system_admin",)))
    pharmacy = _terminal(platform, admin, "P-431124-0001", "pharmacy")
    number = give_card(platform, add_person(platform, resident_id_for("431124", "19800101", 5)))
    path = "/api/v1/terminal/cards/read"
    body = f'{{"card_number": "{number}"}}'.encode()

    fine = pharmacy.post(path, {"card_number": number})
    assert fine.status_code == 200
    assert fine.json()["status"] == "active"
    assert number not in fine.text

    headers = pharmacy.signed_headers("POST", path, body)
    first = pharmacy.client.request("POST", path, content=body, headers=headers)
    replayed = pharmacy.client.request("POST", path, content=body, headers=headers)
    tampered_body = body.replace(number.encode(), b"A00000018")
    tampered = pharmacy.client.request(
        "POST", path, content=tampered_body, headers=pharmacy.signed_headers("POST", path, body)
    )
    stale_headers = pharmacy.signed_headers("POST", path, body)
    stale_headers["X-Timestamp"] = str(int(platform.clock.now().timestamp()) - 301)
    stale = pharmacy.client.request("POST", path, content=body, headers=stale_headers)
    unsigned = pharmacy.client.request("POST", path, content=body)
    wrong_operation = pharmacy.post(
        "/api/v1/terminal/cards/bank-activation", {"card_number": number}
    )

    assert first.status_code == 200
    for response, rule in (
        (replayed, "replayed"),
        (tampered, "signature"),
        (stale, "stale"),
        (unsigned, "missing_headers"),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["rule"] == rule
    assert wrong_operation.status_code == 403
    assert wrong_operation.json()["code"] == "terminal_not_admitted"

    truly_stale = TerminalSimulator(
        pharmacy.client,
        pharmacy.terminal_code,
        pharmacy.key,
        now=lambda: platform.clock.now().timestamp() - 400,
    ).post(path, {"card_number": number})
    assert truly_stale.json()["rule"] == "stale"

    assert admin.post("/api/v1/terminals/P-431124-0001/suspension").status_code == 200
    suspended = pharmacy.post(path, {"card_number": number})
    assert suspended.json()["rule"] == "not_admitted"
    with platform.session() as session:
        denied = [r for r in list_records(session, limit=200) if r.action == "access.denied"]
    assert len(denied) == 7  # replay, tamper, stale, unsigned, wrong kind, too old, suspended
    assert {r.origin for r in denied} == {"terminal:P-431124-0001", "terminal:?"}  # ? = unsigned
    assert {r.details["code"] for r in denied} == {
        "terminal_request_refused",
        "terminal_not_admitted",
    }


def test_a_bank_terminal_activates_the_bank_account(platform: Platform) -> None:
    admin = api_client(platform, make_staff(platform, "sysadmin3", roles=("system_admin",)))
    bank = _terminal(platform, admin, "ICBC-431124-01", "bank", bank_code="ICBC")
    number = give_card(platform, add_person(platform, resident_id_for("431124", "19800101", 6)))
    for _ in range(2):
        activated = bank.post("/api/v1/terminal/cards/bank-activation", {"card_number": number})
        assert activated.status_code == 200, activated.text
        assert activated.json()["bank_account_activated"] is True
    with platform.session() as session, transaction(session):
        card = session.scalars(select(Card).where(Card.card_number == number)).one()
        events = [e.kind.value for e in queries.list_card_events(session, card.id)]
    assert events.count("bank_account_activated") == 1
