"""The cardholder's doors: the portal (sign in with ID number, card and PIN; temporary loss
report online; the electronic card's QR code) and the kiosk (card + PIN, menu of opened items,
automatic sign-out), on both databases."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from socialcard.access.audit import list_records
from socialcard.bootstrap import Platform
from socialcard.cards import queries
from socialcard.cards.door import ElectronicCard
from socialcard.cards.ecard import issue_ecard_token, read_ecard_token
from socialcard.cards.errors import CardReportedLost
from socialcard.catalog.models import Channel, OpeningStatus
from socialcard.http.cards import use_card
from socialcard.kernel.clock import FixedClock
from socialcard.server import create_app
from tests.support import add_person, change_opening, give_card, resident_id_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RESIDENT_ID = resident_id_for("431124", "19800101", 1)


def _holder(platform: Platform) -> tuple[str, TestClient]:
    number = give_card(platform, add_person(platform, RESIDENT_ID, name="王五"))
    return number, TestClient(create_app(platform))


def _sign_in(client: TestClient, number: str, pin: str = "246810", rid: str = RESIDENT_ID) -> str:
    response = client.post(
        "/portal/sign-in", data={"resident_id": rid, "card_number": number, "pin": pin}
    )
    return response.text


def test_portal_sign_in_counts_wrong_pins_and_reports_loss_online(platform: Platform) -> None:
    change_opening(platform, 29, "431100", OpeningStatus.OPENED, date(2015, 9, 1))
    number, client = _holder(platform)
    assert "持卡人登录" in client.get("/portal").text
    assert "还可尝试 5 次" in _sign_in(client, number, pin="000000")
    other_id = resident_id_for("431124", "19800101", 2)
    assert "持卡人登录" in _sign_in(client, number, rid=other_id)  # someone else's ID number
    with platform.session() as session:
        assert queries.get_card(session, number).pin_failures == 1

    home = client.get("/portal")
    assert "持卡人登录" in home.text
    page = _sign_in(client, number)
    assert "我的社会保障卡" in page
    assert "王*" in page
    assert RESIDENT_ID not in page
    with platform.session() as session:
        assert queries.get_card(session, number).pin_failures == 0

    token = CSRF.findall(client.get("/portal").text)[0]
    reported = client.post("/portal/loss-report", data={"csrf_token": token})
    assert "已临时挂失" in reported.text
    assert "临时挂失" in reported.text
    with platform.session() as session:
        assert any(r.action == "card.report_temporary" for r in list_records(session, limit=50))

    forged = client.post("/portal/loss-report/cancel", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    token = CSRF.findall(client.get("/portal").text)[0]
    assert (
        "已解除临时挂失"
        in client.post("/portal/loss-report/cancel", data={"csrf_token": token}).text
    )


def test_the_ecard_shows_a_fresh_code_and_stops_with_the_card(platform: Platform) -> None:
    change_opening(platform, 29, "431100", OpeningStatus.OPENED, date(2015, 9, 1))
    number, client = _holder(platform)
    _sign_in(client, number)
    page = client.get("/portal/ecard")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text
    code = client.get("/portal/ecard/code").json()
    assert code["seconds"] == 60
    assert code["image"].startswith("data:image/svg+xml")

    with platform.session() as session:
        card = queries.get_card(session, number)
    # The code on the page is a real token: a terminal can use it.
    token, _ = issue_ecard_token(
        platform.keys, platform.card_policy, card=card, at=platform.clock.now()
    )
    assert (
        read_ecard_token(platform.keys, token, at=platform.clock.now(), seconds=60).card_id
        == card.id
    )
    use_card(platform, None, credential=ElectronicCard(token), item_no=29, channel=Channel.HOSPITAL)

    csrf = CSRF.findall(client.get("/portal").text)[0]
    client.post("/portal/loss-report", data={"csrf_token": csrf})
    assert "电子社保卡同时停用" in client.get("/portal/ecard").text
    with pytest.raises(CardReportedLost):
        use_card(
            platform, None, credential=ElectronicCard(token), item_no=29, channel=Channel.HOSPITAL
        )


def test_the_kiosk_signs_in_with_card_and_pin_and_signs_out_by_itself(platform: Platform) -> None:
    change_opening(platform, 29, "431124", OpeningStatus.OPENED, date(2015, 9, 1))
    change_opening(platform, 27, "431100", OpeningStatus.OPENED, date(2015, 9, 1))
    change_opening(platform, 28, "431102", OpeningStatus.OPENED, date(2015, 9, 1))
    number, kiosk = _holder(platform)
    assert "请插入社会保障卡" in kiosk.get("/kiosk").text
    wrong = kiosk.post("/kiosk/sign-in", data={"card_number": number, "pin": "111222"})
    assert "密码错误，还可尝试 5 次" in wrong.text
    menu = kiosk.post("/kiosk/sign-in", data={"card_number": number, "pin": "246810"})
    assert menu.status_code == 200
    assert "个人参保信息查询" in menu.text  # item 29, opened in 道县
    assert "参保缴费凭证查询及打印" in menu.text  # item 27, opened for the city
    assert "个人权益记录单" not in menu.text  # item 28, opened only in 零陵区
    assert 'data-idle-seconds="90"' in menu.text

    token = CSRF.findall(menu.text)[0]
    changed = kiosk.post(
        "/kiosk/pin", data={"csrf_token": token, "old_pin": "246810", "new_pin": "802417"}
    )
    assert "密码已修改" in changed.text
    token = CSRF.findall(changed.text)[0]
    refused = kiosk.post(
        "/kiosk/pin", data={"csrf_token": token, "old_pin": "246810", "new_pin": "135790"}
    )
    assert "密码未修改" in refused.text
    with platform.session() as session:
        assert queries.get_card(session, number).pin_failures == 1

    assert isinstance(platform.clock, FixedClock)
    platform.clock.advance(timedelta(seconds=91))
    expired = kiosk.get("/kiosk/menu", follow_redirects=False)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/kiosk"


def test_a_resident_without_a_card_applies_online_with_a_code(platform: Platform) -> None:
    rid = resident_id_for("431124", "19950101", 4)
    add_person(platform, rid, name="柳宗元", phone="13907465678")
    client = TestClient(create_app(platform))
    outbox = platform.settings.data_dir / "sms-outbox.log"
    assert "网上申领社会保障卡" in client.get("/portal/apply").text

    wrong_phone = client.post(
        "/portal/apply/code", data={"resident_id": rid, "name": "柳宗元", "phone": "13900000000"}
    )
    assert "如信息无误，验证码已发送" in wrong_phone.text  # says the same either way
    assert not outbox.exists()

    sent = client.post(
        "/portal/apply/code", data={"resident_id": rid, "name": "柳宗元", "phone": "139 0746 5678"}
    )
    code_id = re.findall(r'name="code_id" value="(\d+)"', sent.text)[0]
    message = outbox.read_text(encoding="utf-8")
    assert "13907465678" in message
    code = re.findall(r"验证码为 (\d{6})", message)[-1]

    wrong = "000000" if code != "000000" else "111111"
    refused = client.post(
        "/portal/apply/confirm", data={"code_id": code_id, "code": wrong, "bank_code": "ABC"}
    )
    assert "验证码不正确或已过期" in refused.text
    done = client.post(
        "/portal/apply/confirm", data={"code_id": code_id, "code": code, "bank_code": "ABC"}
    )
    assert "申领已受理" in done.text
    number = re.findall(r'class="mono">([A-Z]\d{8})<', done.text)[0]
    with platform.session() as session:
        card = queries.get_card(session, number)
        assert card.status.value == "applied"
        assert card.application_channel == "web"
    again = client.post(
        "/portal/apply/confirm", data={"code_id": code_id, "code": code, "bank_code": "ABC"}
    )
    assert "验证码不正确或已过期" in again.text  # a code is used once
