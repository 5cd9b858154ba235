"""Payments through their doors: the API with its idempotency contract (RELIABILITY A2), the
counter page, the portal's and the kiosk's "我的缴费", and the CLI that settles lost answers.
The bank is the strict sandbox, so every execution is counted; the books are proven after."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from socialcard.banks.faults import FaultPlan
from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.catalog.models import OpeningStatus
from socialcard.cli.main import app
from socialcard.ledger import queries as ledger_queries
from socialcard.server import create_app
from tests.e2e.test_web_pages import csrf_token, log_in
from tests.money_support import Holder, cardholders
from tests.support import api_client, change_opening, make_staff

PIN = "246810"  # the PIN money_support gives every card
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ORDER_NO = re.compile(r"JF\d{13}")


@pytest.fixture
def bank(platform: Platform, tmp_path: Path) -> SandboxBank:
    """The platform's gateway replaced by a strict sandbox bank; items 21/93/94/104 opened."""
    sandbox = SandboxBank(tmp_path / "bank.sqlite3", strict=True)
    platform.bank = sandbox
    for item_no in (21, 93, 94, 104):
        change_opening(platform, item_no, "431100", OpeningStatus.OPENED, date(2026, 1, 1))
    return sandbox


def _holder(platform: Platform, bank: SandboxBank, *, deposit: int = 100_000) -> Holder:
    holder = cardholders(platform, 1)[0]
    bank.open_account(
        holder.bank_code, holder.account, holder.name, holder.resident_id, activated=True
    )
    bank.deposit(holder.bank_code, holder.account, deposit)
    return holder


def _books_balance(platform: Platform) -> None:
    with platform.session() as session:
        report = ledger_queries.verify_ledger(session)
    assert report.ok, report.problems


def test_the_api_takes_a_fee_once_and_replays_every_retry(
    platform: Platform, bank: SandboxBank
) -> None:
    holder = _holder(platform, bank)
    clerk = api_client(platform, make_staff(platform, "clerk", roles=("clerk",)))
    body = {"person_id": holder.person_id, "schedule_code": "personnel_exam", "reference": "Z1"}

    created = [
        clerk.post("/api/v1/payments/orders", json=body, headers={"Idempotency-Key": "order-0001"})
        for _ in range(3)
    ]
    assert created[0].status_code == 201, created[0].text
    assert len({r.content for r in created}) == 1  # byte-identical replays
    order_no = created[0].json()["order_no"]
    other = clerk.post(
        "/api/v1/payments/orders",
        json={**body, "reference": "Z2"},
        headers={"Idempotency-Key": "order-0001"},
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    missing = clerk.post("/api/v1/payments/orders", json=body)
    assert missing.status_code == 422
    assert missing.json()["field"] == "Idempotency-Key"

    pay = {"card_number": holder.card_number, "pin": PIN}
    paid = [
        clerk.post(
            f"/api/v1/payments/orders/{order_no}/pay",
            json=pay,
            headers={"Idempotency-Key": "pay-0001"},
        )
        for _ in range(3)
    ]
    assert paid[0].status_code == 200, paid[0].text
    assert paid[0].json()["status"] == "paid"
    assert len({r.content for r in paid}) == 1
    changed = clerk.post(
        f"/api/v1/payments/orders/{order_no}/pay",
        json={**pay, "pin": "135790"},
        headers={"Idempotency-Key": "pay-0001"},
    )
    assert changed.status_code == 409
    # Another key for the same order: the order is paid, the bank is not called again.
    again = clerk.post(
        f"/api/v1/payments/orders/{order_no}/pay", json=pay, headers={"Idempotency-Key": "pay-0002"}
    )
    assert again.json()["status"] == "paid"
    assert bank.executions_of(f"{order_no}-D") == 1

    shown = clerk.get(f"/api/v1/payments/orders/{order_no}").json()
    assert shown["status"] == "paid"
    listed = clerk.get("/api/v1/payments/orders", params={"person_id": holder.person_id}).json()
    assert [o["order_no"] for o in listed] == [order_no]
    schedules = clerk.get("/api/v1/payments/schedules").json()
    assert {s["item_no"] for s in schedules} == {21, 93, 94, 104}
    receipt = clerk.get(f"/api/v1/payments/orders/{order_no}/receipt.pdf")
    assert receipt.headers["content-type"] == "application/pdf"
    assert order_no in PdfReader(io.BytesIO(receipt.content)).pages[0].extract_text()
    _books_balance(platform)


def test_a_wrong_pin_is_refused_and_counted_without_touching_the_bank(
    platform: Platform, bank: SandboxBank
) -> None:
    holder = _holder(platform, bank)
    clerk = api_client(platform, make_staff(platform, "clerk", roles=("clerk",)))
    order_no = clerk.post(
        "/api/v1/payments/orders",
        json={"person_id": holder.person_id, "schedule_code": "skill_appraisal", "reference": "J"},
        headers={"Idempotency-Key": "order-pin"},
    ).json()["order_no"]
    wrong = clerk.post(
        f"/api/v1/payments/orders/{order_no}/pay",
        json={"card_number": holder.card_number, "pin": "135790"},
        headers={"Idempotency-Key": "pay-pin-0001"},
    )
    assert wrong.status_code in (403, 409, 422), wrong.text
    assert bank.execution_count() == 0
    # The refusal freed the key: the holder types the right PIN and the same key works.
    right = clerk.post(
        f"/api/v1/payments/orders/{order_no}/pay",
        json={"card_number": holder.card_number, "pin": PIN},
        headers={"Idempotency-Key": "pay-pin-0001"},
    )
    assert right.json()["status"] == "paid", right.text


def test_a_department_refunds_its_own_order_once(platform: Platform, bank: SandboxBank) -> None:
    holder = _holder(platform, bank, deposit=50_000)
    clerk = api_client(platform, make_staff(platform, "clerk", roles=("clerk",)))
    hrss = api_client(platform, make_staff(platform, "kaoshi", roles=("department_staff",)))
    school = api_client(
        platform,
        make_staff(platform, "jiaoyu", roles=("department_staff",), department="education"),
    )
    order_no = clerk.post(
        "/api/v1/payments/orders",
        json={"person_id": holder.person_id, "schedule_code": "personnel_exam", "reference": "R"},
        headers={"Idempotency-Key": "order-refund"},
    ).json()["order_no"]
    clerk.post(
        f"/api/v1/payments/orders/{order_no}/pay",
        json={"card_number": holder.card_number, "pin": PIN},
        headers={"Idempotency-Key": "pay-refund"},
    )
    assert (
        clerk.post(
            f"/api/v1/payments/orders/{order_no}/refund",
            json={"reason": "x"},
            headers={"Idempotency-Key": "refund-0000"},
        ).status_code
        == 403
    )  # a clerk collects; refunds are the department's
    foreign = school.post(
        f"/api/v1/payments/orders/{order_no}/refund",
        json={"reason": "考试取消"},
        headers={"Idempotency-Key": "refund-0001"},
    )
    assert foreign.status_code == 403
    assert foreign.json()["code"] == "payment_not_order_department"
    refunds = [
        hrss.post(
            f"/api/v1/payments/orders/{order_no}/refund",
            json={"reason": "考试取消"},
            headers={"Idempotency-Key": "refund-0002"},
        )
        for _ in range(2)
    ]
    assert refunds[0].status_code == 200, refunds[0].text
    assert refunds[0].json()["status"] == "credited"
    assert refunds[0].content == refunds[1].content
    twice = hrss.post(
        f"/api/v1/payments/orders/{order_no}/refund",
        json={"reason": "考试取消"},
        headers={"Idempotency-Key": "refund-0003"},
    )
    assert twice.status_code == 409
    assert bank.executions_of(f"{order_no}-R1") == 1
    assert bank.balance(holder.bank_code, holder.account) == 50_000
    _books_balance(platform)


def test_the_counter_takes_a_fee_with_card_and_pin(platform: Platform, bank: SandboxBank) -> None:
    holder = _holder(platform, bank)
    clerk = TestClient(create_app(platform))
    log_in(clerk, platform, make_staff(platform, "clerk", roles=("clerk",)))
    page = clerk.get("/payments")
    assert "窗口收费" in page.text
    assert "示例" in page.text
    token = re.findall(r'name="form_token" value="([^"]+)"', page.text)[0]
    form = {
        "resident_id": holder.resident_id,
        "schedule_code": "skill_appraisal",
        "form_token": token,
        "csrf_token": csrf_token(clerk, "/payments"),
    }
    first = clerk.post("/payments/orders", data=form)
    assert first.status_code == 200, first.text
    order_no = ORDER_NO.findall(str(first.url))[0]
    double = clerk.post("/payments/orders", data=form)  # a double submit: the same order
    assert ORDER_NO.findall(str(double.url))[0] == order_no
    assert "确认扣款 150.00 元" in first.text
    assert "<dd>永州市人力资源和社会保障局</dd>" in first.text  # the department, by its name
    pay = {"card_number": holder.card_number, "pin": PIN, "csrf_token": csrf_token(clerk)}
    done = clerk.post(f"/payments/orders/{order_no}/pay", data=pay)
    assert "缴费成功" in done.text
    assert "打印缴费凭证" in done.text
    again = clerk.post(f"/payments/orders/{order_no}/pay", data=pay)
    assert "缴费成功" in again.text
    assert bank.executions_of(f"{order_no}-D") == 1
    pdf = clerk.get(f"/payments/orders/{order_no}/receipt.pdf")
    assert order_no in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    _books_balance(platform)


def test_a_holder_pays_a_pending_order_at_the_kiosk_and_on_the_portal(
    platform: Platform, bank: SandboxBank
) -> None:
    holder = _holder(platform, bank)
    clerk = api_client(platform, make_staff(platform, "clerk", roles=("clerk",)))
    numbers = [
        clerk.post(
            "/api/v1/payments/orders",
            json={"person_id": holder.person_id, "schedule_code": code, "reference": code},
            headers={"Idempotency-Key": f"order-{code}"},
        ).json()["order_no"]
        for code in ("personnel_exam", "personnel_agency")
    ]
    kiosk = TestClient(create_app(platform))
    kiosk.post("/kiosk/sign-in", data={"card_number": holder.card_number, "pin": PIN})
    mine = kiosk.get("/kiosk/payments")
    assert "我的缴费" in mine.text
    assert all(n in mine.text for n in numbers)
    token = CSRF.findall(mine.text)[0]
    wrong = kiosk.post(f"/kiosk/payments/{numbers[0]}/pay", data={"csrf_token": token, "pin": "1"})
    assert "密码" in wrong.text
    paid = kiosk.post(f"/kiosk/payments/{numbers[0]}/pay", data={"csrf_token": token, "pin": PIN})
    assert "缴费成功" in paid.text
    receipt = kiosk.get(f"/kiosk/payments/{numbers[0]}/receipt.pdf")
    assert receipt.headers["content-type"] == "application/pdf"

    portal = TestClient(create_app(platform))
    portal.post(
        "/portal/sign-in",
        data={"resident_id": holder.resident_id, "card_number": holder.card_number, "pin": PIN},
    )
    page = portal.get("/portal/payments")
    token = CSRF.findall(page.text)[0]
    done = portal.post(f"/portal/payments/{numbers[1]}/pay", data={"csrf_token": token, "pin": PIN})
    assert "缴费成功" in done.text
    assert bank.executions_of(f"{numbers[0]}-D") == 1
    assert bank.executions_of(f"{numbers[1]}-D") == 1
    # Somebody else's order is not found behind a holder's session.
    stranger = cardholders(platform, 1, start=50)[0]
    with platform.session() as session:
        from socialcard.db import transaction
        from socialcard.payments.services import create_order

        with transaction(session):
            foreign = create_order(
                session, person_id=stranger.person_id, schedule_code="personnel_exam",
                reference="s", caller="test", idempotency_key="stranger-1",
                at=platform.clock.now(),
            ).order_no  # fmt: skip
    assert portal.get(f"/portal/payments/{foreign}/receipt.pdf").status_code == 404
    _books_balance(platform)


def test_the_cli_settles_a_payment_whose_answer_was_lost(
    platform: Platform, bank: SandboxBank
) -> None:

    holder = _holder(platform, bank)
    clerk = api_client(platform, make_staff(platform, "clerk", roles=("clerk",)))
    order_no = clerk.post(
        "/api/v1/payments/orders",
        json={"person_id": holder.person_id, "schedule_code": "personnel_exam", "reference": "L"},
        headers={"Idempotency-Key": "order-lost"},
    ).json()["order_no"]
    bank.set_faults(FaultPlan(seed=5, drop_response_rate=1.0))
    lost = clerk.post(
        f"/api/v1/payments/orders/{order_no}/pay",
        json={"card_number": holder.card_number, "pin": PIN},
        headers={"Idempotency-Key": "pay-lost-01"},
    )
    assert lost.status_code == 202
    assert lost.json()["status"] == "unknown"
    bank.set_faults(None)
    env = {
        "SOCIALCARD_DATABASE_URL": platform.settings.database_url,
        "SOCIALCARD_DATA_DIR": str(platform.settings.data_dir),
        "SOCIALCARD_KEY_FILE": str(platform.settings.resolved_key_file),
        "SOCIALCARD_SANDBOX_BANK_PATH": str(bank.path),
        "COLUMNS": "200",
    }
    runner = CliRunner()
    result = runner.invoke(app, ["payments", "settle-unknown"], env=env)
    listed = runner.invoke(app, ["payments", "schedules"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 paid" in result.output
    assert "personnel_exam" in listed.output
    assert clerk.get(f"/api/v1/payments/orders/{order_no}").json()["status"] == "paid"
    assert bank.executions_of(f"{order_no}-D") == 1
    _books_balance(platform)
