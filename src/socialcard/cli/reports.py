"""`socialcard report …`: documents for the leading group (docs/reports.md).

The commands audit nothing themselves: whoever runs them (an operator, a scheduled job) records
what was produced where it keeps such records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer

from socialcard.bootstrap import Platform, build_platform, ensure_reference_data, migrate
from socialcard.config import Settings

reports_app = typer.Typer(help="Reports for the leading group (领导小组).", no_args_is_help=True)

P = ParamSpec("P")
R = TypeVar("R")

# The same small pattern as cli.main (importing it from there would be a cycle: main registers
# this sub-app): every platform a command opens is disposed of when the command ends.
_opened: list[Platform] = []


def _ready_platform() -> Platform:
    platform = build_platform(Settings())
    _opened.append(platform)
    migrate(platform.engine)
    ensure_reference_data(platform)
    return platform


def closing_platforms(command: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        finally:
            while _opened:
                _opened.pop().engine.dispose()

    return run


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint=option) from None


@reports_app.command("evaluation")
@closing_platforms
def evaluation(
    as_of: str = typer.Option(..., "--as-of", help="Evaluation date YYYY-MM-DD."),
    period_from: str | None = typer.Option(
        None, "--from", help="Start of the use period YYYY-MM-DD; default 1 January of --as-of."
    ),
    period_to: str | None = typer.Option(
        None, "--to", help="End of the use period YYYY-MM-DD; default --as-of."
    ),
    output_dir: Path = typer.Option(
        ..., "--output-dir", file_okay=False, help="Folder for evaluation-<as_of>.xlsx and .pdf."
    ),
) -> None:
    """The catalogue evaluation report (永政办发〔2015〕26号 stages 三 and 五): XLSX and PDF."""
    from socialcard.reports.evaluation import (
        build_evaluation,
        render_evaluation_pdf,
        render_evaluation_xlsx,
    )

    on = _parse_date(as_of, "--as-of")
    assert on is not None
    start = _parse_date(period_from, "--from") or on.replace(month=1, day=1)
    end = _parse_date(period_to, "--to") or on
    if start > end:
        raise typer.BadParameter("--from is after --to", param_hint="--from")
    platform = _ready_platform()
    with platform.session() as session:
        report = build_evaluation(
            session,
            as_of=on,
            period_from=start,
            period_to=end,
            generated_at=platform.clock.now(),
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    xlsx = output_dir / f"evaluation-{on.isoformat()}.xlsx"
    pdf = output_dir / f"evaluation-{on.isoformat()}.pdf"
    xlsx.write_bytes(render_evaluation_xlsx(report))
    pdf.write_bytes(render_evaluation_pdf(report))
    print(xlsx)
    print(pdf)
    print(report.summary_line)
