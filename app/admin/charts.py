"""Small SVG charts drawn on the server (no scripts): the daily responses of a wave."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask_babel import gettext as _
from markupsafe import Markup, escape


def daily_responses_svg(
    points: Sequence[tuple[date, int]], *, width: int = 640, height: int = 200
) -> Markup:
    """Bars of responses per day with the running total as a line; accessible title and desc."""
    if not points:
        return Markup("")
    left, right, top, bottom = 40, 10, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(n for _, n in points) or 1
    total = sum(n for _, n in points)
    step = plot_w / len(points)
    bar = max(step * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title chart-desc" width="{width}" height="{height}">',
        f'<title id="chart-title">{escape(_("Responses per day"))}</title>',
        '<desc id="chart-desc">'
        + escape(
            _(
                "%(days)s days from %(first)s to %(last)s; %(total)s responses in all; "
                "at most %(peak)s on one day.",
                days=len(points),
                first=points[0][0],
                last=points[-1][0],
                total=total,
                peak=peak,
            )
        )
        + "</desc>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#444" stroke-width="1"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end">0</text>',
    ]
    running = 0
    line = []
    for i, (day, n) in enumerate(points):
        x = left + i * step + (step - bar) / 2
        h = plot_h * n / peak
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="#0b5394"><title>{escape(day.isoformat())}: {n}</title></rect>'
        )
        running += n
        line.append(
            f"{left + i * step + step / 2:.1f},{top + plot_h - plot_h * running / total:.1f}"
        )
    parts.append(
        f'<polyline points="{" ".join(line)}" fill="none" stroke="#e69f00" stroke-width="2"/>'
    )
    for i in sorted({0, len(points) // 2, len(points) - 1}):
        x = left + i * step + step / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 10}" font-size="11" text-anchor="middle">'
            f"{points[i][0].strftime('%b %d')}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
