"""`socialcard cards …` and `socialcard terminals …`: production batches, bulk applications, the
nightly lapse of temporary loss reports, and terminal admission. Every change is audited with the
CLI operator as the actor."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from socialcard.access import terminals
from socialcard.access.models import TerminalKind
from socialcard.bootstrap import Platform
from socialcard.cards import production, queries, sandbox_factory
from socialcard.cards import services as card_services
from socialcard.cards.errors import STATUS_LABELS
from socialcard.cards.models import PARTNER_BANKS
from socialcard.cards.production_files import decode_exchange_file
from socialcard.cards.services import Handling
from socialcard.cli.platform import (
    audit_cli,
    closing_platforms,
    domain_errors,
    out,
    ready_platform,
)
from socialcard.db import transaction
from socialcard.kernel.clock import local_today
from socialcard.kernel.resident_id import InvalidResidentId, ResidentId
from socialcard.registry.queries import find_person_by_resident_id

cards_app = typer.Typer(help="Social security cards (社会保障卡).", no_args_is_help=True)
batch_app = typer.Typer(help="Production batches (制卡批次).", no_args_is_help=True)
terminals_app = typer.Typer(help="Terminals and their admission (终端入网).", no_args_is_help=True)
cards_app.add_typer(batch_app, name="batch")

BULK_CHUNK = 500


def _audit(
    session: Session, platform: Platform, action: str, kind: str, key: str, **details: object
) -> None:
    audit_cli(session, platform, action, kind, key, details)


def _handling(platform: Platform, channel: str = "batch") -> Handling:
    return Handling(channel=channel, at=platform.clock.now())


def _bank(code: str) -> str:
    if code not in PARTNER_BANKS:
        raise typer.BadParameter(", ".join(PARTNER_BANKS), param_hint="--bank")
    return code


@batch_app.command("create")
@closing_platforms
def batch_create(
    bank: str = typer.Option(..., "--bank", help="Partner bank code, e.g. ICBC."),
    output_dir: Path = typer.Option(Path("."), "--output-dir", file_okay=False),
    encoding: str = typer.Option("gbk", help="gbk (default) or utf-8"),
) -> None:
    """Batch the collected applications of one bank and write the send file ZK_<batch>.txt."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        sent = production.create_production_batch(
            session,
            platform.keys,
            platform.card_policy,
            bank_code=_bank(bank),
            handling=_handling(platform),
            encoding=encoding,
        )
        _audit(session, platform, "card.batch_created", "production_batch", sent.batch.batch_no)
        batch_no, count = sent.batch.batch_no, sent.batch.card_count
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"ZK_{batch_no}.txt"
    path.write_bytes(sent.send_file)
    path.chmod(0o600)  # it holds ID numbers and names: only for the card factory and the bank
    out.print(f"batch {batch_no}: {count} cards; send file {path}")


@batch_app.command("return")
@closing_platforms
def batch_return(
    batch_no: str,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The return file."),
) -> None:
    """Apply a return file: every line, or none with every problem listed."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        batch = production.apply_production_return(
            session,
            platform.keys,
            batch_no=batch_no,
            content=file.read_bytes(),
            handling=_handling(platform),
        )
        _audit(session, platform, "card.batch_returned", "production_batch", batch.batch_no)
        out.print(
            f"batch {batch.batch_no}: {batch.produced_count} produced, "
            f"{batch.failed_count} failed ({STATUS_LABELS[batch.status.value]})"
        )


@batch_app.command("run-sandbox")
@closing_platforms
def batch_run_sandbox(
    batch_no: str,
    failure_rate: float = typer.Option(0.03, min=0.0, max=1.0),
    seed: int | None = typer.Option(None),
) -> None:
    """Let the sandbox card factory make a batch and apply its return file (not in production)."""
    platform = ready_platform()
    if platform.settings.environment == "production":
        raise typer.BadParameter("production has no sandbox card factory")
    with domain_errors(), platform.session() as session, transaction(session):
        batch = queries.get_batch(session, batch_no)
        data = production.render_batch_send_file(
            session, platform.keys, platform.card_policy, batch
        )
    returned = sandbox_factory.produce(
        data, at=platform.clock.now(), seed=seed, failure_rate=failure_rate
    )
    with domain_errors(), platform.session() as session, transaction(session):
        batch = production.apply_production_return(
            session,
            platform.keys,
            batch_no=batch_no,
            content=returned,
            handling=_handling(platform),
        )
        _audit(session, platform, "card.batch_returned", "production_batch", batch.batch_no)
        out.print(f"batch {batch_no}: {batch.produced_count} produced, {batch.failed_count} failed")


@batch_app.command("list")
@closing_platforms
def batch_list() -> None:
    """The latest production batches."""
    platform = ready_platform()
    table = Table(title="制卡批次")
    for column in ("batch", "bank", "status", "cards", "produced", "failed"):
        table.add_column(column)
    with platform.session() as session:
        for b in queries.list_batches(session):
            table.add_row(
                b.batch_no,
                b.bank_code,
                STATUS_LABELS[b.status.value],
                str(b.card_count),
                str(b.produced_count),
                str(b.failed_count),
            )
    out.print(table)


def _ids_from_file(platform: Platform, path: Path) -> tuple[list[int], list[str]]:
    """Person ids for the 社会保障号码 (or 公民身份号码) column of a CSV; problems by line."""
    text = decode_exchange_file(path.read_bytes())
    reader = csv.DictReader(io.StringIO(text))
    column = next(
        (c for c in (reader.fieldnames or []) if c.strip() in ("社会保障号码", "公民身份号码")),
        None,
    )
    if column is None:
        raise typer.BadParameter("the file needs a 社会保障号码 column", param_hint="--from-file")
    ids: list[int] = []
    problems: list[str] = []
    with platform.session() as session:
        for line, row in enumerate(reader, start=2):
            try:
                number = ResidentId.parse(row[column], today=local_today(platform.clock))
            except InvalidResidentId:
                problems.append(f"line {line}: 社会保障号码 is not a valid ID number")
                continue
            person = find_person_by_resident_id(session, platform.keys, number)
            if person is None:
                problems.append(f"line {line}: not in the registry")
            else:
                ids.append(person.id)
    return ids, problems


@cards_app.command("apply-bulk")
@closing_platforms
def apply_bulk(
    bank: str = typer.Option(..., "--bank", help="Partner bank code for the new cards."),
    county: str | None = typer.Option(None, help="Everyone of this county without a card."),
    township: str | None = typer.Option(None, help="Only this township (with --county)."),
    from_file: Path | None = typer.Option(
        None, "--from-file", exists=True, dir_okay=False, help="CSV with a 社会保障号码 column."
    ),
) -> None:
    """Bulk applications (批量申领): a township without cards, or a department's list."""
    if (county is None) == (from_file is None):
        raise typer.BadParameter("give --county or --from-file", param_hint="--county")
    platform = ready_platform()
    if from_file is not None:
        person_ids, problems = _ids_from_file(platform, from_file)
        for problem in problems:
            out.print(f"skipped {problem}", markup=False)
    else:
        assert county is not None
        with platform.session() as session:
            person_ids = queries.list_persons_without_card(
                session, county_code=county, township=township
            )
    applied = 0
    skipped: dict[str, int] = {}
    with Progress(
        TextColumn("applying"), BarColumn(), MofNCompleteColumn(), console=out
    ) as progress:
        task = progress.add_task("apply", total=len(person_ids))
        for start in range(0, len(person_ids), BULK_CHUNK):
            chunk = person_ids[start : start + BULK_CHUNK]
            with domain_errors(), platform.session() as session, transaction(session):
                result = card_services.apply_in_bulk(
                    session,
                    platform.keys,
                    platform.card_policy,
                    person_ids=chunk,
                    bank_code=_bank(bank),
                    handling=_handling(platform),
                )
                _audit(
                    session,
                    platform,
                    "card.apply_bulk",
                    "card",
                    "bulk",
                    applied=len(result.applied),
                    skipped=sum(result.skipped.values()),
                )
            applied += len(result.applied)
            for code, count in result.skipped.items():
                skipped[code] = skipped.get(code, 0) + count
            progress.advance(task, len(chunk))
    shown = ", ".join(f"{code}={count}" for code, count in sorted(skipped.items())) or "none"
    out.print(f"applied {applied} cards; skipped: {shown}")


@cards_app.command("lapse-reports")
@closing_platforms
def lapse_reports() -> None:
    """Return temporary loss reports older than the policy's days (run nightly)."""
    platform = ready_platform()
    with platform.session() as session, transaction(session):
        lapsed = card_services.lapse_temporary_loss_reports(
            session, platform.card_policy, now=platform.clock.now()
        )
    out.print(f"temporary loss reports lapsed: {lapsed}")


@cards_app.command("show")
@closing_platforms
def show(card_number: str) -> None:
    """One card's status and history (the bank account masked)."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        card = queries.get_card(session, card_number)
        status = card_services.effective_status(card, platform.card_policy, platform.clock.now())
        out.print(
            f"{card.card_number}  {STATUS_LABELS[status.value]}  bank {card.bank_code} "
            f"{card.bank_account_masked or '—'}  uid {card.card_uid or '—'}"
        )
        table = Table()
        for column in ("at", "event", "channel", "where"):
            table.add_column(column)
        for event in queries.list_card_events(session, card.id):
            table.add_row(
                event.at.isoformat(timespec="seconds"),
                event.kind.value,
                event.channel,
                event.terminal_code or event.region_code or "",
            )
        out.print(table)
        _audit(session, platform, "card.view", "card", str(card.id))


@terminals_app.command("register")
@closing_platforms
def terminal_register(
    code: str,
    kind: TerminalKind = typer.Option(..., "--kind"),
    name: str = typer.Option(..., "--name"),
    county: str = typer.Option(..., "--county"),
    location: str = typer.Option(..., "--location"),
    bank: str | None = typer.Option(None, "--bank", help="Bank terminals: the partner bank."),
) -> None:
    """Register a terminal (it is not admitted yet)."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        terminal = terminals.register_terminal(
            session,
            terminal_code=code,
            kind=kind,
            name=name,
            county_code=county,
            location=location,
            institution_id=None,
            bank_code=bank,
            at=platform.clock.now(),
        )
        _audit(session, platform, "terminal.register", "terminal", terminal.terminal_code)
    out.print(f"terminal {terminal.terminal_code} registered")


@terminals_app.command("admit")
@closing_platforms
def terminal_admit(
    code: str,
    key_file: Path = typer.Option(
        ..., "--key-file", dir_okay=False, help="Where to write the terminal's key (mode 0600)."
    ),
) -> None:
    """Admit (入网) a terminal and write its fresh key to a file for loading into it."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        key = terminals.admit_terminal(
            session, platform.keys, terminal_code=code, staff_id=None, at=platform.clock.now()
        )
        _audit(session, platform, "terminal.admit", "terminal", code.upper())
    key_file.write_text(key.hex() + "\n", encoding="ascii")
    key_file.chmod(0o600)
    out.print(f"terminal {code.upper()} admitted; key written to {key_file}")


@terminals_app.command("suspend")
@closing_platforms
def terminal_suspend(code: str) -> None:
    """Refuse every call of the terminal from now on (until it is admitted again)."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        terminals.suspend_terminal(session, terminal_code=code, at=platform.clock.now())
        _audit(session, platform, "terminal.suspend", "terminal", code.upper())
    out.print(f"terminal {code.upper()} suspended")


@terminals_app.command("list")
@closing_platforms
def terminal_list() -> None:
    """Every terminal and its admission status."""
    platform = ready_platform()
    table = Table(title="终端")
    for column in ("code", "kind", "name", "county", "status", "key version"):
        table.add_column(column)
    with platform.session() as session:
        for t in terminals.list_terminals(session):
            table.add_row(
                t.terminal_code,
                terminals.TERMINAL_KIND_LABELS[t.kind],
                t.name,
                t.county_code,
                t.status.value,
                str(t.key_version),
            )
    out.print(table)


def nightly() -> None:
    """The nightly housekeeping: lapse temporary loss reports, forget terminal nonces and
    idempotency records past their windows, read the banks' activation notices, settle payments
    whose outcome is unknown, deliver holder messages, compare yesterday's bank statements, and
    prove the ledger. Safe to run more than once; exit 1 if the ledger does not
    verify."""
    from socialcard.access.notifications import deliver_messages
    from socialcard.access.terminals import purge_nonces
    from socialcard.cards.bank_sync import sync_bank_activations
    from socialcard.http.idempotency import purge_idempotency_records
    from socialcard.ledger.queries import verify_ledger
    from socialcard.registry.queries import phones_of

    platform = ready_platform()
    with platform.session() as session, transaction(session):
        lapsed = card_services.lapse_temporary_loss_reports(
            session, platform.card_policy, now=platform.clock.now()
        )
        nonces = purge_nonces(session, now=platform.clock.now())
        keys = purge_idempotency_records(session, platform=platform)
    out.print(
        f"nightly: {lapsed} temporary loss reports lapsed, {nonces} terminal nonces and "
        f"{keys} idempotency records purged"
    )
    activations = sync_bank_activations(
        platform.sessions, platform.keys, platform.bank, at=platform.clock.now()
    )
    from socialcard.payments.services import settle_unknown_orders

    settled = settle_unknown_orders(platform.sessions, platform.bank, at=platform.clock.now())
    out.print(
        f"nightly: payments settled with the bank: {settled.paid} paid, {settled.failed} failed, "
        f"{settled.still_unknown} still unknown"
    )
    from socialcard.http.insurance import settle_paid_orders

    out.print(
        f"nightly: contributions settled from late card payments: {settle_paid_orders(platform)}"
    )
    ring = platform.keys
    delivered = deliver_messages(
        platform.sessions,
        platform.sms,
        lambda session, ids: phones_of(session, ring, ids),
        at=platform.clock.now(),
    )
    out.print(
        f"nightly: {activations.activated} bank accounts activated from "
        f"{activations.notices} bank notices; {delivered.sent} messages sent by SMS"
    )
    from datetime import timedelta

    from socialcard.cards.models import PARTNER_BANKS
    from socialcard.disbursement.statements import check_statement

    yesterday = local_today(platform.clock) - timedelta(days=1)
    differences: list[str] = []
    for bank_code in sorted(PARTNER_BANKS):
        with platform.session() as session, transaction(session):
            check = check_statement(
                session, platform.bank, bank_code=bank_code, on=yesterday, at=platform.clock.now()
            )
        differences += [f"{bank_code}: {p}" for p in check.problems]
    for difference in differences:
        out.print(f"statement difference: {difference}")
    from socialcard.disbursement.reconciliation import verify_file_reservations

    with platform.session() as session:
        report = verify_ledger(session)
        report.problems += verify_file_reservations(session)
    if differences:
        raise typer.Exit(1)
    if not report.ok:
        for problem in report.problems:
            out.print(f"ledger problem: {problem}")
        raise typer.Exit(1)
    out.print(f"nightly: ledger verified ({report.transfers} transfers)")
