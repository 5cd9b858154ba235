"""`socialcard ledger …`, `socialcard disbursement …` and `socialcard messages …`: proving the
books, running approved batches and reconciling them, delivering holders' messages. Preparing
and approving batches is done by named staff (web or API), never by the CLI operator, so that
maker-checker holds."""

from __future__ import annotations

import typer
from rich.table import Table

from socialcard.access.notifications import deliver_messages
from socialcard.cli.platform import (
    audit_cli,
    closing_platforms,
    domain_errors,
    err,
    out,
    ready_platform,
)
from socialcard.db import transaction
from socialcard.disbursement import queries as disbursement_queries
from socialcard.disbursement.errors import BATCH_STATUS_LABELS
from socialcard.disbursement.models import BatchStatus
from socialcard.disbursement.reconciliation import reconcile
from socialcard.disbursement.runner import run_batch
from socialcard.kernel.money import Money
from socialcard.ledger import queries as ledger_queries
from socialcard.registry.queries import phones_of

ledger_app = typer.Typer(
    help="The ledger (账本): balances, statements, verification.", no_args_is_help=True
)
disbursement_app = typer.Typer(help="Disbursement batches (代发批次).", no_args_is_help=True)
messages_app = typer.Typer(help="Messages to cardholders.", no_args_is_help=True)


def _yuan(minor: int) -> str:
    return Money(minor).format_yuan()


@ledger_app.command("verify")
@closing_platforms
def verify() -> None:
    """Prove the books: debits = credits, every stored balance = its transfers, no floor
    broken, every reservation resolved at most once and never beyond its amount, every bank
    file's reservation equal to its lines. Exit 1 naming each problem."""
    from socialcard.disbursement.reconciliation import verify_file_reservations

    platform = ready_platform()
    with platform.session() as session:
        report = ledger_queries.verify_ledger(session)
        # A bank file's reservation is the sum of its lines (decision 0011).
        report.problems += verify_file_reservations(session)
    out.print(
        f"ledger: {report.transfers} transfers, {report.accounts} accounts, "
        f"debits {_yuan(report.debits_posted)} = credits {_yuan(report.credits_posted)}"
    )
    if not report.ok:
        for problem in report.problems:
            err.print(f"problem: {problem}", markup=False)
        raise typer.Exit(1)
    out.print("ledger verified: balanced, balances agree, floors hold")


@ledger_app.command("balance")
@closing_platforms
def balance(
    prefix: str = typer.Argument("", help="account code or prefix, e.g. programme:"),
) -> None:
    """Balances of the accounts whose code starts with PREFIX."""
    platform = ready_platform()
    table = Table("科目", "名称", "余额", "可用", "预留")
    with platform.session() as session:
        for account in ledger_queries.list_accounts(session, prefix=prefix or None)[:200]:
            figures = ledger_queries.get_balance(session, account.code)
            reserved = figures.debits_pending + figures.credits_pending
            table.add_row(
                account.code,
                account.name,
                _yuan(figures.posted),
                _yuan(figures.available),
                _yuan(reserved),
            )
    out.print(table)


@ledger_app.command("statement")
@closing_platforms
def statement(code: str, limit: int = typer.Option(20, min=1, max=500)) -> None:
    """The latest transfers of one account, newest first."""
    platform = ready_platform()
    table = Table("时间", "类别", "阶段", "对方科目", "业务", "金额")
    with domain_errors(), platform.session() as session:
        for line in ledger_queries.list_transfers(session, code, limit=limit):
            table.add_row(
                line.created_at.isoformat(timespec="seconds"),
                line.kind,
                line.phase.value,
                line.counterpart,
                line.reference,
                _yuan(line.amount_minor),
            )
    out.print(table)


@disbursement_app.command("list")
@closing_platforms
def list_batches(limit: int = typer.Option(30, min=1, max=500)) -> None:
    """Recent batches with their state and figures."""
    platform = ready_platform()
    table = Table("批次", "期间", "状态", "笔数", "金额", "已到账", "失败")
    with platform.session() as session:
        for batch in disbursement_queries.list_batches(session, limit=limit):
            table.add_row(
                batch.batch_no,
                batch.period,
                BATCH_STATUS_LABELS[batch.status.value],
                str(batch.accepted_count),
                _yuan(batch.accepted_minor),
                f"{batch.paid_count} / {_yuan(batch.paid_minor)}",
                f"{batch.failed_count} / {_yuan(batch.failed_minor)}",
            )
    out.print(table)


@disbursement_app.command("run")
@closing_platforms
def run(
    batch_no: str = typer.Argument(None, help="one batch; without it every approved or sent batch"),
) -> None:
    """Send approved batches to their banks and apply the returns that came back. Safe to run
    again at any time: after a crash it finishes what was started, without paying twice."""
    platform = ready_platform()
    with platform.session() as session:
        if batch_no:
            numbers = [disbursement_queries.get_batch(session, batch_no).batch_no]
        else:
            numbers = [
                b.batch_no
                for b in disbursement_queries.list_batches(
                    session, statuses=[BatchStatus.APPROVED, BatchStatus.SENT], limit=1000
                )
            ]
    failed = False
    for number in numbers:
        with domain_errors():
            progress = run_batch(
                platform.sessions, platform.keys, platform.bank, number, at=platform.clock.now()
            )
        with platform.session() as session, transaction(session):
            audit_cli(
                session,
                platform,
                "disbursement.run",
                "disbursement_batch",
                number,
                {"status": progress.status.value, "files_sent": progress.files_sent},
            )
        waiting = f"，等待回盘：{', '.join(progress.waiting_for)}" if progress.waiting_for else ""
        out.print(
            f"{number}: {BATCH_STATUS_LABELS[progress.status.value]}（送盘 {progress.files_sent}，"
            f"回盘 {progress.returns_applied}{waiting}）"
        )
        report = progress.reconciliation or {}
        if report.get("problems"):
            failed = True
            for problem in report["problems"]:
                err.print(f"{number}: {problem}", markup=False)
    if failed:
        raise typer.Exit(1)


@disbursement_app.command("reconcile")
@closing_platforms
def reconcile_batch(batch_no: str) -> None:
    """The reconciliation of one batch: per bank sent = paid + failed, the return file agrees,
    the ledger posted what was paid and released what failed. Exit 1 on any problem."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session:
        report = reconcile(session, disbursement_queries.get_batch(session, batch_no))
    table = Table("银行", "送盘", "到账", "失败", "回盘到账", "回盘失败")
    for bank, figures in report["banks"].items():
        table.add_row(
            bank,
            f"{figures['sent_count']} / {_yuan(figures['sent_minor'])}",
            f"{figures['paid_count']} / {_yuan(figures['paid_minor'])}",
            f"{figures['failed_count']} / {_yuan(figures['failed_minor'])}",
            f"{figures.get('bank_done_count', '—')}",
            f"{figures.get('bank_failed_count', '—')}",
        )
    out.print(table)
    ledger = report["ledger"]
    out.print(
        f"账本：预留 {_yuan(ledger['reserved_minor'])}，入账 {_yuan(ledger['posted_minor'])}，"
        f"释放 {_yuan(ledger['voided_minor'])}；未回盘 {report['outstanding_lines']} 笔"
    )
    if report["problems"]:
        for problem in report["problems"]:
            err.print(problem, markup=False)
        raise typer.Exit(1)
    out.print("对账平衡")


@disbursement_app.command("statements")
@closing_platforms
def statements(
    on: str = typer.Option(None, "--on", help="the business day (default: yesterday, Beijing)"),
) -> None:
    """Compare each partner bank's daily statement (T+1) with the payments the platform
    recorded. Exit 1 on any difference."""
    from datetime import date, timedelta

    from socialcard.cards.models import PARTNER_BANKS
    from socialcard.disbursement.statements import check_statement
    from socialcard.kernel.clock import local_today

    platform = ready_platform()
    day = date.fromisoformat(on) if on else local_today(platform.clock) - timedelta(days=1)
    failed = False
    for bank_code in sorted(PARTNER_BANKS):
        with domain_errors(), platform.session() as session, transaction(session):
            check = check_statement(
                session, platform.bank, bank_code=bank_code, on=day, at=platform.clock.now()
            )
        if not check.ready:
            out.print(f"{bank_code} {day}: 对账单未到")
            continue
        out.print(
            f"{bank_code} {day}: {check.files_checked} 个代发文件，借记 {_yuan(check.debits_minor)}"
        )
        for problem in check.problems:
            failed = True
            err.print(f"{bank_code}: {problem}", markup=False)
    if failed:
        raise typer.Exit(1)


@messages_app.command("deliver")
@closing_platforms
def deliver() -> None:
    """Send undelivered holder messages by SMS (sandbox: var/sms-outbox.log)."""
    platform = ready_platform()
    keys = platform.keys
    result = deliver_messages(
        platform.sessions,
        platform.sms,
        lambda session, ids: phones_of(session, keys, ids),
        at=platform.clock.now(),
    )
    out.print(f"messages: {result.sent} sent by SMS, {result.without_phone} without a phone")
