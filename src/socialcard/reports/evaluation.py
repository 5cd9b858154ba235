"""The leading group's evaluation report (plan stages 三 and 五 of 永政办发〔2015〕26号).

The city evaluates how far the card's application catalogue has been opened, by county and by
responsible unit, and names the items past their planned completion. Everything printed comes
from `compute_figures` and `responsibilities` (docs/metrics.md); this module only gathers them
and hands them to the XLSX and PDF renderers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from socialcard.catalog.metrics import (
    COVERAGE_TARGET,
    CatalogueFigures,
    ItemFigures,
    ItemPlan,
    UnitResponsibility,
    compute_figures,
    responsibilities,
)
from socialcard.catalog.queries import current_version, gather_metric_inputs, list_item_plans
from socialcard.regions.queries import list_counties

TITLE = "永州市社会保障卡应用目录开通情况评估报告"


@dataclass(frozen=True, slots=True)
class OverdueItem:
    """An item past its planned completion, with every unit that answers for it."""

    figures: ItemFigures
    plan: ItemPlan
    units: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    figures: CatalogueFigures
    responsibilities: tuple[UnitResponsibility, ...]
    county_names: Mapping[str, str]  # county code → name, in display order
    catalogue_version: str | None = None
    generated_at: datetime | None = None

    @property
    def as_of(self) -> date:
        return self.figures.as_of

    @property
    def period_from(self) -> date:
        return self.figures.period_from

    @property
    def period_to(self) -> date:
        return self.figures.period_to

    @property
    def county_count(self) -> int:
        return len(self.figures.opening_rate_by_county)

    @property
    def coverage_target(self) -> Decimal:
        return COVERAGE_TARGET

    @property
    def overdue_items(self) -> tuple[OverdueItem, ...]:
        """Each overdue item once, in catalogue order, with all its responsible units."""
        found: dict[int, OverdueItem] = {}
        for unit in self.responsibilities:
            for entry in unit.overdue:
                known = found.get(entry.figures.item_no)
                units = (known.units if known else ()) + (unit.unit,)
                found[entry.figures.item_no] = OverdueItem(entry.figures, entry.plan, units)
        return tuple(found[n] for n in sorted(found))

    def county_name(self, code: str) -> str:
        return self.county_names.get(code, code)

    @property
    def summary_line(self) -> str:
        """One line for logs and the CLI, e.g. "opening_rate=72.7% overdue=3 counties=11"."""
        return (
            f"opening_rate={self.figures.opening_rate_city.percent} "
            f"overdue={len(self.overdue_items)} counties={self.county_count}"
        )


def build_evaluation(
    session: Session,
    *,
    as_of: date,
    period_from: date,
    period_to: date,
    generated_at: datetime | None = None,
) -> EvaluationReport:
    """Gather the figures on `as_of` (uses counted over [period_from, period_to])."""
    figures = compute_figures(
        gather_metric_inputs(session, as_of=as_of, period_from=period_from, period_to=period_to)
    )
    units = responsibilities(figures, list_item_plans(session))
    return EvaluationReport(
        figures=figures,
        responsibilities=tuple(units),
        county_names={c.code: c.name for c in list_counties(session)},
        catalogue_version=current_version(session),
        generated_at=generated_at,
    )


def render_evaluation_xlsx(report: EvaluationReport) -> bytes:
    """The workbook: 总览, 县区, 分类与用卡方式, 细类覆盖率, 事项明细, 责任单位, 逾期事项,
    指标定义."""
    from socialcard.reports.evaluation_xlsx import render

    return render(report)


def render_evaluation_pdf(report: EvaluationReport) -> bytes:
    """An A4 PDF in Chinese with the CJK font embedded (see fonts/LICENSE)."""
    from socialcard.reports.evaluation_pdf import render

    return render(report)
