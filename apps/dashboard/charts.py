"""Bar charts as inline SVG, rendered on the server: no JavaScript, no CDN, the portal works offline.

``stacked_bar_chart`` draws one bar per category (an hour, a day), stacked from its series
(tokens issued, refused), with a y axis scaled to a round maximum and every n-th category
labelled on the x axis. Each bar is a ``<g>`` whose ``<title>`` the browser shows on hover;
the ``<svg role="img">`` carries an ``aria-label`` that sums the data up for screen readers.

Colours and fonts come from classes (``static/portcullis/dashboard.css``, built on the admin's
CSS variables, so the dark theme works): the policy (CSP) allows no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# The viewBox: about the size a chart is shown at (half the dashboard, or a phone's width), so
# that its 12-13px text stays readable when the SVG is scaled to fit.
WIDTH, HEIGHT = 400, 180
# Room for the y axis labels on the left, the x axis labels below, and half the last one on the right.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 40, 20, 10, 24
BAR_FILL = 0.72  # of each category's band; the rest is the gap between bars

_SVG = (
    '<svg class="pc-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" '
    'aria-label="{}"{}><title>{}</title>{}</svg>'
)
_GRID_LINE = '<line class="pc-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
_BASELINE = '<line class="pc-baseline" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
_Y_LABEL = '<text class="pc-axis" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>'
_X_LABEL = '<text class="pc-axis" x="{}" y="{}" text-anchor="middle">{}</text>'
_HIT_AREA = '<rect class="pc-hit" x="{}" y="{}" width="{}" height="{}"></rect>'
_BAR = '<rect class="pc-bar {}" x="{}" y="{}" width="{}" height="{}"></rect>'
_BAR_GROUP = '<g class="pc-bar-group"><title>{}</title>{}</g>'


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked part of every bar: ``values[i]`` belongs to category ``i``."""

    label: str  # "issued": also the word used in hover titles and the summary
    css_class: str  # the class of its rectangles (their colour)
    values: tuple[int, ...]


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^k that is >= ``value`` (at least 1): a y axis maximum that reads well."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 5, 10, 20) if value <= step * magnitude)


def compact(number: int) -> str:
    """An axis label: 950, 1.2k, 35k, 1.5M."""
    for divisor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if number >= divisor:
            text = f"{number / divisor:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return str(number)


def _fmt(number: float) -> str:
    """A coordinate with at most two decimals (smaller SVG, stable output for tests)."""
    return f"{number:.2f}".rstrip("0").rstrip(".")


def chart_summary(*, title: str, long_labels: Sequence[str], series: Sequence[Series]) -> str:
    """What a screen reader hears: the title, each series' total and the busiest category."""
    totals = [sum(values) for values in zip(*(s.values for s in series), strict=True)] if series else []
    parts = ", ".join(f"{sum(s.values):,} {s.label}" for s in series)
    summary = f"{title}: {parts}." if parts else f"{title}: no data."
    if totals and max(totals) > 0:
        peak = totals.index(max(totals))
        summary += f" Busiest: {long_labels[peak]} with {totals[peak]:,}."
    return summary


def stacked_bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    long_labels: Sequence[str],
    series: Sequence[Series],
    label_every: int = 1,
    element_id: str = "",
) -> SafeString:
    """An ``<svg role="img">`` of stacked bars.

    ``labels`` are the short x-axis labels (``14:00``), ``long_labels`` name each category in
    its hover title and the summary (``14:00-15:00 UTC``); only every ``label_every``-th label is
    drawn, so that they do not overlap.
    """
    count = len(labels)
    if len(long_labels) != count or any(len(s.values) != count for s in series):
        raise ValueError("labels, long_labels and every series need one entry per category")
    totals = [sum(s.values[i] for s in series) for i in range(count)]
    top = nice_ceiling(max(totals, default=0))
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    baseline = MARGIN_TOP + plot_height
    band = plot_width / max(count, 1)
    bar_width = band * BAR_FILL

    def y_of(value: float) -> float:
        return baseline - plot_height * value / top

    parts: list[SafeString] = []
    # Grid lines and y-axis labels: 0, half (when it is a whole number) and the maximum.
    ticks = [0, top // 2, top] if top % 2 == 0 else [0, top]
    for tick in ticks:
        y = _fmt(y_of(tick))
        parts.append(format_html(_GRID_LINE, MARGIN_LEFT, WIDTH - MARGIN_RIGHT, y, y))
        parts.append(format_html(_Y_LABEL, MARGIN_LEFT - 6, y, compact(tick)))
    for index in range(count):
        x = MARGIN_LEFT + band * index
        hover = f"{long_labels[index]}: " + ", ".join(f"{s.values[index]:,} {s.label}" for s in series)
        # The whole band answers to the pointer, so even an empty bar has its hover title.
        rects = [format_html(_HIT_AREA, _fmt(x), MARGIN_TOP, _fmt(band), plot_height)]
        stacked = 0
        for s in series:
            value = s.values[index]
            if value <= 0:
                continue
            y_top, y_bottom = y_of(stacked + value), y_of(stacked)
            left = _fmt(x + (band - bar_width) / 2)
            rects.append(
                format_html(_BAR, s.css_class, left, _fmt(y_top), _fmt(bar_width), _fmt(y_bottom - y_top))
            )
            stacked += value
        parts.append(format_html(_BAR_GROUP, hover, _joined(rects)))
        # Count from the last category, so that the latest (this hour, today) is always labelled.
        if (count - 1 - index) % max(label_every, 1) == 0:
            parts.append(format_html(_X_LABEL, _fmt(x + band / 2), HEIGHT - 6, labels[index]))
    parts.append(format_html(_BASELINE, MARGIN_LEFT, WIDTH - MARGIN_RIGHT, baseline, baseline))
    summary = chart_summary(title=title, long_labels=long_labels, series=series)
    element_id_attr = format_html(' id="{}"', element_id) if element_id else ""
    return format_html(_SVG, WIDTH, HEIGHT, summary, element_id_attr, title, _joined(parts))


def _joined(parts: Sequence[SafeString]) -> SafeString:
    """Safe parts (each built by ``format_html``) joined, without escaping them again."""
    return format_html_join("", "{}", ((part,) for part in parts))
