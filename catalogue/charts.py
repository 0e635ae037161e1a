"""Charts drawn at build time as inline SVG: no script, no library, readable without JS.

The SVG uses classes only (no style attributes), so it follows the page's colour tokens in
light and dark themes and passes a strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape


def _nice_ceiling(value: int) -> int:
    """The next round number at or above *value* (1, 2, 5 × 10^n), for the axis top."""
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def growth_chart(growth: Sequence[dict[str, Any]], width: int = 640, height: int = 220) -> Markup:
    """Bars of the cumulative number of public studies per release year, each labelled
    with its total; the title and description carry the same numbers for screen readers."""
    if not growth:
        return Markup("")
    left, right, top, bottom = 36, 8, 16, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(max(int(g["total"]) for g in growth))
    slot = plot_w / len(growth)
    bar = max(4.0, min(48.0, slot * 0.62))
    first, last = growth[0], growth[-1]
    summary = (
        f"From {first['total']} {'study' if first['total'] == 1 else 'studies'} in "
        f"{first['year']} to {last['total']} in {last['year']}: "
        + ", ".join(f"{g['year']}: {g['total']}" for g in growth)
        + "."
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="growth-title growth-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="growth-title">Public studies by year (cumulative)</title>',
        f'<desc id="growth-desc">{escape(summary)}</desc>',
    ]
    for tick in (0, peak // 2, peak) if peak >= 2 else (0, peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>')
    label_every = max(1, round(len(growth) / 12))
    for i, g in enumerate(growth):
        total = int(g["total"])
        h = plot_h * total / peak
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" rx="2"/>'
        )
        cx = x + bar / 2
        if i % label_every == 0 or i == len(growth) - 1:
            parts.append(
                f'<text x="{cx:.1f}" y="{height - 8}" text-anchor="middle">{g["year"]}</text>'
            )
            parts.append(
                f'<text class="value" x="{cx:.1f}" y="{y - 4:.1f}" '
                f'text-anchor="middle">{total:,}</text>'
            )
    base = top + plot_h
    parts.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{base}" y2="{base}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
