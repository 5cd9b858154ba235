"""`socialcard insurance …`: loading contribution parameters, the monthly declaration run for
every employer on the wages on record, the pension accounts' year-end settlement, settling card
payments whose outcome arrived late, and arrears. Each change is audited."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress
from rich.table import Table

from socialcard.cli.platform import (
    audit_cli,
    closing_platforms,
    domain_errors,
    out,
    ready_platform,
)
from socialcard.db import transaction
from socialcard.errors import DomainError
from socialcard.http.insurance import settle_paid_orders
from socialcard.insurance import declarations, queries
from socialcard.insurance.models import DeclarationStatus
from socialcard.insurance.parameters import list_rules, load_parameters, read_parameters_file
from socialcard.insurance.pension_years import settle_pension_year
from socialcard.insurance.rules import check_period, period_label
from socialcard.insurance.schemes import SCHEMES
from socialcard.kernel.money import Money
from socialcard.registry.models import Employer

insurance_app = typer.Typer(
    help="Social insurance (社会保险): parameters, declaration runs, year-end.",
    no_args_is_help=True,
)
parameters_app = typer.Typer(help="Contribution parameters (缴费参数).", no_args_is_help=True)
insurance_app.add_typer(parameters_app, name="parameters")


def _rate(bp: int) -> str:
    return f"{bp / 100:g}%"


@parameters_app.command("load")
@closing_platforms
def parameters_load(path: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Load a parameters file (TOML, see insurance/data/yongzhou-example.toml) as new versions;
    a version already loaded with other content is refused (publish a new effective date)."""
    platform = ready_platform()
    with domain_errors():
        parameters = read_parameters_file(path)
        with platform.session() as session, transaction(session):
            outcome = load_parameters(session, parameters, at=platform.clock.now())
            audit_cli(
                session,
                platform,
                "insurance.parameters_loaded",
                "file",
                path.name,
                {"added": outcome.added, "rates": outcome.rates_added},
            )
    out.print(
        f"parameters: {outcome.added} versions added, {outcome.unchanged} already loaded, "
        f"{outcome.rates_added} crediting rates added"
        + (" (EXAMPLES: not official)" if parameters.is_example else "")
    )


@parameters_app.command("show")
@closing_platforms
def parameters_show() -> None:
    """Every version in force or past, per scheme."""
    platform = ready_platform()
    table = Table(
        "险种",
        "生效",
        "基数下限",
        "基数上限",
        "单位",
        "个人",
        "记入个人账户",
        "灵活就业",
        "档次",
        "示例",
    )
    with platform.session() as session:
        for rule in list_rules(session):
            table.add_row(
                SCHEMES[rule.scheme].name,
                rule.effective_from.isoformat(),
                Money(rule.base_floor_minor).format_yuan() if rule.base_floor_minor else "",
                Money(rule.base_ceiling_minor).format_yuan() if rule.base_ceiling_minor else "",
                _rate(rule.employer_rate_bp),
                _rate(rule.individual_rate_bp),
                _rate(rule.account_rate_bp),
                _rate(rule.flexible_rate_bp),
                " ".join(str(t[0] // 100) for t in rule.tiers),
                "是" if rule.is_example else "",
            )
    out.print(table)


@insurance_app.command("declare-month")
@closing_platforms
def declare_month(
    period: int = typer.Option(..., "--period", help="yyyymm, e.g. 202611"),
) -> None:
    """The monthly declaration run: every employer with insured employees that has not declared
    the month is declared on the wages on record, one employer per transaction; a refusal is
    reported and the run goes on. Safe to run again."""
    platform = ready_platform()
    with domain_errors():
        check_period(period)
    with platform.session() as session:
        employers = declarations.employers_to_declare(session, period)
    made = refused = 0
    total = 0
    with Progress(transient=True) as progress:
        task = progress.add_task(f"declaring {period_label(period)}", total=len(employers))
        for employer_id in employers:
            try:
                with platform.session() as session, transaction(session):
                    declaration = declarations.declare_employer_month(
                        session,
                        employer_id=employer_id,
                        period=period,
                        channel="cli",
                        declared_by=None,
                        at=platform.clock.now(),
                    )
                    audit_cli(
                        session,
                        platform,
                        "insurance.declared",
                        "declaration",
                        declaration.declaration_no,
                        {"employer_id": employer_id},
                    )
                    made += 1
                    total += declaration.total_minor
            except DomainError as error:
                refused += 1
                with platform.session() as session:
                    name = session.get_one(Employer, employer_id).name
                out.print(f"refused: {name}: {error.message}", markup=False)
            progress.advance(task)
    out.print(
        f"declared {period_label(period)}: {made} employers, {Money(total).format_yuan()} due; "
        f"{refused} refused"
    )


@insurance_app.command("settle-year")
@closing_platforms
def settle_year(year: int = typer.Option(..., "--year")) -> None:
    """The pension accounts' year-end settlement: the year's credits and interest at the year's
    crediting rate, for every account not settled yet."""
    platform = ready_platform()
    with domain_errors(), platform.session() as session, transaction(session):
        settled = settle_pension_year(session, year=year, at=platform.clock.now())
        audit_cli(
            session,
            platform,
            "insurance.year_settled",
            "year",
            year,
            {"persons": settled.persons, "interest_minor": settled.interest_minor},
        )
    out.print(
        f"settled {year} at {_rate(settled.rate_bp)}: {settled.persons} accounts, interest "
        f"{Money(settled.interest_minor).format_yuan()}"
    )


@insurance_app.command("settle-orders")
@closing_platforms
def settle_orders() -> None:
    """Settle contributions whose card payment the bank confirmed after the request ended."""
    platform = ready_platform()
    out.print(f"contributions settled from late card payments: {settle_paid_orders(platform)}")


@insurance_app.command("arrears")
@closing_platforms
def arrears() -> None:
    """Declarations not paid, oldest first (欠费)."""
    platform = ready_platform()
    table = Table("申报单", "类型", "单位/个人", "所属期", "人数", "应缴")
    with platform.session() as session:
        rows = queries.list_declarations(session, status=DeclarationStatus.DECLARED, limit=500)
        for d in sorted(rows, key=lambda d: d.first_period):
            who = (
                session.get_one(Employer, d.employer_id).name
                if d.employer_id is not None
                else f"个人 {d.person_id}"
            )
            table.add_row(
                d.declaration_no,
                d.kind.value,
                who,
                period_label(d.first_period),
                str(d.persons),
                Money(d.total_minor).format_yuan(),
            )
    out.print(table)
