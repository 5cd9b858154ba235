"""Social insurance through its API and its terminals, on SQLite and PostgreSQL: an employer's
agent enrols and declares for its own employer only, the agency records the transfer, a flexible
worker and a resident pay with card and PIN through the strict sandbox bank (one debit whatever
is retried), documents are issued and checked publicly, a bank terminal queries (item 29) and a
counter terminal writes the enrolment record into the card (item 26). Books proven after."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.cards import card_areas
from socialcard.cards import queries as card_queries
from socialcard.cards.softcard import CardReader
from socialcard.catalog.models import CardUse, OpeningStatus
from socialcard.db import transaction
from socialcard.insurance.catalogue import CATALOG_BINDINGS
from socialcard.ledger import queries as ledger_queries
from tests.e2e.test_cards_api import _terminal
from tests.insurance_support import employer
from tests.money_support import Holder, cardholders
from tests.support import (
    add_person,
    api_client,
    change_opening,
    give_card,
    make_staff,
    resident_id_for,
)

PIN = "246810"


@pytest.fixture
def bank(platform: Platform, tmp_path: Path) -> SandboxBank:
    sandbox = SandboxBank(tmp_path / "bank.sqlite3", strict=True)
    platform.bank = sandbox
    for binding in CATALOG_BINDINGS:
        change_opening(platform, binding.item_no, "431100", OpeningStatus.OPENED, date(2026, 1, 1))
    return sandbox


def _holders(platform: Platform, bank: SandboxBank, count: int) -> list[Holder]:
    holders = cardholders(platform, count)
    for h in holders:
        bank.open_account(h.bank_code, h.account, h.name, h.resident_id, activated=True)
        bank.deposit(h.bank_code, h.account, 1_000_000)
    return holders


def _agent(platform: Platform, employer_id: int) -> TestClient:
    account = make_staff(platform, f"agent{employer_id}", roles=("employer_agent",))
    with platform.session() as session, transaction(session):
        from socialcard.access.models import Staff

        session.get_one(Staff, account.staff_id).employer_id = employer_id
    return api_client(platform, account)


def _key(n: int) -> dict[str, str]:
    return {"Idempotency-Key": f"ins-{n:04d}"}


def test_an_employer_agent_enrols_and_declares_and_the_agency_records_the_transfer(
    platform: Platform, bank: SandboxBank
) -> None:
    firm, other = employer(platform), employer(platform, "永州凤凰园商贸有限公司")
    agent = _agent(platform, firm)
    officer = api_client(platform, make_staff(platform, "officer", roles=("insurance_officer",)))
    workers = _holders(platform, bank, 2)
    for n, w in enumerate(workers):
        body = {"resident_id": w.resident_id, "kind": "employee", "employer_id": firm,
                "started_on": "2026-10-01", "wage_minor": 600_000}  # fmt: skip
        answers = [agent.post("/api/v1/insurance/enrolments", json=body, headers=_key(n))
                   for _ in range(2)]  # fmt: skip
        assert answers[0].status_code == 201, answers[0].text
        assert answers[0].content == answers[1].content
        assert len(answers[0].json()["enrolments"]) == 5
    refused = agent.post(
        "/api/v1/insurance/enrolments",
        json={"person_id": workers[0].person_id, "kind": "employee", "employer_id": other,
              "started_on": "2026-10-01", "wage_minor": 600_000},
        headers=_key(10),
    )  # fmt: skip
    assert refused.status_code == 403
    assert agent.get(f"/api/v1/insurance/employers/{other}").status_code == 403

    declared = agent.post(
        "/api/v1/insurance/declarations",
        json={"employer_id": firm, "period": 202611,
              "wages": [{"person_id": workers[0].person_id, "wage_minor": 700_000}]},
        headers=_key(11),
    )  # fmt: skip
    assert declared.status_code == 201, declared.text
    number, total = declared.json()["declaration_no"], declared.json()["total_minor"]
    lines = agent.get(f"/api/v1/insurance/declarations/{number}").json()["lines"]
    assert sorted(line["base_minor"] for line in lines) == [600_000, 700_000]
    no_payment = agent.post(
        f"/api/v1/insurance/declarations/{number}/payment",
        json={"paid_minor": total, "bank_reference": "ICBC-1"},
        headers=_key(12),
    )
    assert no_payment.status_code == 403
    short = officer.post(
        f"/api/v1/insurance/declarations/{number}/payment",
        json={"paid_minor": total - 100, "bank_reference": "ICBC-1"},
        headers=_key(13),
    )
    assert short.status_code == 422
    assert short.json()["code"] == "contribution_payment_mismatch"
    paid = officer.post(
        f"/api/v1/insurance/declarations/{number}/payment",
        json={"paid_minor": total, "bank_reference": "ICBC-1"},
        headers=_key(14),
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"

    overview = officer.get(f"/api/v1/insurance/persons/{workers[0].person_id}").json()
    assert [m["period"] for m in overview["months"]] == [202611]
    assert overview["medical_account"]["balance_minor"] == 14_000  # 2 % of 7,000.00
    assert overview["pension_account"]["balance_minor"] == 56_000  # 8 %
    assert overview["medical_account"]["latest"][0]["kind"] == "account_credited"

    # The relation moves to Shenzhen with the card; its data file can be fetched again.
    moved = officer.post(
        f"/api/v1/insurance/persons/{workers[0].person_id}/transfers/out",
        json={"region_code": "440300", "region_name": "广东省深圳市",
              "card_number": workers[0].card_number},
        headers=_key(15),
    )  # fmt: skip
    assert moved.status_code == 201, moved.text
    again = f"/api/v1/insurance/transfers/{moved.json()['transfer_no']}/data-file"
    fetched = officer.get(again)
    assert fetched.status_code == 200
    assert fetched.content == base64.b64decode(moved.json()["data_base64"])
    assert agent.get(again).status_code == 403
    assert officer.get("/api/v1/insurance/transfers/ZY209901000001/data-file").status_code == 404
    with platform.session() as session:
        assert ledger_queries.verify_ledger(session).ok


def test_holders_pay_with_card_and_pin_once_and_get_their_documents(
    platform: Platform, bank: SandboxBank
) -> None:
    officer = api_client(platform, make_staff(platform, "officer", roles=("insurance_officer",)))
    flexible, parent = _holders(platform, bank, 2)
    enrolled = officer.post(
        "/api/v1/insurance/enrolments",
        json={"kind": "flexible", "started_on": "2026-10-01", "wage_minor": 420_000,
              "card_number": flexible.card_number},
        headers=_key(1),
    )  # fmt: skip
    assert enrolled.status_code == 201, enrolled.text
    declared = officer.post(
        "/api/v1/insurance/declarations/flexible",
        json={"card_number": flexible.card_number, "first_period": 202611, "last_period": 202612},
        headers=_key(20),
    )
    assert declared.status_code == 201, declared.text
    number = declared.json()["declaration_no"]
    pay = {"card_number": flexible.card_number, "pin": PIN}
    answers = [
        officer.post(f"/api/v1/insurance/declarations/{number}/card-payment", json=pay,
                     headers=_key(2))
        for _ in range(2)
    ]  # fmt: skip
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["status"] == "paid"
    assert answers[0].content == answers[1].content
    order_no = answers[0].json()["order"]["order_no"]
    assert bank.executions_of(f"{order_no}-D") == 1
    assert answers[0].json()["order"]["amount_minor"] == 2 * (84_000 + 33_600)

    officer.post(
        "/api/v1/insurance/enrolments",
        json={"kind": "resident", "started_on": "2026-01-01", "card_number": parent.card_number,
              "schemes": ["medical_resident"]},
        headers=_key(3),
    )  # fmt: skip
    resident = officer.post(
        "/api/v1/insurance/resident-contributions",
        json={"card_number": flexible.card_number, "pin": PIN, "scheme": "medical_resident",
              "year": 2027, "insured_person_id": parent.person_id},
        headers=_key(4),
    )  # fmt: skip
    assert resident.status_code == 200, resident.text
    assert resident.json()["status"] == "paid"
    assert resident.json()["payer_person_id"] == flexible.person_id

    issued = officer.post(
        f"/api/v1/insurance/persons/{flexible.person_id}/documents",
        json={"kind": "rights_statement", "year": 2026, "card_number": flexible.card_number},
        headers=_key(5),
    )
    assert issued.status_code == 201, issued.text
    pdf = officer.get(issued.json()["pdf"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    public = api_client(platform)
    checked = public.get(f"/api/v1/verify/{issued.json()['verification_code']}")
    assert checked.status_code == 200, checked.text
    assert checked.json()["figures"]["schemes"]["pension_employee"]["months_total"] == 2
    assert public.get("/api/v1/verify/ABCD-EFGH-JKLM").status_code == 404
    with platform.session() as session:
        assert ledger_queries.verify_ledger(session).ok
        uses = (
            session.execute(select(CardUse.item_no).where(CardUse.person_id == flexible.person_id))
            .scalars()
            .all()
        )
    assert {22, 23, 28, 30} <= set(uses)


def test_a_bank_terminal_queries_and_a_counter_terminal_writes_the_card(
    platform: Platform, bank: SandboxBank
) -> None:
    admin = api_client(platform, make_staff(platform, "sysadmin", roles=("system_admin",)))
    teller = _terminal(platform, admin, "BANK-431124-01", "bank", bank_code="ICBC")
    counter = _terminal(platform, admin, "CTR-431124-01", "counter")
    person_id = add_person(platform, resident_id_for("431124", "19800101", 7), name="周敦颐")
    holder = SimpleNamespace(person_id=person_id, card_number=give_card(platform, person_id))
    firm = employer(platform)
    officer = api_client(platform, make_staff(platform, "officer", roles=("insurance_officer",)))
    officer.post(
        "/api/v1/insurance/enrolments",
        json={"person_id": holder.person_id, "kind": "employee", "employer_id": firm,
              "started_on": "2026-11-01", "wage_minor": 500_000},
        headers=_key(1),
    )  # fmt: skip
    wrong = teller.post("/api/v1/terminal/insurance/query",
                        {"card_number": holder.card_number, "pin": "111111"})  # fmt: skip
    assert wrong.status_code in (401, 409, 422)
    answer = teller.post("/api/v1/terminal/insurance/query",
                         {"card_number": holder.card_number, "pin": PIN})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert {e["scheme"] for e in answer.json()["enrolments"]} >= {"pension_employee"}

    records = counter.post("/api/v1/terminal/insurance/card-records",
                           {"card_number": holder.card_number})  # fmt: skip
    assert records.status_code == 200, records.text
    wanted = records.json()
    assert {(r["area"], r["file_id"]) for r in wanted} == {
        ("DF03", "EF07"),
        ("DF03", "EF05"),
        ("DF04", "EF06"),
    }
    with platform.session() as session:
        card = card_queries.get_card(session, holder.card_number)
        soft = card_areas.personalise_soft_card(session, platform.keys, card, pin=PIN)
    reader = CardReader(soft)
    assert reader.verify_pin(PIN) == b"\x90\x00"
    for record in wanted:
        challenge = reader.begin_write(record["area"], record["file_id"])
        mac = counter.post(
            "/api/v1/terminal/cards/area-writes",
            {"card_number": holder.card_number, "area": record["area"],
             "file_id": record["file_id"], "record_no": 1, "value_hex": record["value_hex"],
             "challenge_hex": challenge.hex()},
        )  # fmt: skip
        assert mac.status_code == 200, mac.text
        reader.write(1, bytes.fromhex(record["value_hex"]), bytes.fromhex(mac.json()["mac_hex"]))
        confirmed = counter.post(
            "/api/v1/terminal/cards/area-writes/confirm",
            {"card_number": holder.card_number, "area": record["area"],
             "file_id": record["file_id"], "record_no": 1},
        )  # fmt: skip
        assert confirmed.status_code == 204
    pension = reader.read("DF03", "EF07", 1).decode("gbk")
    assert pension.startswith("pension_employee|1|20261101|431100|")


def test_an_employer_agent_not_attached_to_an_employer_acts_for_nobody(
    platform: Platform, bank: SandboxBank
) -> None:
    firm = employer(platform)
    loose = api_client(platform, make_staff(platform, "loose", roles=("employer_agent",)))
    assert loose.get(f"/api/v1/insurance/employers/{firm}").status_code == 403
    refused = loose.post(
        "/api/v1/insurance/declarations",
        json={"employer_id": firm, "period": 202611},
        headers=_key(1),
    )
    assert refused.status_code == 403


def test_a_county_officer_reads_only_the_county_s_insured(platform: Platform) -> None:
    """The API keeps the staff pages' county scope: an officer of 道县 reads 道县's insured only."""
    daoxian = api_client(
        platform, make_staff(platform, "dx_officer", roles=("insurance_officer",), scope="431124")
    )
    number = resident_id_for("431124", "19850312", 3)
    local = add_person(platform, number, name="道县人", county="431124")
    elsewhere = add_person(platform, resident_id_for("431103", "19850312", 4), county="431103")
    assert daoxian.get(f"/api/v1/insurance/persons/{local}").status_code == 200
    refused = daoxian.get(f"/api/v1/insurance/persons/{elsewhere}")
    assert refused.status_code == 403, refused.text
