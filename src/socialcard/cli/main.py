"""The socialcard CLI (Typer + Rich)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from socialcard.access import services as access
from socialcard.access.audit import verify_chain, write_checkpoint
from socialcard.access.policy import load_policy
from socialcard.bootstrap import Platform
from socialcard.cli.banks import banks_app
from socialcard.cli.cards import cards_app, nightly, terminals_app
from socialcard.cli.insurance import insurance_app
from socialcard.cli.money import disbursement_app, ledger_app, messages_app
from socialcard.cli.payments import payments_app
from socialcard.cli.platform import (
    OPERATOR,
    audit_cli,
    closing_platforms,
    domain_errors,
    err,
    out,
    ready_platform,
)
from socialcard.cli.reports import reports_app
from socialcard.db import transaction
from socialcard.kernel.clock import local_today
from socialcard.kernel.resident_id import ResidentId

if TYPE_CHECKING:
    from socialcard.demo.staff import DemoPasswords

app = typer.Typer(
    help="永州市社会保障卡（市民卡）综合应用平台 — operator commands.", no_args_is_help=True
)
demo_app = typer.Typer(help="The synthetic demo city.", no_args_is_help=True)
import_app = typer.Typer(help="Department data imports.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts and roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
persons_app = typer.Typer(help="The resident registry.", no_args_is_help=True)
catalog_app = typer.Typer(help="The application catalogue (应用目录).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(import_app, name="import")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(persons_app, name="persons")
app.add_typer(catalog_app, name="catalog")
app.add_typer(reports_app, name="report")
app.add_typer(cards_app, name="cards")
app.add_typer(terminals_app, name="terminals")
app.add_typer(ledger_app, name="ledger")
app.add_typer(disbursement_app, name="disbursement")
app.add_typer(messages_app, name="messages")
app.add_typer(banks_app, name="banks")
app.add_typer(payments_app, name="payments")
app.add_typer(insurance_app, name="insurance")
app.command("nightly")(closing_platforms(nightly))


@app.command("migrate")
@closing_platforms
def migrate_database() -> None:
    """Create or upgrade the database schema to the newest migration."""
    platform = ready_platform()
    out.print(f"database migrated: {platform.engine.url.render_as_string(hide_password=True)}")


@app.command()
@closing_platforms
def serve(
    demo: bool = typer.Option(
        False, "--demo", help="Create a demo city first (empty database only)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to bind (keep 127.0.0.1 behind a proxy)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    residents: int = typer.Option(20000, help="Demo residents (with --demo)."),
) -> None:
    """Start the platform (API and web pages); with --demo, on a ready-made demo city."""
    from socialcard.demo.staff import DemoPasswords

    # The demo accounts' passwords hash on a background thread while everything below loads.
    passwords = DemoPasswords() if demo else None
    import uvicorn

    from socialcard.jobs.household_import import list_unfinished_import_ids, start_in_background
    from socialcard.server import create_app

    platform = ready_platform()
    if demo:
        _build_demo(
            platform,
            residents=residents,
            seed=2026,
            messy=True,
            only_if_empty=True,
            passwords=passwords,
        )
    for import_id in list_unfinished_import_ids(platform.sessions):
        out.print(f"resuming household import #{import_id}")
        start_in_background(
            platform.sessions,
            platform.keys,
            platform.clock,
            import_id=import_id,
            actor=OPERATOR,
            chunk_size=platform.settings.import_chunk_size,
        )
    out.print(f"[bold green]socialcard[/] serving on [link]http://{host}:{port}/[/link]")
    uvicorn.run(create_app(platform), host=host, port=port, access_log=False, log_level="warning")


def _build_demo(
    platform: Platform,
    *,
    residents: int,
    seed: int,
    messy: bool,
    only_if_empty: bool,
    passwords: DemoPasswords | None = None,
) -> None:
    from socialcard.demo.city import demo_city_exists, generate_demo_city

    if only_if_empty and demo_city_exists(platform):
        if passwords is not None:
            passwords.close()
        out.print("demo city already present; starting on it")
        _print_accounts(platform)
        return
    with _progress() as progress:
        task = progress.add_task("generating demo city", total=residents)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, 1))

        city = generate_demo_city(
            platform,
            residents=residents,
            seed=seed,
            messy=messy,
            on_progress=advance,
            passwords=passwords,
        )
    out.print(f"demo household import: {city.outcome.summary}")
    if city.rollout is not None:
        out.print(
            f"demo catalogue rollout: {city.rollout.openings} opening changes, "
            f"{city.rollout.card_uses} card uses"
        )
    if city.money is not None:
        money = city.money
        out.print(
            f"demo money: {money.accounts_opened} sandbox bank accounts; grain subsidy batch "
            f"{money.grain_batch}: {money.grain_paid} paid, {money.grain_failed} returned by the "
            f"banks; re-issue {money.reissue_batch or '—'}; waiting for approval: "
            f"{money.waiting_batch or '—'} (/disbursement); the printed holders' fees: "
            f"{'、'.join(money.fees_paid) or '—'} paid, {money.fee_waiting or '—'} waiting"
        )
    if city.insurance is not None:
        insurance = city.insurance
        out.print(
            f"demo insurance: {insurance.employees} employees ({insurance.employees_left} left), "
            f"{insurance.flexible} flexible workers, {insurance.resident_pension} in the resident "
            f"pension, {insurance.resident_medical} in resident medical; {insurance.months} "
            f"months and {insurance.resident_years} resident years migrated; "
            f"{insurance.declarations_paid} declarations paid, {insurance.declarations_due} "
            f"unpaid (arrears: {insurance.arrears_employer or '—'}); relation transfers "
            f"{insurance.transfer_in or '—'} in, {insurance.transfer_out or '—'} out"
        )
    if city.cards is not None:
        out.print(
            f"demo cards: {city.cards.cards} cards, {city.cards.active} active, "
            f"{city.cards.bank_activated} bank accounts activated; "
            f"terminal keys in {city.cards.terminals_file}"
        )
        table = Table(title="demo cardholders (portal /portal, kiosk /kiosk)")
        for column in ("社会保障号码", "card number", "PIN"):
            table.add_column(column)
        for resident_id, number, pin in city.cards.walkthrough:
            table.add_row(resident_id, number, pin)
        out.print(table)
    _print_accounts(platform)


def _print_accounts(platform: Platform) -> None:
    from socialcard.demo.staff import DEMO_PASSWORD, list_demo_accounts

    table = Table(title=f"demo staff accounts (password: {DEMO_PASSWORD})")
    for column in ("username", "role", "scope"):
        table.add_column(column)
    # Secrets are long: fold rather than cut them, whatever the terminal's width.
    table.add_column("TOTP secret (administrators)", overflow="fold")
    for account in list_demo_accounts(platform):
        table.add_row(account.username, account.role, account.scope_name, account.totp_secret or "")
    out.print(table)


@contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out,
    ) as progress:
        yield progress


@demo_app.command("generate")
@closing_platforms
def demo_generate(
    residents: int = typer.Option(20000, help="Number of residents (5300000 = the full city)."),
    seed: int = typer.Option(2026, help="Random seed; the same seed gives the same city."),
    messy: bool = typer.Option(False, help="Mix in bad rows to show the rejection report."),
) -> None:
    """Generate the demo city and import it into the configured database."""
    platform = ready_platform()
    with domain_errors():
        _build_demo(platform, residents=residents, seed=seed, messy=messy, only_if_empty=False)


@import_app.command("household-register")
@closing_platforms
def import_household_register(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    encoding: str | None = typer.Option(None, help="utf-8, gbk or gb18030; detected when omitted."),
    report: Path | None = typer.Option(
        None, help="Write the rejection report here (.csv or .xlsx)."
    ),
) -> None:
    """Import a household-register file (CSV or XLSX); re-running resumes an interrupted import."""
    from socialcard.jobs.household_import import run_household_import
    from socialcard.registry.household.importer import (
        create_import,
        file_digest,
        find_unfinished_import,
    )
    from socialcard.registry.household.report import render_rejections_csv, render_rejections_xlsx
    from socialcard.registry.queries import list_rejections

    platform = ready_platform()
    with domain_errors():
        with platform.session() as session, transaction(session):
            job = find_unfinished_import(session, file_digest(file))
            if job is not None:
                out.print(f"resuming import #{job.id} after row {job.rows_done}")
            else:
                folder = platform.settings.data_dir / "imports"
                folder.mkdir(parents=True, exist_ok=True)
                stored = folder / f"cli-{file.name}"
                if stored.resolve() != file.resolve():
                    shutil.copyfile(file, stored)
                job = create_import(
                    session,
                    file_name=file.name,
                    stored_path=stored,
                    encoding=encoding,
                    created_by=None,
                    at=platform.clock.now(),
                )
            import_id = job.id
        with _progress() as progress:
            task = progress.add_task(f"importing {file.name}", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=max(total, 1))

            outcome = run_household_import(
                platform.sessions,
                platform.keys,
                platform.clock,
                import_id=import_id,
                actor=OPERATOR,
                chunk_size=platform.settings.import_chunk_size,
                on_progress=advance,
            )
        if report is not None:
            with platform.session() as session:
                rejections = list_rejections(session, import_id)
            data = (
                render_rejections_xlsx(rejections)
                if report.suffix.lower() == ".xlsx"
                else render_rejections_csv(rejections)
            )
            report.write_bytes(data)
            out.print(f"rejection report: {report}")
    out.print(f"import #{outcome.import_id} {outcome.status.value}")
    if outcome.failure_reason:
        err.print(f"error[import_failed]: {outcome.failure_reason}", markup=False)
    print(outcome.summary)
    if outcome.failure_reason:
        raise typer.Exit(1)


@users_app.command("create")
@closing_platforms
def users_create(
    username: str,
    display_name: str = typer.Option(..., "--name", help="The person's name."),
    department: str = typer.Option("hrss", help="Department code, e.g. hrss, healthcare_security."),
    scope: str = typer.Option("431100", help="431100 for the whole city, or a county code."),
    employer: str | None = typer.Option(
        None,
        help="An employer's agent (grant employer_agent): the employer's credit code; the "
        "account acts for that employer only.",
    ),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Open a staff account (roles are granted separately)."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        from socialcard.regions.queries import get_region

        get_region(session, scope)
        employer_id = None
        if employer is not None:
            from sqlalchemy import select

            from socialcard.errors import InvalidField
            from socialcard.registry.models import Employer

            employer_id = session.scalars(
                select(Employer.id).where(Employer.credit_code == employer.strip().upper())
            ).first()
            if employer_id is None:
                raise InvalidField(
                    "employer", "known_employer", f"没有统一社会信用代码为 {employer} 的单位。"
                )
        staff = access.create_staff(
            session,
            username=username,
            display_name=display_name,
            password=password,
            department_code=department,
            scope_region_code=scope,
            created_at=platform.clock.now(),
            employer_id=employer_id,
        )
        _audit(session, platform, "staff.create", "staff", staff.id)
    out.print(
        f"staff #{staff.id} {username} created" + (f" for employer {employer}" if employer else "")
    )


@users_app.command("disable")
@closing_platforms
def users_disable(username: str) -> None:
    """Disable an account and end its sessions and tokens."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        staff = access.get_staff_by_username(session, username)
        access.disable_staff(session, staff_id=staff.id, at=platform.clock.now())
        _audit(session, platform, "staff.disable", "staff", staff.id)
    out.print(f"{username} disabled")


@users_app.command("reset-password")
@closing_platforms
def users_reset_password(
    username: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Set a new password for an account whose holder forgot it: the lock is lifted, every
    session ends (hand the password over in person; the holder changes it at 修改密码)."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        staff = access.get_staff_by_username(session, username)
        access.reset_password(session, staff_id=staff.id, new=password, at=platform.clock.now())
        _audit(session, platform, "staff.reset_password", "staff", staff.id)
    out.print(f"{username}: password set, sessions ended")


@users_app.command("grant")
@closing_platforms
def users_grant(username: str, role: str) -> None:
    """Grant a role from the policy file; administrators get a TOTP secret printed once."""
    platform = ready_platform()
    policy = load_policy()
    with domain_errors(), platform.session() as session, transaction(session):
        staff = access.get_staff_by_username(session, username)
        access.grant_role(
            session, policy, staff_id=staff.id, role=role, granted_by=None, at=platform.clock.now()
        )
        _audit(session, platform, "staff.grant_role", "staff", staff.id, {"role": role})
        secret = None
        if policy.roles[role].is_administrator and staff.totp_secret_cipher is None:
            secret = access.enrol_totp(session, platform.keys, staff_id=staff.id)
    out.print(f"{username} now holds {role}")
    if secret:
        out.print(f"TOTP secret (add to an authenticator app now, shown once): {secret}")
        out.print(access.totp_uri(secret, username))


@users_app.command("token")
@closing_platforms
def users_token(username: str, name: str = typer.Option(..., help="Which system uses it.")) -> None:
    """Issue an API bearer token for a department system acting as this account."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        staff = access.get_staff_by_username(session, username)
        token = access.issue_api_token(
            session, staff_id=staff.id, name=name, at=platform.clock.now()
        )
        _audit(session, platform, "token.issue", "staff", staff.id, {"name": name})
    out.print("token (shown once):")
    print(token)


def _audit(
    session: object,
    platform: Platform,
    action: str,
    object_type: str,
    object_id: int,
    details: dict[str, object] | None = None,
) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    audit_cli(session, platform, action, object_type, object_id, details)


@audit_app.command("verify")
@closing_platforms
def audit_verify(
    checkpoint: bool = typer.Option(
        True, help="Also append the head to the external checkpoint file."
    ),
) -> None:
    """Verify the audit chain; exit 1 naming the first bad record if anything was tampered with."""
    platform = ready_platform()
    checkpoint_file = platform.settings.resolved_checkpoint_file
    with platform.session() as session:
        result = verify_chain(session, checkpoint_file=checkpoint_file)
    if not result.is_intact:
        err.print(
            f"error[audit_chain_broken]: first bad record seq={result.first_bad_seq}: "
            f"{result.problem}",
            markup=False,
        )
        raise typer.Exit(1)
    if checkpoint:
        with platform.session() as session:
            write_checkpoint(session, checkpoint_file, at=platform.clock.now())
    out.print(f"audit chain intact: {result.records_checked} records verified")


@persons_app.command("show")
@closing_platforms
def persons_show(
    person_id: int | None = typer.Argument(None, help="Internal person id."),
    resident_id: str | None = typer.Option(
        None, "--resident-id", help="Find by ID number instead."
    ),
) -> None:
    """Show one person, masked (the ID number is never printed in full)."""
    from socialcard.access.policy import Masking
    from socialcard.http.persons import present_person
    from socialcard.registry import queries
    from socialcard.registry.errors import PersonNotFound

    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        if resident_id:
            rid = ResidentId.parse(resident_id, today=local_today(platform.clock))
            person = queries.find_person_by_resident_id(session, platform.keys, rid)
            if person is None:
                raise PersonNotFound()
        elif person_id is not None:
            person = queries.get_person(session, person_id)
        else:
            raise typer.BadParameter("give a person id or --resident-id")
        view = present_person(person, Masking.STANDARD)
        _audit(session, platform, "person.view", "person", person.id)
    table = Table(show_header=False)
    for key, value in view.as_dict().items():
        table.add_row(key, "" if value is None else str(value))
    out.print(table)


@catalog_app.command("export")
@closing_platforms
def catalog_export(
    file_format: str = typer.Option("csv", "--format", help="csv, xlsx or json"),
    output: Path | None = typer.Option(None, help="Write here instead of standard output."),
) -> None:
    """Write the catalogue (CSV columns start with item_no,category,usage_kind,name)."""
    from socialcard.catalog.export import render_csv, render_json, render_xlsx
    from socialcard.catalog.queries import list_items

    renderers = {"csv": render_csv, "xlsx": render_xlsx, "json": render_json}
    if file_format not in renderers:
        raise typer.BadParameter("csv, xlsx or json", param_hint="--format")
    if file_format == "xlsx" and output is None:
        raise typer.BadParameter("xlsx needs --output", param_hint="--output")
    platform = ready_platform()
    with platform.session() as session:
        data = renderers[file_format](list_items(session))
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        out.print(f"catalogue written to {output}")


@catalog_app.command("status")
@closing_platforms
def catalog_status(
    as_of: str | None = typer.Option(None, help="YYYY-MM-DD; default today"),
) -> None:
    """Item, usage kind, binding (or "not implemented yet"), counties opened, uses so far."""
    from socialcard.bootstrap import catalog_bindings
    from socialcard.catalog.models import OpeningStatus
    from socialcard.catalog.queries import count_uses_by_item, list_items, statuses_on
    from socialcard.regions.queries import list_counties

    platform = ready_platform()
    on = date.fromisoformat(as_of) if as_of else local_today(platform.clock)
    bindings = catalog_bindings()
    with platform.session() as session:
        items = list_items(session)
        statuses = statuses_on(session, on)
        uses = count_uses_by_item(session)
        counties = {c.code for c in list_counties(session)}
    table = Table(title=f"应用目录 status on {on.isoformat()}")
    for column in ("item", "usage kind", "name", "binding", "counties opened", "uses"):
        table.add_column(column)
    for item in items:
        opened = sum(
            1 for code in counties if statuses.get((item.item_no, code)) is OpeningStatus.OPENED
        )
        binding = bindings.get(item.item_no)
        table.add_row(
            str(item.item_no),
            item.usage_kind.value,
            item.name,
            f"{binding.area}.{binding.use_case}" if binding else "not implemented yet",
            f"{opened}/{len(counties)}",
            str(uses.get(item.item_no, 0)),
        )
    out.print(table)
    out.print(f"bound: {len(bindings)}/{len(items)} items")


@catalog_app.command("tallies")
@closing_platforms
def catalog_tallies(
    rebuild: bool = typer.Option(
        False, help="Recompute the tallies from every card use (after a bulk load, or to repair)."
    ),
) -> None:
    """Check that the distinct-user tallies equal a direct count of the card uses, for every year
    with uses; exit 1 naming each item that differs (decision 0008)."""
    from socialcard.catalog.tallies import (
        compare_user_tallies,
        rebuild_user_tallies,
        years_with_uses,
    )

    platform = ready_platform()
    if rebuild:
        with platform.session() as session, transaction(session):
            rebuilt = rebuild_user_tallies(session)
        out.print(
            f"tallies rebuilt: {rebuilt.memberships} holder-item-years, "
            f"{rebuilt.tally_rows} tally rows"
        )
    with platform.session() as session:
        years = years_with_uses(session)
        mismatches = compare_user_tallies(session, years=years)
    for m in mismatches:
        err.print(
            f"error[user_tally_mismatch]: item {m.item_no} in {m.year}: "
            f"{m.from_uses} users counted from card uses, {m.from_tallies} in the tallies",
            markup=False,
            soft_wrap=True,
        )
    if mismatches:
        err.print("repair with: socialcard catalog tallies --rebuild", markup=False)
        raise typer.Exit(1)
    shown = ", ".join(str(y) for y in years) or "none"
    out.print(f"user tallies agree with the card uses (years: {shown})")


@catalog_app.command("open")
@closing_platforms
def catalog_open(
    item_no: int,
    region: str = typer.Option(..., help="County code, or 431100 for the city level."),
    status: str = typer.Option("opened", help="opened, suspended or closed"),
    on: str = typer.Option(..., help="Effective date YYYY-MM-DD."),
    reason: str | None = typer.Option(None),
) -> None:
    """Open (or suspend, or close) an item in a county from a date on."""
    from socialcard.catalog.models import OpeningStatus
    from socialcard.catalog.services import change_opening
    from socialcard.regions.queries import get_region

    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        get_region(session, region)
        opening = change_opening(
            session,
            item_no=item_no,
            region_code=region,
            status=OpeningStatus(status),
            effective_on=date.fromisoformat(on),
            reason=reason,
            recorded_by=None,
            at=platform.clock.now(),
        )
        _audit(
            session,
            platform,
            "catalog.opening_changed",
            "catalog_item",
            item_no,
            {"region_code": region, "status": status, "effective_on": on},
        )
    out.print(f"item {opening.item_no} {opening.status.value} in {region} from {on}")


@catalog_app.command("open-sheet")
@closing_platforms
def catalog_open_sheet(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Apply a bulk-opening spreadsheet (事项编号, 区划代码, 状态, 生效日期, 原因), all or none."""
    from socialcard.catalog.opening_sheet import OpeningSheetRejected, read_opening_sheet
    from socialcard.catalog.services import apply_opening_sheet

    platform = ready_platform()
    try:
        with platform.session() as session, transaction(session):
            applied = apply_opening_sheet(
                session, read_opening_sheet(file), recorded_by=None, at=platform.clock.now()
            )
            _audit(
                session,
                platform,
                "catalog.opening_sheet_applied",
                "catalog",
                0,
                {"rows": len(applied), "file": file.name},
            )
    except OpeningSheetRejected as error:
        for problem in error.problems:
            err.print(f"row {problem.row_number} {problem.field}: {problem.message}", markup=False)
        err.print(f"error[{error.code}]: {error.message}", markup=False)
        raise typer.Exit(1) from None
    out.print(f"{len(applied)} opening changes applied from {file.name}")


def main() -> None:
    app(prog_name="socialcard")


if __name__ == "__main__":
    main()
