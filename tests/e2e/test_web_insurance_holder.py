"""我的社保 through the holder's doors, on SQLite and PostgreSQL: a resident with eight years of
migrated employee history signs in at the kiosk, sees ten years, enrols in the resident schemes,
pays this year's pension grade with the PIN (a wrong PIN is refused and counted first, nothing
ordered), pays a family member's medical contribution on the portal (the name must match the
register), prints the rights statement and a certificate, and anyone finds them at /verify. A
flexible worker enrols, declares, pays (the bank refuses once for want of funds), and transfers
the relation out on the portal. The bank is the strict sandbox; the books are proven after."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from socialcard.banks.sandbox import SandboxBank
from socialcard.bootstrap import Platform
from socialcard.cards import queries as card_queries
from socialcard.catalog.models import CardUse, OpeningStatus, UseOutcome
from socialcard.db import transaction
from socialcard.insurance import queries
from socialcard.insurance.catalogue import CATALOG_BINDINGS
from socialcard.insurance.declarations import Insured, month_row, rules_of
from socialcard.insurance.enrolment import EnrolRequest, enrol
from socialcard.insurance.history import (
    MigratedEnrolment,
    migrate_enrolments,
    migrate_months,
    settle_migrated_accounts,
)
from socialcard.insurance.models import (
    EnrolmentKind,
    EnrolmentStatus,
    InsuranceDocument,
    MonthSource,
    MonthStatus,
)
from socialcard.insurance.rules import periods_between
from socialcard.insurance.schemes import EMPLOYEE_SCHEMES, SchemeCode
from socialcard.kernel.crypto import sm3_hex
from socialcard.kernel.masking import mask_name
from socialcard.ledger import queries as ledger_queries
from socialcard.payments import queries as payment_queries
from socialcard.server import create_app
from tests.insurance_support import employer
from tests.money_support import Holder, cardholders
from tests.support import change_opening

PIN = "246810"  # the PIN money_support gives every card
WRONG_PIN = "135790"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAID_ORDER = re.compile(r"/insurance/payments/(JF\d+)$")
CODE = re.compile(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")


@pytest.fixture
def bank(platform: Platform, tmp_path: Path) -> SandboxBank:
    """The strict sandbox bank (every execution counted); items 22–30 opened city-wide."""
    sandbox = SandboxBank(tmp_path / "bank.sqlite3", strict=True)
    platform.bank = sandbox
    for binding in CATALOG_BINDINGS:
        change_opening(platform, binding.item_no, "431100", OpeningStatus.OPENED, date(2026, 1, 1))
    return sandbox


def _holders(platform: Platform, bank: SandboxBank, count: int, deposit: int) -> list[Holder]:
    holders = cardholders(platform, count)
    for h in holders:
        bank.open_account(h.bank_code, h.account, h.name, h.resident_id, activated=True)
        bank.deposit(h.bank_code, h.account, deposit)
    return holders


def _migrate_employee_years(platform: Platform, person_id: int, first: int, last: int) -> None:
    """The legacy system's months with an employer (left at the end), on a 5,000.00 wage."""
    firm, wage, at = employer(platform), 500_000, platform.clock.now()
    ended = date(last // 100, 12, 31)
    with platform.session() as session, transaction(session):
        migrate_enrolments(
            session,
            [
                MigratedEnrolment(
                    person_id, s, EnrolmentKind.EMPLOYEE, firm, date(first // 100, 1, 1), wage,
                    status=EnrolmentStatus.TERMINATED, ended_on=ended, end_reason="离职",
                )
                for s in EMPLOYEE_SCHEMES
            ],
            channel="migration",
            at=at,
        )  # fmt: skip
        insured = Insured(
            person_id, firm, EnrolmentKind.EMPLOYEE, wage, frozenset(EMPLOYEE_SCHEMES)
        )
        rows = []
        for period in periods_between(first, last):
            row = month_row(insured, period, rules_of(session, period), source=MonthSource.MIGRATED)
            row["paid_on"] = date(period // 100, period % 100, 15)
            rows.append(row)
        migrate_months(session, rows)
        settle_migrated_accounts(session, at=at)


def _kiosk(platform: Platform, holder: Holder) -> TestClient:
    client = TestClient(create_app(platform))
    menu = client.post("/kiosk/sign-in", data={"card_number": holder.card_number, "pin": PIN})
    assert "我的社保" in menu.text
    return client


def _portal(platform: Platform, holder: Holder) -> TestClient:
    client = TestClient(create_app(platform))
    home = client.post(
        "/portal/sign-in",
        data={"resident_id": holder.resident_id, "card_number": holder.card_number, "pin": PIN},
    )
    assert 'href="/portal/insurance"' in home.text
    return client


def _csrf(client: TestClient, path: str) -> str:
    return str(CSRF.findall(client.get(path).text)[0])


def _uses(platform: Platform, person_id: int) -> list[CardUse]:
    with platform.session() as session:
        return list(session.scalars(select(CardUse).where(CardUse.person_id == person_id)))


def _books_balance(platform: Platform) -> None:
    with platform.session() as session:
        report = ledger_queries.verify_ledger(session)
    assert report.ok, report.problems


def test_a_resident_sees_ten_years_enrols_pays_and_prints_and_anyone_verifies(
    platform: Platform, bank: SandboxBank
) -> None:
    holder, parent = _holders(platform, bank, 2, deposit=1_000_000)
    _migrate_employee_years(platform, holder.person_id, 201701, 202412)
    with platform.session() as session, transaction(session):
        enrol(
            session,
            EnrolRequest(
                person_id=parent.person_id, kind=EnrolmentKind.RESIDENT,
                started_on=date(2026, 1, 1), channel="counter",
                schemes=(SchemeCode.MEDICAL_RESIDENT,),
            ),
            at=platform.clock.now(),
        )  # fmt: skip
    kiosk = _kiosk(platform, holder)

    # 我的社保 (item 29): ten years, eight of them paid in full, the pension account.
    page = kiosk.get("/kiosk/insurance")
    assert page.status_code == 200, page.text
    assert all(f"{year}年" in page.text for year in range(2017, 2027))
    assert page.text.count("12 个月 · ¥") == 8
    assert 'class="bar-chart ins-chart-wide"' in page.text
    assert "企业职工基本养老保险个人账户" in page.text
    assert "职工基本医疗保险个人账户" in page.text
    assert mask_name(holder.name) in page.text
    assert holder.resident_id not in page.text
    assert 'id="kiosk-sign-out"' in page.text
    assert "关系转移请到社保经办窗口办理" in page.text

    # 参保登记 (item 22): a confirmation step that writes nothing, then the enrolment.
    token = _csrf(kiosk, "/kiosk/insurance/enrol")
    form = {"csrf_token": token, "kind": "resident", "grade": "50000",
            "schemes": ["pension_resident", "medical_resident"]}  # fmt: skip
    missing = kiosk.post("/kiosk/insurance/enrol", data={**form, "schemes": []})
    assert "参保险种：请至少选择一个险种。" in missing.text
    checked = kiosk.post("/kiosk/insurance/enrol", data=form)
    assert "请确认参保信息" in checked.text
    assert "每年缴费 ¥500.00（政府补贴 ¥60.00）" in checked.text
    with platform.session() as session:
        assert queries.open_enrolments(session, holder.person_id) == []
    enrolled = kiosk.post("/kiosk/insurance/enrol/confirm", data=form)
    assert "参保登记已办理" in enrolled.text
    with platform.session() as session:
        opened = queries.open_enrolments(session, holder.person_id)
    assert {e.scheme for e in opened} == {SchemeCode.PENSION_RESIDENT, SchemeCode.MEDICAL_RESIDENT}
    again = kiosk.post("/kiosk/insurance/enrol", data=form)
    assert "参保身份：您已参加“城乡居民基本养老保险”，无需重复登记。" in again.text

    # Pay this year's pension grade (item 30): a wrong PIN first, counted, nothing ordered.
    pay = kiosk.get("/kiosk/insurance/pay")
    assert "2026年度 城乡居民基本养老保险" in pay.text
    assert "2027年度 城乡居民基本医疗保险" in pay.text  # from September, next year's medical
    own = {"csrf_token": CSRF.findall(pay.text)[0], "scheme": "pension_resident",
           "year": "2026", "grade": "50000"}  # fmt: skip
    wrong = kiosk.post("/kiosk/insurance/pay/resident", data={**own, "pin": WRONG_PIN})
    assert "社保卡密码：密码错误，还可尝试" in wrong.text
    with platform.session() as session:
        assert card_queries.get_card(session, holder.card_number).pin_failures == 1
        assert payment_queries.list_orders_for_holder(session, holder.person_id) == []
        assert queries.list_resident_contributions(session, holder.person_id) == []
    assert bank.execution_count() == 0
    paid = kiosk.post("/kiosk/insurance/pay/resident", data={**own, "pin": PIN})
    assert "缴费成功" in paid.text, paid.text
    assert "打印缴费凭证" in paid.text
    order_no = PAID_ORDER.findall(str(paid.url))[0]
    assert bank.executions_of(f"{order_no}-D") == 1
    assert bank.execution_count() == 1
    assert kiosk.get(f"/kiosk/payments/{order_no}/receipt.pdf").content.startswith(b"%PDF")
    twice = kiosk.post("/kiosk/insurance/pay/resident", data={**own, "pin": PIN})
    assert "已缴费" in twice.text
    assert bank.execution_count() == 1
    with platform.session() as session:
        [contribution] = queries.list_resident_contributions(session, holder.person_id)
        assert contribution.status is MonthStatus.PAID
        pension = queries.account_view(session, holder.person_id, SchemeCode.PENSION_RESIDENT)
        assert pension is not None
        assert pension.balance_minor == 50_000 + 6_000  # the grade and its subsidy
        assert card_queries.get_card(session, holder.card_number).pin_failures == 0

    # Print at the kiosk (item 27): the printing page shows the code and frames the PDF.
    token = _csrf(kiosk, "/kiosk/insurance/documents")
    printed = kiosk.post(
        "/kiosk/insurance/documents",
        data={"csrf_token": token, "document": "contribution_certificate",
              "first_year": "2017", "last_year": "2026"},
        follow_redirects=False,
    )  # fmt: skip
    assert printed.status_code == 303
    printing = kiosk.get(printed.headers["location"])
    assert "正在打印" in printing.text
    [kiosk_code] = CODE.findall(printing.text)
    framed = re.findall(r'src="(/kiosk/insurance/documents/PZ\d+\.pdf)"', printing.text)[0]
    pdf = kiosk.get(framed)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-frame-options"] == "SAMEORIGIN"

    # A family member's medical contribution on the portal: the name must match the register.
    portal = _portal(platform, holder)
    token = _csrf(portal, "/portal/insurance/pay")
    family = {"csrf_token": token, "family": "1", "resident_id": parent.resident_id,
              "name": parent.name + "某", "scheme": "medical_resident", "year": "2027",
              "grade": "", "pin": PIN}  # fmt: skip
    mismatch = portal.post("/portal/insurance/pay/resident", data=family)
    assert "姓名：与社会保障号码在户籍登记中的姓名不一致" in mismatch.text
    assert parent.resident_id not in mismatch.text
    assert bank.execution_count() == 1
    for_parent = portal.post("/portal/insurance/pay/resident", data={**family, "name": parent.name})
    assert "缴费成功" in for_parent.text, for_parent.text
    parent_order = PAID_ORDER.findall(str(for_parent.url))[0]
    assert bank.executions_of(f"{parent_order}-D") == 1
    with platform.session() as session:
        [covered] = queries.list_resident_contributions(session, parent.person_id)
        assert (covered.year, covered.status) == (2027, MonthStatus.PAID)
        assert covered.payer_person_id == holder.person_id

    # The rights statement (item 28) downloads as a PDF; anyone finds it by its code.
    statement = portal.post(
        "/portal/insurance/documents",
        data={"csrf_token": token, "document": "rights_statement", "year": "2026"},
    )
    assert statement.headers["content-type"] == "application/pdf"
    assert statement.headers["content-disposition"].startswith("attachment")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(statement.content)).pages)
    with platform.session() as session:
        document = session.scalars(
            select(InsuranceDocument).where(InsuranceDocument.kind == "rights_statement")
        ).one()
    code = "-".join(re.findall("....", document.verification_code))
    assert code in text
    public = TestClient(create_app(platform))
    found = public.get(f"/verify/{code}")
    assert found.status_code == 200
    assert "社会保险个人权益记录单" in found.text
    assert document.document_no in found.text
    assert mask_name(holder.name) in found.text
    assert holder.name not in found.text
    assert "96 个月" in found.text  # employee pension months in all
    assert public.get("/verify", params={"code": code.lower().replace("-", "")}).status_code == 200
    assert public.get("/verify", params={"code": kiosk_code}).status_code == 200
    unknown = public.get("/verify/ABCD-EFGH-JKLM")
    assert unknown.status_code == 404
    assert "没有这个验证码对应的凭证" in unknown.text
    assert "验证码：" in public.get("/verify/O0O0").text

    # Another holder's document is not found behind this session.
    assert portal.get(f"{framed.replace('/kiosk/', '/portal/')}").status_code == 200
    stranger = _portal(platform, parent)
    assert stranger.get(framed.replace("/kiosk/", "/portal/")).status_code == 404
    assert stranger.get(f"/portal/insurance/payments/{order_no}").status_code == 404

    # Every use of the card was recorded against its item, the refused PIN too.
    uses = _uses(platform, holder.person_id)
    done = {u.item_no for u in uses if u.outcome is UseOutcome.SUCCESS}
    assert {22, 27, 28, 29, 30} <= done
    assert [u.refusal_code for u in uses if u.outcome is UseOutcome.REFUSED] == ["pin_incorrect"]
    _books_balance(platform)


def test_a_flexible_worker_enrols_declares_pays_and_transfers_out_on_the_portal(
    platform: Platform, bank: SandboxBank
) -> None:
    [worker] = _holders(platform, bank, 1, deposit=10_000)
    portal = _portal(platform, worker)
    token = _csrf(portal, "/portal/insurance/enrol")
    form = {"csrf_token": token, "kind": "flexible", "wage": "3000"}
    low = portal.post("/portal/insurance/enrol", data=form)
    assert "月缴费基数：应在 ¥4,200.00 至 ¥21,000.00 之间。" in low.text
    checked = portal.post("/portal/insurance/enrol", data={**form, "wage": "5,000"})
    assert "<dd>¥1,400.00（职工养老 ¥1,000.00、职工医保 ¥400.00）</dd>" in checked.text
    enrolled = portal.post("/portal/insurance/enrol/confirm", data={**form, "wage": "5,000"})
    assert "参保登记已办理" in enrolled.text

    # Declare November and December (item 23), then pay: the bank refuses for want of funds.
    declared = portal.post(
        "/portal/insurance/declarations",
        data={"csrf_token": token, "first_period": "202611", "last_period": "202612"},
    )
    assert "申报已提交" in declared.text
    with platform.session() as session:
        [declaration] = queries.list_declarations(session, person_id=worker.person_id)
    number = declaration.declaration_no
    assert declaration.total_minor == 280_000
    refused = portal.post(
        f"/portal/insurance/declarations/{number}/pay", data={"csrf_token": token, "pin": PIN}
    )
    assert "缴费未成功" in refused.text
    assert "余额不足" in refused.text
    overview = portal.get("/portal/insurance")
    assert "欠费" in overview.text
    assert 'class="row-overdue"' in overview.text
    bank.deposit(worker.bank_code, worker.account, 300_000)
    paid = portal.post(
        f"/portal/insurance/declarations/{number}/pay", data={"csrf_token": token, "pin": PIN}
    )
    assert "缴费成功" in paid.text, paid.text
    order_no = PAID_ORDER.findall(str(paid.url))[0]
    assert bank.executions_of(f"{order_no}-D") == 1
    assert "2 个月 · ¥2,800.00" in portal.get("/portal/insurance").text

    # The kiosk sends transfers to the counter or the portal; the portal does it (item 24).
    kiosk = _kiosk(platform, worker)
    assert kiosk.get("/kiosk/insurance/transfer").status_code == 404
    wrong_region = portal.post(
        "/portal/insurance/transfer",
        data={"csrf_token": token, "region_code": "431102", "region_name": "零陵区"},
    )
    assert "转入地行政区划代码：永州市内的县区之间不需要转移。" in wrong_region.text
    target = {"csrf_token": token, "region_code": "440305", "region_name": "广东省深圳市南山区"}
    confirm = portal.post("/portal/insurance/transfer", data=target)
    assert "请确认" in confirm.text
    with platform.session() as session:
        assert queries.list_transfers_of(session, worker.person_id) == []
    moved = portal.post("/portal/insurance/transfer/confirm", data=target)
    assert "关系已转出至广东省深圳市南山区" in moved.text
    data_uri = re.findall(r'href="data:application/json;base64,([^"]+)"', moved.text)[0]
    data = json.loads(base64.b64decode(data_uri))
    body = json.dumps(data["body"], ensure_ascii=False, sort_keys=True)
    assert data["digest"] == sm3_hex(body.encode())
    assert [m["period"] for m in data["body"]["months"]] == [202611, 202612]
    certificate = re.findall(r'href="(/portal/insurance/documents/ZM\d+\.pdf)"', moved.text)[0]
    assert portal.get(certificate).content.startswith(b"%PDF")
    [code] = CODE.findall(moved.text)
    assert "广东省深圳市南山区" in TestClient(create_app(platform)).get(f"/verify/{code}").text
    # The data file can be downloaded again from 我的社保, the same bytes; nobody else's.
    mine = portal.get("/portal/insurance").text
    [again] = re.findall(r'href="(/portal/insurance/transfers/ZY\d+/data-file)"', mine)
    assert portal.get(again).content == base64.b64decode(data_uri)
    assert portal.get("/portal/insurance/transfers/ZY209901000001/data-file").status_code == 404
    uses = {u.item_no for u in _uses(platform, worker.person_id)}
    assert {22, 23, 24, 29, 30} <= uses
    _books_balance(platform)
