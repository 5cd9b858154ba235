"""`socialcard payments …`: the fee schedules, and settling payments whose bank answer was lost
(run it every few minutes from cron or the nightly job; it asks the bank, never sends again)."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.table import Table

from socialcard.cli.platform import audit_cli, closing_platforms, out, ready_platform
from socialcard.db import transaction
from socialcard.kernel.money import Money
from socialcard.payments.schedules import list_fee_schedules
from socialcard.payments.services import settle_unknown_orders

payments_app = typer.Typer(
    help="Payments (缴费) from the card's bank account.", no_args_is_help=True
)


@payments_app.command("schedules")
@closing_platforms
def schedules() -> None:
    """The fee schedules in force (shipped ones are examples until a department loads its own)."""
    platform = ready_platform()
    table = Table("code", "item", "department", "unit", "amount", "from", "example")
    with platform.session() as session:
        for s in list_fee_schedules(session):
            table.add_row(
                s.code,
                str(s.item_no),
                s.department_code,
                s.unit_name,
                Money(s.amount_minor).format_yuan() if s.amount_minor else "per order",
                s.effective_from.isoformat(),
                "yes" if s.is_example else "",
            )
    out.print(table)


@payments_app.command("settle-unknown")
@closing_platforms
def settle_unknown(
    asked_after_seconds: int = typer.Option(60, min=0, help="ask about answers lost this long ago"),
    stale_after_minutes: int = typer.Option(10, min=1, help="a debit left in flight by a crash"),
) -> None:
    """Ask the bank about every payment and refund whose outcome is unknown and settle each:
    executed → as the bank did it; never executed → failed, the money released."""
    platform = ready_platform()
    report = settle_unknown_orders(
        platform.sessions,
        platform.bank,
        at=platform.clock.now(),
        asked_after=timedelta(seconds=asked_after_seconds),
        stale_after=timedelta(minutes=stale_after_minutes),
    )
    with platform.session() as session, transaction(session):
        audit_cli(
            session,
            platform,
            "payment.settle_unknown",
            "payment_orders",
            "unknown",
            {
                "paid": report.paid,
                "failed": report.failed,
                "refunds_credited": report.refunds_credited,
                "refunds_failed": report.refunds_failed,
                "still_unknown": report.still_unknown,
            },
        )
    out.print(
        f"settled: {report.paid} paid, {report.failed} failed, "
        f"{report.refunds_credited} refunds credited, {report.refunds_failed} refunds failed; "
        f"still unknown: {report.still_unknown}"
    )
