"""`socialcard report …`: documents for the leading group (docs/reports.md).

The commands audit nothing themselves: whoever runs them (an operator, a scheduled job) records
what was produced where it keeps such records.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from socialcard.cli.platform import closing_platforms, ready_platform

reports_app = typer.Typer(help="Reports for the leading group (领导小组).", no_args_is_help=True)


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
    platform = ready_platform()
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
