"""The social-insurance pages for staff end to end, on SQLite and PostgreSQL: the officer enrols
employees and a flexible worker (with the card), declares for an employer, records the
employer's transfer, reads a person's months and accounts and prints documents; relations move
out with their data file and come back in; an employer's agent enrols and declares for its own
employer only and never records payments; bad input is shown on its form and writes nothing."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from socialcard.access.models import Staff
from socialcard.bootstrap import Platform
from socialcard.catalog.models import CardUse, OpeningStatus
from socialcard.db import transaction
from socialcard.insurance import declarations, queries
from socialcard.insurance.catalogue import CATALOG_BINDINGS
from socialcard.insurance.models import (
    ContributionMonth,
    Declaration,
    DeclarationStatus,
    Enrolment,
    InsuranceDocument,
    MonthSource,
)
from socialcard.kernel.crypto import sm3_hex
from socialcard.kernel.masking import mask_resident_id
from socialcard.ledger import queries as ledger_queries
from socialcard.server import create_app
from tests.e2e.test_web_pages import audit_records, csrf_token, log_in
from tests.insurance_support import employer, enrol_employee
from tests.money_support import Holder, cardholders
from tests.support import StaffAccount, change_opening, make_staff

DATA_URL = re.compile(r'href="data:application/json;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(autouse=True)
def opened(platform: Platform) -> None:
    """The insurance items are opened city-wide (the card door checks the opening)."""
    for binding in CATALOG_BINDINGS:
        change_opening(platform, binding.item_no, "431100", OpeningStatus.OPENED, date(2026, 1, 1))


def officer_client(platform: Platform, username: str = "shebao") -> TestClient:
    client = TestClient(create_app(platform))
    log_in(client, platform, make_staff(platform, username, roles=("insurance_officer",)))
    return client


def agent_client(platform: Platform, employer_id: int, username: str = "hr") -> TestClient:
    account: StaffAccount = make_staff(platform, username, roles=("employer_agent",))
    with platform.session() as session, transaction(session):
        session.get_one(Staff, account.staff_id).employer_id = employer_id
    client = TestClient(create_app(platform))
    log_in(client, platform, account)
    return client


def post(client: TestClient, path: str, page: str, **data: object) -> Any:
    """Submit a form as the page that carries it would (its CSRF token)."""
    return client.post(
        path, data={"csrf_token": csrf_token(client, page), **data}, follow_redirects=False
    )


def count(platform: Platform, model: type[object]) -> int:
    with platform.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def holders(platform: Platform, n: int) -> list[Holder]:
    return cardholders(platform, n, start=20)  # born 1970–1972, working age


def test_the_officer_enrols_declares_records_the_transfer_and_prints(
    platform: Platform,
) -> None:
    firm = employer(platform)
    worker, colleague, flexible = holders(platform, 3)
    officer = officer_client(platform)
    firm_page = f"/insurance/employers/{firm}"

    console = officer.get("/insurance")
    assert console.status_code == 200, console.text
    assert "示例参数" in console.text  # the shipped parameters are examples
    assert "查找参保人" in console.text

    for holder, wage in ((worker, "6000"), (colleague, "5,500.50")):
        enrolled = post(
            officer, f"{firm_page}/enrolments", firm_page,
            resident_id=holder.resident_id, started_on="2026-10-01", wage=wage,
        )  # fmt: skip
        assert enrolled.status_code == 303, enrolled.text
    page = officer.get(firm_page + "?done=enrolled")
    assert "已办理参保登记" in page.text
    assert "¥5,500.50" in page.text
    assert mask_resident_id(worker.resident_id) in page.text
    assert worker.resident_id not in page.text

    declared = officer.post(
        f"{firm_page}/declarations",
        data={"csrf_token": csrf_token(officer, firm_page), "period": "202611",
              "employee": [worker.person_id, colleague.person_id], "wage": ["7000.00", ""]},
        follow_redirects=True,
    )  # fmt: skip
    assert declared.status_code == 200, declared.text
    assert "已申报" in declared.text
    with platform.session() as session:
        made = queries.list_declarations(session, employer_id=firm)
    assert len(made) == 1
    number, total = made[0].declaration_no, made[0].total_minor
    assert "确认到账" in declared.text  # the officer records transfers

    short = post(
        officer, f"/insurance/declarations/{number}/payment", firm_page,
        paid="1.00", bank_reference="ICBC-20261129-1",
    )  # fmt: skip
    assert short.status_code == 422
    assert "金额不符" in short.text
    paid = post(
        officer, f"/insurance/declarations/{number}/payment", firm_page,
        paid=f"{total // 100}.{total % 100:02d}", bank_reference="ICBC-20261129-1",
    )  # fmt: skip
    assert paid.status_code == 303, paid.text
    after = officer.get(paid.headers["location"])
    assert "已确认到账" in after.text
    assert "已缴费" in after.text
    assert [
        r.details.get("paid_minor") for r in audit_records(platform, "insurance.payment_recorded")
    ] == [total]

    exported = officer.get(f"/insurance/declarations/{number}/lines.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["申报单号", "费款所属期", "社会保障号码", "姓名"]
    assert {r[2] for r in rows[1:]} == {
        mask_resident_id(worker.resident_id),
        mask_resident_id(colleague.resident_id),
    }
    assert worker.resident_id not in exported.text
    assert sorted(r[4] for r in rows[1:]) == ["5500.50", "7000.00"]  # the bases

    record = officer.get(f"/insurance/persons/{worker.person_id}")
    assert record.status_code == 200, record.text
    assert "2026 年" in record.text
    assert 'class="column-chart"' in record.text
    assert "¥7,000.00" in record.text  # the month's base
    assert "¥560.00" in record.text  # 8 % of 7,000.00 in the pension account
    assert "¥140.00" in record.text  # 2 % in the medical account
    assert "缴费划入" in record.text  # the latest movements
    assert audit_records(platform, "person.view")

    card_enrol = post(
        officer, f"/insurance/persons/{flexible.person_id}/enrolments",
        f"/insurance/persons/{flexible.person_id}",
        kind="flexible", started_on="2026-10-01", wage="4200", card_number=flexible.card_number,
    )  # fmt: skip
    assert card_enrol.status_code == 303, card_enrol.text
    shown = officer.get(card_enrol.headers["location"]).text
    assert "灵活就业" in shown
    assert "企业职工基本养老保险" in shown

    for kind, data in (
        ("rights_statement", {"year": "2026", "card_number": worker.card_number}),
        ("contribution_certificate", {"first_year": "2017", "year": "2026"}),
    ):
        pdf = post(
            officer, f"/insurance/persons/{worker.person_id}/documents",
            f"/insurance/persons/{worker.person_id}", kind=kind, **data,
        )  # fmt: skip
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
    assert count(platform, InsuranceDocument) == 2
    with platform.session() as session:  # the holder was there for the statement: item 28
        uses = session.scalars(select(CardUse.item_no).where(CardUse.person_id == worker.person_id))
        assert sorted(uses) == [28]
    with platform.session() as session:
        assert ledger_queries.verify_ledger(session).ok


def test_enrolments_are_suspended_resumed_and_declarations_cancelled(platform: Platform) -> None:
    firm = employer(platform)
    (worker,) = holders(platform, 1)
    enrol_employee(platform, worker.person_id, firm, wage=600_000, started_on=date(2026, 10, 1))
    officer = officer_client(platform)
    page = f"/insurance/persons/{worker.person_id}"
    with platform.session() as session:
        pension = session.scalars(
            select(Enrolment).where(
                Enrolment.person_id == worker.person_id, Enrolment.scheme == "pension_employee"
            )
        ).one()
    status = f"/insurance/enrolments/{pension.id}/status"
    no_reason = post(officer, status, page, action="suspend", reason="")
    assert no_reason.status_code == 422
    assert "暂停缴费须填写原因" in no_reason.text
    assert post(officer, status, page, action="suspend", reason="长期病假").status_code == 303
    assert "暂停缴费" in officer.get(page).text
    assert post(officer, status, page, action="resume").status_code == 303

    firm_page = f"/insurance/employers/{firm}"
    post(officer, f"{firm_page}/declarations", firm_page, period="202611")
    with platform.session() as session:
        (made,) = queries.list_declarations(session, employer_id=firm)
    cancelled = post(officer, f"/insurance/declarations/{made.declaration_no}/cancel", firm_page)
    assert cancelled.status_code == 303
    assert "申报单已撤销" in officer.get(cancelled.headers["location"]).text
    again = post(officer, f"/insurance/declarations/{made.declaration_no}/cancel", firm_page)
    assert again.status_code == 409
    assert "不能改为" in again.text
    left = post(
        officer, f"{firm_page}/departures", firm_page,
        person_id=worker.person_id, on="2026-11-20",
    )  # fmt: skip
    assert left.status_code == 303
    assert "已办理减员" in officer.get(left.headers["location"]).text


def test_bad_input_is_shown_on_its_form_and_writes_nothing(platform: Platform) -> None:
    firm = employer(platform)
    (worker,) = holders(platform, 1)
    officer = officer_client(platform)
    firm_page = f"/insurance/employers/{firm}"

    bad_wage = post(
        officer, f"{firm_page}/enrolments", firm_page,
        resident_id=worker.resident_id, started_on="2026-10-01", wage="abc",
    )  # fmt: skip
    assert bad_wage.status_code == 422
    html = bad_wage.text
    assert 'id="wage-error">月缴费工资应为金额（元），最多两位小数' in html
    assert 'name="wage" type="text" value="abc"' in html  # kept for correction…
    assert worker.resident_id not in html  # … but never the ID number
    assert count(platform, Enrolment) == 0

    enrol_employee(platform, worker.person_id, firm, started_on=date(2026, 10, 1))
    future = post(officer, f"{firm_page}/declarations", firm_page, period="202612")
    assert future.status_code == 422
    assert 'id="period-error">不能申报未来月份。' in future.text
    typed = officer.post(
        f"{firm_page}/declarations",
        data={"csrf_token": csrf_token(officer, firm_page), "period": "202611",
              "employee": [worker.person_id], "wage": ["abc"]},
    )  # fmt: skip
    assert typed.status_code == 422
    assert "变动后的月工资应为金额（元）" in typed.text
    assert 'value="abc"' in typed.text
    assert count(platform, Declaration) == 0
    assert count(platform, ContributionMonth) == 0

    not_yours = post(
        officer, f"/insurance/persons/{worker.person_id}/transfers/out",
        f"/insurance/persons/{worker.person_id}",
        region_code="431102", region_name="零陵区", card_number=worker.card_number,
    )  # fmt: skip
    assert not_yours.status_code == 422
    assert "转移地区不能是永州市内的县区" in not_yours.text


def test_a_relation_moves_out_with_its_file_and_comes_back_in(platform: Platform) -> None:
    firm = employer(platform)
    worker, stranger = holders(platform, 2)
    enrol_employee(platform, worker.person_id, firm, wage=500_000, started_on=date(2026, 10, 1))
    with platform.session() as session, transaction(session):
        made = declarations.declare_employer_month(
            session, employer_id=firm, period=202611, channel="web", declared_by=None,
            at=platform.clock.now(),
        )  # fmt: skip
        declarations.record_employer_payment(
            session, made.declaration_no, paid_minor=made.total_minor, bank_reference="B1",
            at=platform.clock.now(),
        )  # fmt: skip
    officer = officer_client(platform)
    page = f"/insurance/persons/{worker.person_id}"

    wrong_card = post(
        officer, f"{page}/transfers/out", page,
        region_code="440300", region_name="广东省深圳市", card_number=stranger.card_number,
    )  # fmt: skip
    assert wrong_card.status_code == 422
    assert 'id="card_number-error">社保卡不是该参保人的。' in wrong_card.text

    moved = post(
        officer, f"{page}/transfers/out", page,
        region_code="440300", region_name="广东省深圳市", card_number=worker.card_number,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert "关系转出已办结" in moved.text
    found = DATA_URL.search(moved.text)
    assert found is not None
    data = json.loads(base64.b64decode(found.group(1)))
    assert data["body"]["format"] == "socialcard-insurance-transfer/1"
    # Downloadable again from the person's page, the same bytes, the download audited.
    again = f"/insurance/transfers/{data['body']['transfer_no']}/data-file"
    assert again in officer.get(page).text
    assert officer.get(again).content == base64.b64decode(found.group(1))
    [downloaded] = audit_records(platform, "insurance.transfer_file_downloaded")
    assert downloaded.object_id == data["body"]["transfer_no"]
    assert agent_client(platform, firm).get(again).status_code == 403
    assert [m["period"] for m in data["body"]["months"]] == [202611]
    transfer_no = data["body"]["transfer_no"]
    certificate = post(
        officer, f"{page}/documents", page, kind="transfer_certificate", transfer_no=transfer_no
    )
    assert certificate.status_code == 200, certificate.text
    assert certificate.content.startswith(b"%PDF")

    # Years later the same person comes back from Shenzhen with two months paid there.
    body = data["body"]
    body["from_region"], body["from_region_name"], body["to_region"] = (
        "440300",
        "广东省深圳市",
        "431100",
    )
    body["months"] = [
        dict(body["months"][0], period=p, region_code="440300") for p in (202608, 202609)
    ]
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    upload = json.dumps({"digest": sm3_hex(text.encode()), "body": body}, ensure_ascii=False)
    arrived = officer.post(
        f"{page}/transfers/in",
        data={"csrf_token": csrf_token(officer, page), "card_number": worker.card_number},
        files={"file": ("shenzhen.json", upload.encode(), "application/json")},
        follow_redirects=False,
    )
    assert arrived.status_code == 303, arrived.text
    shown = officer.get(arrived.headers["location"]).text
    assert "已转入外地缴费记录" in shown
    assert "广东省深圳市（440300）" in shown
    assert "col col-elsewhere" in shown  # marked in the year's chart
    with platform.session() as session:
        months = queries.contribution_months(session, worker.person_id)
        assert [m.source for m in months if m.period < 202610] == [MonthSource.TRANSFERRED_IN] * 2
        assert ledger_queries.verify_ledger(session).ok


def test_an_employer_agent_acts_for_its_own_employer_only(platform: Platform) -> None:
    firm, other = employer(platform), employer(platform, "永州凤凰园商贸有限公司")
    worker, outsider = holders(platform, 2)
    enrol_employee(platform, outsider.person_id, other, started_on=date(2026, 10, 1))
    agent = agent_client(platform, firm)
    own = f"/insurance/employers/{firm}"

    assert agent.get("/employer", follow_redirects=False).headers["location"] == own
    assert agent.get("/insurance", follow_redirects=False).headers["location"] == own
    assert agent.get(f"/insurance/employers/{other}").status_code == 403

    enrolled = post(
        agent, f"{own}/enrolments", own,
        resident_id=worker.resident_id, started_on="2026-10-01", wage="6200",
    )  # fmt: skip
    assert enrolled.status_code == 303, enrolled.text
    elsewhere = post(
        agent, f"/insurance/employers/{other}/enrolments", own,
        resident_id=worker.resident_id, started_on="2026-10-01", wage="6200",
    )  # fmt: skip
    assert elsewhere.status_code == 403
    assert (
        post(agent, f"/insurance/employers/{other}/declarations", own, period="202611").status_code
        == 403
    )

    declared = post(agent, f"{own}/declarations", own, period="202611")
    assert declared.status_code == 303, declared.text
    page = agent.get(own).text
    assert "已申报，待缴费" in page
    assert 'name="bank_reference"' not in page  # only the agency records transfers
    with platform.session() as session:
        (made,) = queries.list_declarations(session, employer_id=firm)
    refused = post(
        agent, f"/insurance/declarations/{made.declaration_no}/payment", own,
        paid=f"{made.total_minor / 100:.2f}", bank_reference="X",
    )  # fmt: skip
    assert refused.status_code == 403
    with platform.session() as session:
        assert session.get_one(Declaration, made.id).status is DeclarationStatus.DECLARED
    assert agent.get(f"/insurance/declarations/{made.declaration_no}/lines.csv").status_code == 200

    assert agent.get(f"/insurance/persons/{worker.person_id}").status_code == 200
    assert "窗口业务" not in agent.get(f"/insurance/persons/{worker.person_id}").text
    assert agent.get(f"/insurance/persons/{outsider.person_id}").status_code == 403
    assert post(agent, f"/insurance/persons/{worker.person_id}/documents", own,
                kind="rights_statement", year="2026").status_code == 403  # fmt: skip
    with platform.session() as session:
        other_no = declarations.declare_employer_month(
            session, employer_id=other, period=202611, channel="web", declared_by=None,
            at=platform.clock.now(),
        ).declaration_no  # fmt: skip
        session.commit()
    assert post(agent, f"/insurance/declarations/{other_no}/cancel", own).status_code == 403
    assert agent.get(f"/insurance/declarations/{other_no}/lines.csv").status_code == 403
    assert audit_records(platform, "access.denied")

    officer = officer_client(platform)
    assert officer.get("/employer").status_code == 403
