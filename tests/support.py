"""Helpers shared by tests: staff accounts with roles, logged-in clients, household files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyotp
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from socialcard.access import services as access
from socialcard.access.policy import load_policy
from socialcard.bootstrap import Platform, alembic_config
from socialcard.cards import production, sandbox_factory
from socialcard.cards import services as cards
from socialcard.cards.services import Handling
from socialcard.catalog import services as catalog_services
from socialcard.catalog.models import OpeningStatus
from socialcard.db import transaction
from socialcard.kernel.clock import local_today
from socialcard.kernel.resident_id import ResidentId, check_character
from socialcard.registry.household.rules import PersonRecord
from socialcard.registry.models import PersonStatus
from socialcard.registry.services import register_person
from socialcard.server import create_app

PASSWORD = "Correct-horse-42"
HOUSEHOLD_HEADER = "公民身份号码,姓名,性别,民族,户籍地区划,现住乡镇,现住址,联系电话,人员状态\n"


@dataclass(frozen=True)
class StaffAccount:
    staff_id: int
    username: str
    password: str
    totp_secret: str | None

    def one_time_code(self, platform: Platform) -> str | None:
        if self.totp_secret is None:
            return None
        return pyotp.TOTP(self.totp_secret).at(platform.clock.now())


def make_staff(
    platform: Platform,
    username: str,
    *,
    roles: tuple[str, ...] = ("clerk",),
    scope: str = "431100",
    department: str = "hrss",
) -> StaffAccount:
    policy = load_policy()
    with platform.session() as session, transaction(session):
        staff = access.create_staff(
            session,
            username=username,
            display_name=f"测试{username}",
            password=PASSWORD,
            department_code=department,
            scope_region_code=scope,
            created_at=platform.clock.now(),
        )
        for role in roles:
            access.grant_role(
                session,
                policy,
                staff_id=staff.id,
                role=role,
                granted_by=None,
                at=platform.clock.now(),
            )
        secret = None
        if policy.needs_second_factor(frozenset(roles)):
            secret = access.enrol_totp(session, platform.keys, staff_id=staff.id)
        return StaffAccount(staff.id, username, PASSWORD, secret)


def api_client(platform: Platform, account: StaffAccount | None = None) -> TestClient:
    """A client of the app; with an account, it carries a bearer token for it."""
    client = TestClient(create_app(platform))
    if account is not None:
        with platform.session() as session, transaction(session):
            token = access.issue_api_token(
                session, staff_id=account.staff_id, name="test", at=platform.clock.now()
            )
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def write_household_file(
    folder: Path, rows: list[str], *, name: str = "household.csv", encoding: str = "utf-8"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes((HOUSEHOLD_HEADER + "".join(r + "\n" for r in rows)).encode(encoding))
    return path


def resident_id_for(address: str, birth: str, sequence: int) -> str:
    """A valid 18-character ID number: address code, YYYYMMDD, 3-digit sequence, check char."""
    first17 = f"{address}{birth}{sequence:03d}"
    return first17 + check_character(first17)


def add_person(
    platform: Platform,
    number: str,
    *,
    name: str = "张三",
    county: str = "431124",
    phone: str | None = "13812345678",
) -> int:
    """Register one living person through the registry service; returns the person id."""
    record = PersonRecord(
        resident_id=ResidentId.parse(number, today=local_today(platform.clock)),
        name=name,
        ethnicity="汉族",
        household_region_code=county,
        household_address=None,
        residence_county_code=county,
        residence_township=None,
        residence_address="某某路8号",
        phone=phone,
        status=PersonStatus.LIVING,
        status_changed_on=None,
    )
    with platform.session() as session, transaction(session):
        return register_person(
            session, platform.keys, record, source="counter", at=platform.clock.now()
        ).id


def change_opening(
    platform: Platform,
    item_no: int,
    region: str,
    status: OpeningStatus,
    on: date,
    *,
    reason: str | None = None,
) -> None:
    """Open, suspend or close an item through the catalogue service, in its own transaction."""
    with platform.session() as session, transaction(session):
        catalog_services.change_opening(
            session,
            item_no=item_no,
            region_code=region,
            status=status,
            effective_on=on,
            reason=reason,
            recorded_by=None,
            at=platform.clock.now(),
        )


def counter(platform: Platform, *, staff_id: int | None = None, region: str = "431124") -> Handling:
    """A counter handling at the platform's clock."""
    return Handling(
        channel="counter", at=platform.clock.now(), staff_id=staff_id, region_code=region
    )


def give_card(
    platform: Platform,
    person_id: int,
    *,
    pin: str = "246810",
    bank_code: str = "ICBC",
    activate: bool = True,
) -> str:
    """Take one person through the real card flow: apply with photo, a production batch, the
    sandbox factory (no failures), issue and (by default) activate with `pin`."""
    with platform.session() as session, transaction(session):
        card = cards.apply_for_card(
            session,
            platform.keys,
            platform.card_policy,
            person_id=person_id,
            bank_code=bank_code,
            handling=counter(platform),
            photo_collected=True,
        )
        number = card.card_number
        sent = production.create_production_batch(
            session,
            platform.keys,
            platform.card_policy,
            bank_code=bank_code,
            handling=counter(platform),
        )
    returned = sandbox_factory.produce(sent.send_file, at=platform.clock.now(), failure_rate=0)
    with platform.session() as session, transaction(session):
        production.apply_production_return(
            session,
            platform.keys,
            batch_no=sent.batch.batch_no,
            content=returned,
            handling=counter(platform),
        )
        cards.issue_card(
            session, platform.card_policy, card_number=number, handling=counter(platform)
        )
        if activate:
            cards.activate_card(
                session,
                platform.keys,
                platform.card_policy,
                card_number=number,
                new_pin=pin,
                handling=counter(platform),
            )
    return number


def migrate_down_and_up(platform: Platform, revision: str) -> None:
    """Take the platform's database down to `revision` and up to the newest again, as an
    operator's upgrade of a database written by older code would."""
    _migrate(platform, down_to=revision, up=True)


def migrate_down(platform: Platform, revision: str) -> None:
    """Take the platform's database down to `revision`, as older code would find it."""
    _migrate(platform, down_to=revision, up=False)


def _migrate(platform: Platform, *, down_to: str, up: bool) -> None:
    # The platform's engine is disposed of first: its pooled connections would hold locks the
    # migrations need.
    url = platform.engine.url.render_as_string(hide_password=False)
    platform.engine.dispose()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.downgrade(config, down_to)
            if up:
                command.upgrade(config, "head")
    finally:
        engine.dispose()
