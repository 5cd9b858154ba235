"""The composition root: settings → keys → engine → session factory → reference data.

The only place that wires concrete pieces together. Entry points (api, web, cli, jobs) call
build_platform(settings) once and pass the result down; nothing connects at import time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import Session, sessionmaker

from socialcard.access.verification import SandboxSmsGateway, SmsGateway
from socialcard.banks.file_exchange import FileExchangeGateway
from socialcard.banks.gateway import BankGateway
from socialcard.banks.sandbox import SandboxBank
from socialcard.cards.policy import CardPolicy
from socialcard.catalog.bindings import Binding, collect_bindings
from socialcard.config import Settings
from socialcard.db import Base, make_engine, make_session_factory, transaction
from socialcard.kernel.clock import Clock, SystemClock
from socialcard.kernel.crypto import KeyRing


def load_all_models() -> MetaData:
    """Import every area's models so Base.metadata knows all tables."""
    import socialcard.access.models
    import socialcard.banks.models
    import socialcard.cards.models
    import socialcard.catalog.models
    import socialcard.disbursement.models
    import socialcard.insurance.models
    import socialcard.ledger.models
    import socialcard.payments.models
    import socialcard.regions.models
    import socialcard.registry.models  # noqa: F401

    return Base.metadata


class KeyFileMissing(RuntimeError):
    """Production refuses to invent keys: they must be provisioned."""


def load_or_create_keys(path: Path, *, may_create: bool) -> KeyRing:
    """Read the key file; in development create it (mode 0600) on first start."""
    if path.exists():
        return KeyRing.from_json_dict(json.loads(path.read_text(encoding="utf-8")))
    if not may_create:
        raise KeyFileMissing(f"key file {path} does not exist; provision it before starting")
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = KeyRing.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(keys.to_json_dict(), handle)
    return keys


@dataclass
class Platform:
    """Everything an entry point needs, built once."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyRing
    bank: BankGateway
    clock: Clock = field(default_factory=SystemClock)
    card_policy: CardPolicy = field(default_factory=CardPolicy)
    sms: SmsGateway | None = None

    def session(self) -> Session:
        return self.sessions()


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", "socialcard:migrations")
    config.attributes["database_url"] = database_url
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (alembic upgrade head)."""
    with engine.begin() as connection:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ensure_reference_data(platform: Platform) -> None:
    """Insert shipped reference data that is missing (regions, departments, the catalogue,
    the example fee schedules and insurance parameters, the insurance funds' ledger accounts)."""
    from socialcard.access.services import ensure_departments
    from socialcard.catalog.services import load_catalog, shipped_catalog
    from socialcard.insurance.accounts import ensure_fund_accounts
    from socialcard.insurance.parameters import ensure_example_parameters
    from socialcard.payments.schedules import ensure_fee_schedules
    from socialcard.regions.services import ensure_regions

    with platform.session() as session, transaction(session):
        ensure_regions(session)
        ensure_departments(session)
        load_catalog(session, shipped_catalog(), at=platform.clock.now())
        ensure_fee_schedules(session, platform.clock.now())
        ensure_example_parameters(session, at=platform.clock.now())
        ensure_fund_accounts(session, at=platform.clock.now())


def catalog_bindings() -> dict[int, Binding]:
    """Every business area's catalogue bindings, collected once (DESIGN §1). Insurance,
    medical, cases and records add theirs here as they land."""
    from socialcard.disbursement.programmes import CATALOG_BINDINGS as DISBURSEMENT
    from socialcard.insurance.catalogue import CATALOG_BINDINGS as INSURANCE
    from socialcard.payments.schedules import CATALOG_BINDINGS as PAYMENTS

    declared: list[Binding] = [*DISBURSEMENT, *INSURANCE, *PAYMENTS]
    return collect_bindings(declared)


def build_bank_gateway(settings: Settings, *, clock: Clock) -> BankGateway:
    """The configured bank gateway. The settings refuse the sandbox in production; the sandbox
    opens its file on first use, so building a platform touches nothing."""
    if settings.bank_gateway == "file_exchange":
        return FileExchangeGateway(settings.resolved_bank_exchange_dir)
    return SandboxBank(settings.resolved_sandbox_bank_path, clock=clock.now)


def build_platform(settings: Settings, *, clock: Clock | None = None) -> Platform:
    """Wire settings to a ready platform. Creates the data directory for the embedded default."""
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = load_or_create_keys(
        settings.resolved_key_file, may_create=settings.environment != "production"
    )
    engine = make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    the_clock = clock or SystemClock()
    return Platform(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        keys=keys,
        clock=the_clock,
        bank=build_bank_gateway(settings, clock=the_clock),
        card_policy=CardPolicy(
            pin_failures_max=settings.card_pin_failures_max,
            pin_change_required=settings.card_pin_change_required,
            temporary_loss_days=settings.card_temporary_loss_days,
            ecard_token_seconds=settings.ecard_token_seconds,
        ),
        # No SMS provider adapter exists yet: production has none (online application is then
        # closed); elsewhere the sandbox gateway writes the messages to a file.
        sms=None
        if settings.environment == "production"
        else SandboxSmsGateway(settings.data_dir / "sms-outbox.log"),
    )
