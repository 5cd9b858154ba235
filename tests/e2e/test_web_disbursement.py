"""The money console end to end in the browser's shoes (issue 5): a department officer uploads a
list and submits it; a finance approver approves and sends it; the batch page reconciles; the
correction queue shows the bank's refusal; the preparer can never approve; the holder sees the
payment in the portal; the API agrees."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from socialcard.access import services as access
from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.disbursement.payee_lists import render_payee_list
from socialcard.disbursement.runner import agency_account
from socialcard.server import create_app
from tests.e2e.test_web_pages import csrf_token, log_in
from tests.money_support import cardholders, fund_grain_subsidy
from tests.support import make_staff

BATCH = re.compile(r"/disbursement/batches/(DF\d{13})")


def test_a_list_goes_from_upload_to_the_holders_portal(platform: Platform) -> None:
    fund_grain_subsidy(platform)
    holders = cardholders(platform, 6, banks=("ICBC",))
    bank = platform.bank
    assert isinstance(bank, SandboxBank)
    bank.open_accounts((h.bank_code, h.account, h.name, h.resident_id, True) for h in holders)
    bank.open_agency_account("ICBC", agency_account("ICBC"), "永州市财政局")
    bank.set_state(holders[5].bank_code, holders[5].account, "frozen")

    officer = TestClient(create_app(platform))
    log_in(
        officer,
        platform,
        make_staff(platform, "nongye", roles=("disbursement_officer",), department="agriculture"),
    )
    approver = TestClient(create_app(platform))
    log_in(
        approver,
        platform,
        make_staff(platform, "caizheng", roles=("finance_approver",), department="finance"),
    )
    rows = [(h.resident_id, h.name, 31_500, "") for h in holders]
    rows.append(("431124197001019993", "查无此人", 100, ""))
    page = officer.get("/disbursement")
    assert "上传发放名单" in page.text
    # A programme's departments by their names, not the codes the platform keeps.
    assert "<td>永州市财政局、永州市农业农村局</td>" in page.text
    assert "agriculture" not in page.text
    uploaded = officer.post(
        "/disbursement/batches",
        data={
            "programme_code": "I107",
            "period": "2026",
            "title": "种粮补贴",
            "csrf_token": csrf_token(officer, "/disbursement"),
        },
        files={"file": ("名单.csv", render_payee_list(rows), "text/csv")},
    )
    assert uploaded.status_code == 200, uploaded.text
    batch_no = BATCH.findall(str(uploaded.url))[0]
    assert "户籍库中无此人" in uploaded.text  # the refused line, with its reason
    assert "提交财政审核" in uploaded.text
    rejections = officer.get(f"/disbursement/batches/{batch_no}/rejections.csv")
    assert "户籍库中无此人" in rejections.content.decode("utf-8-sig")
    submitted = officer.post(
        f"/disbursement/batches/{batch_no}/submit",
        data={"csrf_token": csrf_token(officer, f"/disbursement/batches/{batch_no}")},
    )
    assert "已提交财政部门审核" in submitted.text
    # The preparer holds no approval right; the policy refuses before the service is asked.
    refused = officer.post(
        f"/disbursement/batches/{batch_no}/approve",
        data={"csrf_token": csrf_token(officer, f"/disbursement/batches/{batch_no}")},
    )
    assert refused.status_code == 403

    queue = approver.get("/disbursement/approvals")
    assert batch_no in queue.text
    assert "<td>永州市农业农村局</td>" in queue.text  # the department that prepared it
    token = csrf_token(approver, f"/disbursement/batches/{batch_no}")
    approved = approver.post(
        f"/disbursement/batches/{batch_no}/approve", data={"csrf_token": token}
    )
    assert "资金已在账本中冻结" in approved.text
    ran = approver.post(
        f"/disbursement/batches/{batch_no}/run",
        data={"csrf_token": csrf_token(approver, f"/disbursement/batches/{batch_no}")},
    )
    assert "已完成（有失败）" in ran.text
    assert "已平衡" in ran.text
    assert "<svg" in ran.text  # the per-bank chart
    exported = approver.get(f"/disbursement/batches/{batch_no}/lines.csv").content.decode(
        "utf-8-sig"
    )
    assert exported.count("已到账") == 5
    assert "账户冻结" in exported
    assert holders[0].resident_id not in exported  # masked only
    corrections = officer.get("/disbursement/corrections")
    assert holders[5].name in corrections.text
    assert "账户冻结" in corrections.text

    holder = TestClient(create_app(platform))
    holder.post(
        "/portal/sign-in",
        data={
            "resident_id": holders[0].resident_id,
            "card_number": holders[0].card_number,
            "pin": "246810",
        },
    )
    benefits = holder.get("/portal/benefits")
    assert "种粮补贴" in benefits.text
    assert "¥315.00" in benefits.text
    assert "永州市农业农村局" in benefits.text  # the department that paid it

    with platform.session() as session, transaction(session):
        api_token = access.issue_api_token(
            session, staff_id=_staff_id(platform, "caizheng"), name="t", at=platform.clock.now()
        )
    api = TestClient(create_app(platform), headers={"Authorization": f"Bearer {api_token}"})
    report = api.get(f"/api/v1/disbursement/batches/{batch_no}/reconciliation").json()
    assert report["balanced"] is True
    assert report["paid_minor"] == 5 * 31_500
    assert api.get("/api/v1/ledger/verification").json()["ok"] is True
    lines = api.get(f"/api/v1/disbursement/batches/{batch_no}/lines?status=failed").json()
    assert [line["bank_reason_code"] for line in lines] == ["account_frozen"]
    # The holder had the account unfrozen; the department confirms it and pays again.
    queue = api.get("/api/v1/disbursement/corrections").json()
    assert [(c["ready"], c["blocker"]) for c in queue] == [(False, "account_frozen")]
    bank.set_state(holders[5].bank_code, holders[5].account, "normal")
    preparer = TestClient(
        create_app(platform), headers={"Authorization": f"Bearer {_token(platform, 'nongye')}"}
    )
    fixed = preparer.post(
        f"/api/v1/disbursement/corrections/{queue[0]['line_id']}/fixed",
        json={"note": "持卡人已到银行解冻"},
        headers={"Idempotency-Key": "fix-0001"},
    )
    assert fixed.status_code == 200, fixed.text
    assert api.get("/api/v1/disbursement/corrections").json()[0]["ready"] is True
    again = preparer.post(
        "/api/v1/disbursement/corrections/reissue",
        json={"programme_code": "I107", "period": "2026"},
        headers={"Idempotency-Key": "reissue-0001"},
    )
    assert again.status_code == 201, again.text
    assert (again.json()["accepted_count"], again.json()["status"]) == (1, "drafted")
    assert api.get("/api/v1/disbursement/corrections").json() == []


def _token(platform: Platform, username: str) -> str:
    with platform.session() as session, transaction(session):
        return access.issue_api_token(
            session, staff_id=_staff_id(platform, username), name="t", at=platform.clock.now()
        )


def _staff_id(platform: Platform, username: str) -> int:
    with platform.session() as session:
        return access.get_staff_by_username(session, username).id


def test_a_bank_terminal_answers_what_a_card_was_paid(platform: Platform) -> None:
    """惠民资金查询 through the bank channel: a signed bank terminal, the holder's card and PIN;
    a wrong PIN is counted; a pharmacy terminal may not ask."""
    from socialcard.disbursement import services as disbursement
    from socialcard.disbursement.payee_lists import read_payee_list
    from socialcard.disbursement.runner import run_batch
    from socialcard.disbursement.services import Officer
    from tests.e2e.test_cards_api import _terminal
    from tests.support import api_client

    fund_grain_subsidy(platform)
    holder = cardholders(platform, 1, banks=("ICBC",))[0]
    bank = platform.bank
    assert isinstance(bank, SandboxBank)
    bank.open_account(
        holder.bank_code, holder.account, holder.name, holder.resident_id, activated=True
    )
    maker = make_staff(platform, "m", roles=("disbursement_officer",), department="agriculture")
    checker = make_staff(platform, "c", roles=("finance_approver",), department="finance")
    data = render_payee_list([(holder.resident_id, holder.name, 42_000, "")])
    at = platform.clock.now()
    with platform.session() as session, transaction(session):
        batch = disbursement.create_batch(
            session,
            platform.keys,
            programme_code="I107",
            period="2026",
            title="t",
            rows=read_payee_list(data, filename="x.csv", period="2026", max_line_minor=10**7),
            source_name="x.csv",
            source=data,
            officer=Officer(maker.staff_id, "agriculture"),
            at=at,
        )
        number = batch.batch_no
        disbursement.submit_batch(
            session, batch_no=number, officer=Officer(maker.staff_id, "agriculture"), at=at
        )
        disbursement.approve_batch(
            session, batch_no=number, officer=Officer(checker.staff_id, "finance"), at=at
        )
    run_batch(platform.sessions, platform.keys, bank, number, at=at)

    admin = api_client(platform, make_staff(platform, "sysadmin", roles=("system_admin",)))
    teller = _terminal(platform, admin, "ICBC-431124-09", "bank", bank_code="ICBC")
    path = "/api/v1/terminal/payments/received"
    answer = teller.post(path, {"card_number": holder.card_number, "pin": "246810"})
    assert answer.status_code == 200, answer.text
    assert [(p["programme"], p["amount_minor"], p["status"]) for p in answer.json()] == [
        ("种粮补贴", 42_000, "paid")
    ]
    wrong = teller.post(path, {"card_number": holder.card_number, "pin": "000000"})
    assert wrong.json()["code"] == "pin_incorrect"
    with platform.session() as session:
        from socialcard.cards.queries import get_card

        assert get_card(session, holder.card_number).pin_failures == 1
    pharmacy = _terminal(platform, admin, "YD-431124-09", "pharmacy")
    refused = pharmacy.post(path, {"card_number": holder.card_number, "pin": "246810"})
    assert refused.json()["code"] == "terminal_not_admitted"


def test_a_big_batch_runs_in_the_background_and_its_page_follows_it(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import socialcard.web.routes.disbursement as pages

    monkeypatch.setattr(pages, "RUN_IN_BACKGROUND_ABOVE", 0)  # every batch counts as big here
    fund_grain_subsidy(platform)
    holders = cardholders(platform, 12, banks=("ICBC", "CCB"))
    bank = platform.bank
    assert isinstance(bank, SandboxBank)
    bank.open_accounts((h.bank_code, h.account, h.name, h.resident_id, True) for h in holders)
    officer = TestClient(create_app(platform))
    log_in(
        officer,
        platform,
        make_staff(platform, "nongye", roles=("disbursement_officer",), department="agriculture"),
    )
    approver = TestClient(create_app(platform))
    log_in(
        approver,
        platform,
        make_staff(platform, "caizheng", roles=("finance_approver",), department="finance"),
    )
    uploaded = officer.post(
        "/disbursement/batches",
        data={
            "programme_code": "I107",
            "period": "2026",
            "title": "t",
            "csrf_token": csrf_token(officer, "/disbursement"),
        },
        files={
            "file": (
                "x.csv",
                render_payee_list([(h.resident_id, h.name, 10_000, "") for h in holders]),
                "text/csv",
            )
        },
    )
    batch_no = BATCH.findall(str(uploaded.url))[0]
    page = f"/disbursement/batches/{batch_no}"
    officer.post(f"{page}/submit", data={"csrf_token": csrf_token(officer, page)})
    approver.post(f"{page}/approve", data={"csrf_token": csrf_token(approver, page)})
    started = approver.post(f"{page}/run", data={"csrf_token": csrf_token(approver, page)})
    assert started.status_code == 200
    assert "done=running" in str(started.url)
    deadline = time.monotonic() + 30
    while "已完成" not in (shown := approver.get(page).text):
        assert time.monotonic() < deadline, "the background run did not finish"
        assert "送盘发放" not in shown or "正在送盘" not in shown  # no second start offered
        time.sleep(0.2)
    assert "已平衡" in shown
    assert 'http-equiv="refresh"' not in shown  # stops refreshing once done
