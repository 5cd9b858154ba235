"""The leading group's card panels: card-holding and bank-account activation rates per county
from real card rows, equal to a direct SQL count."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from socialcard.bootstrap import Platform
from socialcard.cards import services as cards
from socialcard.cards.services import Handling
from socialcard.db import transaction
from socialcard.server import create_app
from tests.e2e.test_web_pages import log_in
from tests.support import add_person, give_card, make_staff, resident_id_for


def test_holding_and_activation_rates_come_from_the_cards(platform: Platform) -> None:
    people = [add_person(platform, resident_id_for("431124", "19800101", n)) for n in range(1, 5)]
    numbers = [give_card(platform, person) for person in people[:3]]
    give_card(
        platform, add_person(platform, resident_id_for("431102", "19800101", 9), county="431102")
    )
    with platform.session() as session, transaction(session):
        cards.activate_bank_account(
            session,
            card_number=numbers[0],
            bank_code="ICBC",
            handling=Handling(channel="bank", at=platform.clock.now()),
        )
        cards.report_loss(
            session,
            platform.card_policy,
            card_number=numbers[2],
            kind=cards.LossReportKind.TEMPORARY,
            handling=Handling(channel="phone", at=platform.clock.now()),
        )
    with platform.session() as session:
        usable, activated = session.execute(
            text(
                "SELECT count(*), count(bank_account_activated_at) FROM cards "
                "WHERE issuing_region_code = '431124' AND status = 'active'"
            )
        ).one()
        residents = session.execute(
            text(
                "SELECT count(*) FROM persons "
                "WHERE residence_county_code = '431124' AND status = 'living'"
            )
        ).scalar_one()
    assert (usable, activated, residents) == (2, 1, 4)

    client = TestClient(create_app(platform))
    log_in(client, platform, make_staff(platform, "leader", roles=("leading_group",)))
    page = client.get("/dashboard").text
    assert "道县：可用社保卡 2 张 ÷ 在册人员 4 人" in page
    assert "道县：已激活银行账户 1 张 ÷ 可用社保卡 2 张" in page
    assert "零陵区：可用社保卡 1 张 ÷ 在册人员 1 人" in page
    assert "全市 60.0%" in page  # 3 usable cards ÷ 5 residents
