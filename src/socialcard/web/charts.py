"""Chart geometry for server-rendered SVG: pure functions from values to coordinates, so the
templates only draw and a test can check the arithmetic."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
        Tick(x=round(plot_left + plot_width * i / tick_count, 1), label=wan_label(step * i))
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
