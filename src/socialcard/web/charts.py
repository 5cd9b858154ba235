"""Chart geometry for server-rendered SVG: pure functions from values to coordinates, so the
templates only draw and a test can check the arithmetic."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BarItem:
    label: str
    value: int | None  # None: no figure recorded yet
    is_estimate: bool = False


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value_text: str
    y: int
    width: float
    is_estimate: bool
    is_missing: bool


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_width: int
    plot_top: int
    plot_bottom: int
    bar_height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


def nice_step(maximum: float, *, ticks_min: int = 4, ticks_max: int = 10) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) whose axis ends as close above
    `maximum` as it can with between ticks_min and ticks_max intervals."""
    if maximum <= 0:
        return 1.0
    exponent = math.floor(math.log10(maximum))
    candidates = [
        factor * 10.0**power
        for power in range(exponent - 2, exponent + 1)
        for factor in (1, 2, 2.5, 5)
    ]
    fitting = [step for step in candidates if ticks_min <= math.ceil(maximum / step) <= ticks_max]
    if not fitting:
        return 10.0**exponent
    # The tightest axis wins; among equally tight ones, the fewer ticks.
    return min(fitting, key=lambda step: (step * math.ceil(maximum / step), -step))


def count_label(value: float) -> str:
    """An axis label for counts: 0, 5, 1,000 — and none between whole numbers."""
    return f"{value:,.0f}" if value == int(value) else ""


def wan_label(value: float) -> str:
    """A population axis label in 万 (10,000): 0, 20万, 2.5万."""
    if value == 0:
        return "0"
    return f"{value / 10_000:g}万"


def horizontal_bar_chart(
    items: Sequence[BarItem],
    *,
    width: int = 1000,
    label_width: int = 150,
    value_width: int = 84,
    bar_height: int = 22,
    gap: int = 10,
    axis_height: int = 28,
    tick_label: Callable[[float], str] = wan_label,
) -> BarChart:
    """Lay out one horizontal bar per item, longest value scaled to the plot width."""
    plot_left = label_width
    plot_width = width - label_width - value_width
    values = [item.value for item in items if item.value is not None]
    step = nice_step(max(values, default=0))
    top_value = step * max(1, math.ceil(max(values, default=0) / step))
    plot_top = 4
    bars: list[Bar] = []
    for index, item in enumerate(items):
        value = item.value or 0
        bars.append(
            Bar(
                label=item.label,
                value_text="未填报" if item.value is None else f"{item.value:,}",
                y=plot_top + index * (bar_height + gap),
                width=round(plot_width * value / top_value, 1),
                is_estimate=item.is_estimate,
                is_missing=item.value is None,
            )
        )
    plot_bottom = plot_top + len(items) * (bar_height + gap)
    tick_count = round(top_value / step)
    ticks = tuple(
        Tick(x=round(plot_left + plot_width * i / tick_count, 1), label=tick_label(step * i))
        for i in range(tick_count + 1)
    )
    return BarChart(
        width=width,
        height=plot_bottom + axis_height,
        plot_left=plot_left,
        plot_width=plot_width,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        bar_height=bar_height,
        bars=tuple(bars),
        ticks=ticks,
    )


# --- Percentages against a target (the leading group's dashboard) ---------------------------

RAG_AMBER_BAND = 10  # percentage points below the target still shown amber


def rag_status(percent: float | None, target: float | None) -> str:
    """Red/amber/green of a percentage against a target in percent: green at or above it, amber
    within RAG_AMBER_BAND points below, red otherwise; "none" without a figure or a target."""
    if percent is None or target is None:
        return "none"
    if percent >= target:
        return "green"
    if percent >= target - RAG_AMBER_BAND:
        return "amber"
    return "red"


@dataclass(frozen=True, slots=True)
class PercentItem:
    label: str
    percent: float | None  # 0–100; None: no base to compute it on
    value_text: str
    href: str | None = None
    detail: str = ""  # the numerator and denominator, for the tooltip
    key: str = ""  # a stable name for the bar (a region code, an item number)


@dataclass(frozen=True, slots=True)
class PercentBar:
    label: str
    value_text: str
    detail: str
    href: str | None
    key: str
    y: int
    width: float
    status: str


@dataclass(frozen=True, slots=True)
class PercentBarChart:
    width: int
    height: int
    plot_left: int
    plot_width: int
    plot_top: int
    plot_bottom: int
    bar_height: int
    bars: tuple[PercentBar, ...]
    ticks: tuple[Tick, ...]
    target_x: float | None
    target_text: str


def _percent_x(plot_left: int, plot_width: int, percent: float) -> float:
    return round(plot_left + plot_width * min(max(percent, 0.0), 100.0) / 100, 1)


def percent_bar_chart(
    items: Sequence[PercentItem],
    *,
    target: float | None,
    width: int = 1000,
    label_width: int = 150,
    value_width: int = 70,
    bar_height: int = 20,
    gap: int = 9,
    axis_height: int = 26,
) -> PercentBarChart:
    """One horizontal bar per item on a fixed 0–100 % axis, coloured against the target, with
    the target as a vertical line."""
    plot_left = label_width
    plot_width = width - label_width - value_width
    plot_top = 4 if target is None else 18  # room for the target's label above the bars
    bars = tuple(
        PercentBar(
            label=item.label,
            value_text=item.value_text,
            detail=item.detail,
            href=item.href,
            key=item.key,
            y=plot_top + index * (bar_height + gap),
            width=_percent_x(0, plot_width, item.percent or 0.0),
            status=rag_status(item.percent, target),
        )
        for index, item in enumerate(items)
    )
    plot_bottom = plot_top + len(items) * (bar_height + gap) - gap + 4
    ticks = tuple(
        Tick(x=_percent_x(plot_left, plot_width, float(p)), label=f"{p}%")
        for p in range(0, 101, 20)
    )
    return PercentBarChart(
        width=width,
        height=plot_bottom + axis_height,
        plot_left=plot_left,
        plot_width=plot_width,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        bar_height=bar_height,
        bars=bars,
        ticks=ticks,
        target_x=None if target is None else _percent_x(plot_left, plot_width, target),
        target_text="" if target is None else f"目标 {target:g}%",
    )


@dataclass(frozen=True, slots=True)
class LinePoint:
    label: str  # for the tooltip, e.g. "2016年第3季度末"
    percent: float | None
    axis_label: str = ""  # under the axis when labelled, e.g. "2016"


@dataclass(frozen=True, slots=True)
class PlottedPoint:
    x: float
    y: float
    label: str
    value_text: str


@dataclass(frozen=True, slots=True)
class TargetStep:
    x1: float
    x2: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    polyline: str  # the "points" attribute of the SVG polyline
    points: tuple[PlottedPoint, ...]
    y_ticks: tuple[Tick, ...]  # here `x` holds the tick's y coordinate
    x_labels: tuple[Tick, ...]
    targets: tuple[TargetStep, ...]


def line_chart(
    points: Sequence[LinePoint],
    *,
    targets: Sequence[tuple[int, float]] = (),
    width: int = 560,
    height: int = 220,
    margin_left: int = 44,
    margin_right: int = 14,
    margin_top: int = 12,
    margin_bottom: int = 26,
    label_every: int = 4,
) -> LineChart:
    """A 0–100 % line over evenly spaced points. `targets` are (index of the first point the
    target applies to, target percent): drawn as dashed steps. Every `label_every`-th point is
    labelled on the x axis, and the last one always."""
    plot_left, plot_right = margin_left, width - margin_right
    plot_top, plot_bottom = margin_top, height - margin_bottom
    span = max(len(points) - 1, 1)

    def x_of(index: int) -> float:
        if len(points) == 1:
            return float(plot_right)
        return round(plot_left + (plot_right - plot_left) * index / span, 1)

    def y_of(percent: float) -> float:
        clamped = min(max(percent, 0.0), 100.0)
        return round(plot_bottom - (plot_bottom - plot_top) * clamped / 100, 1)

    plotted = tuple(
        PlottedPoint(x_of(i), y_of(p.percent), p.label, f"{p.percent:.1f}%")
        for i, p in enumerate(points)
        if p.percent is not None
    )
    labelled = [i for i in range(len(points)) if i % label_every == 0]
    last = len(points) - 1
    text_of = [p.axis_label or p.label for p in points]
    if points and last not in labelled and text_of[last] != text_of[labelled[-1]]:
        if last - labelled[-1] < label_every / 2:
            labelled.pop()
        labelled.append(last)
    steps: list[TargetStep] = []
    for n, (start, percent) in enumerate(targets):
        if start >= len(points):
            continue
        end = targets[n + 1][0] if n + 1 < len(targets) else len(points) - 1
        end = min(end, len(points) - 1)
        steps.append(TargetStep(x_of(start), x_of(end), y_of(percent), f"目标 {percent:g}%"))
    return LineChart(
        width=width,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        polyline=" ".join(f"{p.x},{p.y}" for p in plotted),
        points=plotted,
        y_ticks=tuple(Tick(x=y_of(float(v)), label=f"{v}%") for v in range(0, 101, 25)),
        x_labels=tuple(
            Tick(x=x_of(i), label=points[i].axis_label or points[i].label) for i in labelled
        ),
        targets=tuple(steps),
    )


# --- Columns over months (contributions paid, due or brought from elsewhere) -------------------


@dataclass(frozen=True, slots=True)
class ColumnItem:
    label: str  # under the column, e.g. "11月"
    value: int  # fen, or a count
    key: str = "paid"  # css class suffix: paid, due, elsewhere, moved, none …
    title: str = ""  # the tooltip
    sublabel: str = ""  # a second line under the label, e.g. the year at January
    note: str = ""  # a short mark above the column, e.g. the region a month was paid in


@dataclass(frozen=True, slots=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    centre: float
    label: str
    sublabel: str
    key: str
    title: str
    value_text: str
    note: str


@dataclass(frozen=True, slots=True)
class ColumnChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    columns: tuple[Column, ...]
    y_ticks: tuple[Tick, ...]  # here `x` holds the tick's y coordinate
    show_values: bool


def yuan_text(value_minor: int) -> str:
    """An amount in fen as yuan with two decimals and separators, without the sign: 2,425.40."""
    whole, fen = divmod(value_minor, 100)
    return f"{whole:,}.{fen:02d}"


def yuan_label(value_minor: float) -> str:
    """An axis label for an amount in fen, shown in yuan: 0, 500, 2,000, 1.5万."""
    yuan = value_minor / 100
    if yuan == 0:
        return "0"
    if abs(yuan) >= 10_000:
        return f"{yuan / 10_000:,.2f}".rstrip("0").rstrip(".") + "万"
    return f"{yuan:,.0f}" if yuan == int(yuan) else f"{yuan:,.2f}"


def column_chart(
    items: Sequence[ColumnItem],
    *,
    width: int = 1000,
    height: int = 220,
    margin_left: int = 64,
    margin_right: int = 12,
    margin_top: int = 22,
    margin_bottom: int = 40,
    tick_label: Callable[[float], str] = yuan_label,
    value_text: Callable[[int], str] = yuan_label,
    show_values: bool = True,
    scale_max: int = 0,
) -> ColumnChart:
    """One vertical column per item, evenly spaced, on a round 0-based axis reaching the largest
    value (or `scale_max`, so that charts side by side share a scale); the value is printed above
    each non-zero column when `show_values` (few columns) and is always in the tooltip."""
    plot_left, plot_right = margin_left, width - margin_right
    plot_top, plot_bottom = margin_top, height - margin_bottom
    top = max([scale_max, *(item.value for item in items)])
    step = nice_step(top, ticks_min=3, ticks_max=6)
    top_value = step * max(1, math.ceil(top / step))
    slot = (plot_right - plot_left) / max(len(items), 1)
    bar = slot * 0.68

    def y_of(value: float) -> float:
        return round(plot_bottom - (plot_bottom - plot_top) * value / top_value, 1)

    columns = tuple(
        Column(
            x=round(plot_left + slot * i + (slot - bar) / 2, 1),
            y=y_of(max(item.value, 0)),
            width=round(bar, 1),
            height=round(plot_bottom - y_of(max(item.value, 0)), 1),
            centre=round(plot_left + slot * i + slot / 2, 1),
            label=item.label,
            sublabel=item.sublabel,
            key=item.key,
            title=item.title,
            value_text=value_text(item.value) if item.value else "",
            note=item.note,
        )
        for i, item in enumerate(items)
    )
    ticks = tuple(
        Tick(x=y_of(step * i), label=tick_label(step * i))
        for i in range(round(top_value / step) + 1)
    )
    return ColumnChart(
        width=width,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        columns=columns,
        y_ticks=ticks,
        show_values=show_values,
    )


# --- Stacked shares (a disbursement batch: paid, failed, waiting per bank) --------------------


@dataclass(frozen=True, slots=True)
class Segment:
    key: str  # css class suffix: paid, failed, reserved …
    label: str
    value: int
    x: float
    width: float


@dataclass(frozen=True, slots=True)
class StackedRow:
    label: str
    total: int
    y: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class StackedChart:
    width: int
    height: int
    plot_left: int
    plot_width: int
    bar_height: int
    rows: tuple[StackedRow, ...]


def stacked_bar_chart(
    rows: Sequence[tuple[str, Sequence[tuple[str, str, int]]]],
    *,
    width: int = 1000,
    label_width: int = 150,
    value_width: int = 110,
    bar_height: int = 24,
    gap: int = 12,
) -> StackedChart:
    """One full-width bar per row split into its segments by share of the row's total, so rows
    of different sizes compare as proportions (every segment's value is printed beside it)."""
    plot_width = width - label_width - value_width
    laid: list[StackedRow] = []
    for index, (label, segments) in enumerate(rows):
        total = sum(value for _key, _label, value in segments)
        x = float(label_width)
        parts = []
        for key, segment_label, value in segments:
            share = plot_width * value / total if total else 0.0
            parts.append(Segment(key, segment_label, value, round(x, 1), round(share, 1)))
            x += share
        laid.append(StackedRow(label, total, index * (bar_height + gap), tuple(parts)))
    return StackedChart(
        width=width,
        height=max(len(laid), 1) * (bar_height + gap),
        plot_left=label_width,
        plot_width=plot_width,
        bar_height=bar_height,
        rows=tuple(laid),
    )
