"""Build the demo city on a migrated database: staff, institutions and a household register
imported through the real import job.

The household file is kept under `<data_dir>/demo/` with its stats beside it and reused when it
is already there, so running the demo again imports the same file again and every person comes
out unchanged. An import of the same file that did not finish is resumed instead of restarted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from socialcard.access.audit import Actor
from socialcard.access.models import Staff
from socialcard.access.policy import load_policy
from socialcard.bootstrap import Platform, ensure_reference_data
from socialcard.db import transaction
from socialcard.demo.cards import DemoCards, create_demo_cards, demo_cards_exist
from socialcard.demo.catalog import DemoRollout, create_demo_rollout, demo_rollout_exists
from socialcard.demo.household import HouseholdFileStats, ensure_household_csv
from socialcard.demo.insurance import DemoInsurance, create_demo_insurance, demo_insurance_exists
from socialcard.demo.money import DemoMoney, create_demo_money, demo_money_exists
from socialcard.demo.reference import ReferenceDataAdded, create_reference_data
from socialcard.demo.staff import (
    DEMO_ACCOUNTS,
    DemoAccount,
    DemoPasswords,
    attach_employer_agents,
    create_demo_staff,
)
from socialcard.jobs.household_import import (
    ImportOutcome,
    ProgressCallback,
    run_household_import,
)
from socialcard.kernel.clock import local_today
from socialcard.registry.household.importer import (
    create_import,
    file_digest,
    find_unfinished_import,
)

DEFAULT_SEED = 2026
IMPORTING_ROLE = "registry_officer"


@dataclass(frozen=True, slots=True)
class DemoCity:
    """What generate_demo_city made: the logins, the import's outcome and the file."""

    accounts: list[DemoAccount]
    reference_added: ReferenceDataAdded
    household_file: Path
    household_stats: HouseholdFileStats
    outcome: ImportOutcome
    rollout: DemoRollout | None  # None when the rollout existed already
    cards: DemoCards | None  # None when the cards existed already
    money: DemoMoney | None  # None when it existed already or the bank is not the sandbox
    insurance: DemoInsurance | None  # None when it existed already


def demo_city_exists(platform: Platform) -> bool:
    """Tell whether the demo city was generated in this database (its importing account is
    there), so that `serve --demo` starts on it instead of generating it again."""
    username = next(plan.username for plan in DEMO_ACCOUNTS if plan.role == IMPORTING_ROLE)
    with platform.session() as session:
        stmt = select(Staff.id).where(Staff.username == username)
        return session.scalars(stmt).first() is not None


def demo_household_path(platform: Platform, *, residents: int, seed: int, messy: bool) -> Path:
    """Where the demo keeps the household file for these parameters."""
    name = f"household-{residents}-seed{seed}{'-messy' if messy else ''}.csv"
    return platform.settings.data_dir / "demo" / name


def generate_demo_city(
    platform: Platform,
    *,
    residents: int,
    seed: int = DEFAULT_SEED,
    messy: bool,
    on_progress: ProgressCallback | None = None,
    passwords: DemoPasswords | None = None,
) -> DemoCity:
    """Fill a migrated database with the demo city: reference data, staff, institutions and
    `residents` persons imported from a synthetic household register. `passwords`: the demo
    accounts' passwords, hashing since the caller started (DemoPasswords)."""
    ensure_reference_data(platform)
    # The register first: it needs nothing else, and the passwords hash meanwhile.
    path = demo_household_path(platform, residents=residents, seed=seed, messy=messy)
    stats = ensure_household_csv(
        path, residents=residents, seed=seed, today=local_today(platform.clock), messy=messy
    )
    with platform.session() as session, transaction(session):
        at = platform.clock.now()
        accounts = create_demo_staff(
            session, load_policy(), platform.keys, at=at, passwords=passwords
        )
        reference_added = create_reference_data(session, at=at, seed=seed)
        attach_employer_agents(session)  # the employers exist only now
    officer = next(a for a in accounts if a.role == IMPORTING_ROLE)
    actor = Actor(
        staff_id=officer.staff_id,
        username=officer.username,
        roles=(officer.role,),
        department_code=officer.department_code,
    )
    digest = file_digest(path)
    with platform.session() as session, transaction(session):
        job = find_unfinished_import(session, digest) or create_import(
            session,
            file_name=path.name,
            stored_path=path,
            encoding="utf-8",
            created_by=officer.staff_id,
            at=platform.clock.now(),
        )
        import_id = job.id
    outcome = run_household_import(
        platform.sessions,
        platform.keys,
        platform.clock,
        import_id=import_id,
        actor=actor,
        chunk_size=platform.settings.import_chunk_size,
        on_progress=on_progress,
    )
    with platform.session() as session, transaction(session):
        rollout = (
            None
            if demo_rollout_exists(session)
            else create_demo_rollout(
                session,
                seed=seed,
                today=local_today(platform.clock),
                at=platform.clock.now(),
                uses=residents * 2,
            )
        )
    with platform.session() as session, transaction(session):
        demo_cards = (
            None
            if demo_cards_exist(session)
            else create_demo_cards(
                session,
                platform.keys,
                platform.card_policy,
                seed=seed,
                at=platform.clock.now(),
                data_dir=platform.settings.data_dir,
            )
        )
    with platform.session() as session:
        money_exists = demo_money_exists(session)
    money = (
        None
        if money_exists
        else create_demo_money(
            platform, seed=seed, holders=demo_cards.walkthrough if demo_cards else ()
        )
    )
    with platform.session() as session:
        insurance_exists = demo_insurance_exists(session)
    insurance = None if insurance_exists else create_demo_insurance(platform, seed=seed)
    return DemoCity(
        money=money,
        insurance=insurance,
        accounts=accounts,
        reference_added=reference_added,
        household_file=path,
        household_stats=stats,
        outcome=outcome,
        rollout=rollout,
        cards=demo_cards,
    )
