"""`socialcard banks …`: the bank files of the outbox, the relay that sends them, and operator
tools for the sandbox bank (never in production). Changes are audited with the CLI operator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table

from socialcard.banks import queries
from socialcard.banks.file_exchange import run_sandbox_bank_over_files
from socialcard.banks.formats.framing import format_yuan
from socialcard.banks.models import BankFileKind, BankFileStatus
from socialcard.banks.sandbox import SandboxAccountError, SandboxBank
from socialcard.banks.sandbox_accounts import AccountState
from socialcard.banks.services import relay_send_files
from socialcard.bootstrap import Platform
from socialcard.cli.platform import (
    audit_cli,
    closing_platforms,
    domain_errors,
    err,
    out,
    ready_platform,
)
from socialcard.db import exclusive_job, transaction

banks_app = typer.Typer(help="Bank gateway: files, relay, sandbox bank.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The sandbox bank (not in production).", no_args_is_help=True)
banks_app.add_typer(sandbox_app, name="sandbox")


@banks_app.command("files")
@closing_platforms
def files(
    bank: str | None = typer.Option(None, "--bank", help="Partner bank code, e.g. ICBC."),
    kind: BankFileKind | None = typer.Option(None, "--kind"),
    status: BankFileStatus | None = typer.Option(None, "--status"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """The most recent bank files (send, return, statement)."""
    platform = ready_platform()
    table = Table(title="银行文件")
    for column in ("id", "name", "kind", "status", "lines", "amount", "attempts", "last error"):
        table.add_column(column)
    with platform.session() as session:
        for f in queries.list_bank_files(
            session, bank_code=bank, kind=kind, status=status, limit=limit
        ):
            table.add_row(
                str(f.id),
                f.name,
                f.kind.value,
                f.status.value,
                str(f.line_count),
                format_yuan(f.amount_minor),
                str(f.attempts),
                f.last_error or "",
            )
    out.print(table)


@banks_app.command("relay")
@closing_platforms
def relay(bank: str | None = typer.Option(None, "--bank")) -> None:
    """Send the prepared files to the banks; files whose earlier attempt may have arrived are
    asked about first, never sent twice."""
    platform = ready_platform()
    with exclusive_job(platform.engine, "bank-relay"):
        report = relay_send_files(
            platform.sessions, platform.bank, at=platform.clock.now(), bank_code=bank
        )
    with platform.session() as session, transaction(session):
        audit_cli(
            session, platform, "bank.files_relayed", "bank_file", bank or "*",
            {"sent": report.sent, "pending": report.pending, "queried": report.queried},
        )  # fmt: skip
    out.print(f"sent {report.sent}, pending {report.pending}, status queries {report.queried}")


def _sandbox(platform: Platform) -> SandboxBank:
    if platform.settings.environment == "production" or not isinstance(platform.bank, SandboxBank):
        err.print("error: the configured bank gateway is not the sandbox bank")
        raise typer.Exit(1)
    return platform.bank


def _sandbox_change(platform: Platform, bank: str, account: str, **details: object) -> None:
    with platform.session() as session, transaction(session):
        audit_cli(
            session, platform, "bank.sandbox_account_changed", "sandbox_account",
            f"{bank}:{account}", dict(details),
        )  # fmt: skip


@sandbox_app.command("open-account")
@closing_platforms
def open_account(
    bank: str,
    account: str,
    name: str,
    resident_id: str = typer.Option("", "--resident-id", help="Empty for an agency account."),
    activated: bool = typer.Option(False, "--activated"),
    agency: bool = typer.Option(False, "--agency", help="An agency settlement account."),
) -> None:
    """Open a holder's (or with --agency an agency's) account at the sandbox bank."""
    platform = ready_platform()
    sandbox = _sandbox(platform)
    with _sandbox_errors():
        if agency:
            sandbox.open_agency_account(bank, account, name)
        else:
            sandbox.open_account(bank, account, name, resident_id, activated=activated)
    _sandbox_change(platform, bank, account, change="opened", agency=agency)
    out.print(f"opened {bank} {account}")


@sandbox_app.command("activate")
@closing_platforms
def activate(bank: str, account: str) -> None:
    """Branch activation of a card's bank account (sends an activation notice)."""
    platform = ready_platform()
    with _sandbox_errors():
        notice = _sandbox(platform).activate(bank, account)
    _sandbox_change(platform, bank, account, change="activated")
    out.print("already active" if notice is None else f"activated; notice {notice.notice_id}")


@sandbox_app.command("set-state")
@closing_platforms
def set_state(bank: str, account: str, state: AccountState) -> None:
    """Close, freeze, report lost, mark dormant, or return an account to normal."""
    platform = ready_platform()
    with _sandbox_errors():
        _sandbox(platform).set_state(bank, account, state)
    _sandbox_change(platform, bank, account, change="state", state=state.value)
    out.print(f"{bank} {account} is now {state.value}")


@sandbox_app.command("deposit")
@closing_platforms
def deposit(bank: str, account: str, amount_minor: int = typer.Argument(..., min=1)) -> None:
    """Pay cash into an account (fen)."""
    platform = ready_platform()
    with _sandbox_errors():
        _sandbox(platform).deposit(bank, account, amount_minor)
    _sandbox_change(platform, bank, account, change="deposit", amount_minor=amount_minor)
    out.print(f"deposited {format_yuan(amount_minor)} into {bank} {account}")


@sandbox_app.command("balance")
@closing_platforms
def balance(bank: str, account: str) -> None:
    """An account's balance and state at the sandbox bank."""
    platform = ready_platform()
    with _sandbox_errors():
        held = _sandbox(platform).account(bank, account)
    active = "activated" if held.activated else "not activated"
    out.print(f"{bank} {account}: {format_yuan(held.balance_minor)} ({held.state.value}, {active})")


@sandbox_app.command("serve-files")
@closing_platforms
def serve_files(
    root: Path | None = typer.Option(None, "--root", help="Default: the exchange folder."),
) -> None:
    """Play the banks' side once over the exchange folders: take the send files, answer with
    ACK and return files."""
    platform = ready_platform()
    if platform.settings.environment == "production":
        err.print("error: production has no sandbox bank")
        raise typer.Exit(1)
    sandbox = SandboxBank(platform.settings.resolved_sandbox_bank_path, clock=platform.clock.now)
    with domain_errors():
        taken = run_sandbox_bank_over_files(
            sandbox, root or platform.settings.resolved_bank_exchange_dir
        )
    out.print(f"the sandbox bank processed {taken} files")


@contextmanager
def _sandbox_errors() -> Iterator[None]:
    """Print a sandbox operator error and exit 1."""
    try:
        yield
    except SandboxAccountError as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(1) from None
