"""The software card and the terminal simulator: the read flow of a real card (select, read
record), PIN verification on the chip, and a MAC-protected write into a data area whose MAC the
platform computes for a signed terminal — end to end through the API, on both databases."""

from __future__ import annotations

import pytest

from socialcard.bootstrap import Platform
from socialcard.cards import card_areas, queries
from socialcard.cards.services import Handling, LossReportKind, report_loss
from socialcard.cards.softcard import CardCommandFailed, CardReader
from socialcard.db import transaction
from tests.e2e.test_cards_api import _terminal
from tests.support import add_person, api_client, give_card, make_staff, resident_id_for

RESIDENT_ID = resident_id_for("431124", "19800101", 3)


def test_read_verify_and_write_the_software_card(platform: Platform) -> None:
    number = give_card(platform, add_person(platform, RESIDENT_ID, name="欧阳修"))
    admin = api_client(platform, make_staff(platform, "sysadmin", roles=("system_admin",)))
    hospital = _terminal(platform, admin, "HIS-431124-01", "hospital")
    pharmacy = _terminal(platform, admin, "POS-431124-01", "pharmacy")
    with platform.session() as session:
        card = queries.get_card(session, number)
        soft = card_areas.personalise_soft_card(session, platform.keys, card, pin="246810")
    reader = CardReader(soft)

    basic = reader.read_basic()
    assert basic == {
        "card_uid": card.card_uid,
        "card_number": number,
        "resident_id": RESIDENT_ID,
        "name": "欧阳修",
    }
    assert reader.log[0][0].hex().upper() == "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
    with pytest.raises(CardCommandFailed) as unverified:
        reader.read("DF04", "EF05", 1)
    assert unverified.value.status == "6982"
    assert reader.verify_pin("111111") == b"\x63\xc2"
    assert reader.verify_pin("246810") == b"\x90\x00"

    # 门诊统筹登记 (item 43) written into the medical area DF04/EF05 record 1.
    value = "门诊统筹:永州市中心医院".encode("gbk")
    challenge = reader.begin_write("DF04", "EF05")
    request = {
        "card_number": number,
        "area": "DF04",
        "file_id": "EF05",
        "record_no": 1,
        "value_hex": value.hex(),
        "challenge_hex": challenge.hex(),
    }
    refused = pharmacy.post("/api/v1/terminal/cards/area-writes", request)
    assert refused.status_code == 403  # a pharmacy POS does not write cards
    answer = hospital.post("/api/v1/terminal/cards/area-writes", request)
    assert answer.status_code == 200, answer.text
    mac = bytes.fromhex(answer.json()["mac_hex"])

    forged_value = value.replace("永州".encode("gbk"), "长沙".encode("gbk"))
    with pytest.raises(CardCommandFailed) as tampered:
        reader.write(1, forged_value, mac)
    assert tampered.value.status == "6988"  # the MAC does not cover the altered record
    with pytest.raises(CardCommandFailed) as reused:
        reader.write(1, value, mac)
    assert reused.value.status == "6984"  # the failed attempt used up the challenge
    request["challenge_hex"] = reader.begin_write("DF04", "EF05").hex()
    answer = hospital.post("/api/v1/terminal/cards/area-writes", request)
    mac = bytes.fromhex(answer.json()["mac_hex"])
    reader.write(1, value, mac)
    assert reader.read("DF04", "EF05", 1) == value
    confirmed = hospital.post(
        "/api/v1/terminal/cards/area-writes/confirm",
        {"card_number": number, "area": "DF04", "file_id": "EF05", "record_no": 1},
    )
    assert confirmed.status_code == 204, confirmed.text
    with platform.session() as session:
        (record,) = card_areas.list_area_records(session, card.id)
        assert bytes.fromhex(record.written_value or "") == value
        again = card_areas.personalise_soft_card(session, platform.keys, card, pin="246810")
    assert again.records[("DF04", "EF05")][1] == value

    reader.select_path("SSSE", "EF05")
    with pytest.raises(CardCommandFailed) as basic_write:
        reader.write(7, b"B00000000", b"\x00" * 4)
    assert basic_write.value.status == "6982"

    with platform.session() as session, transaction(session):
        report_loss(
            session,
            platform.card_policy,
            card_number=number,
            kind=LossReportKind.TEMPORARY,
            handling=Handling(channel="phone", at=platform.clock.now()),
        )
    lost = hospital.post("/api/v1/terminal/cards/area-writes", request)
    assert lost.status_code == 409
    assert lost.json()["code"] == "card_reported_lost"
