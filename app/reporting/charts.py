"""Small SVG charts for the reports, returned as markup strings.

Every chart carries ``role="img"``, an ``aria-label`` and a ``<title>`` with the same text
alternative (WeasyPrint puts the ``<title>`` into the tagged PDF as the figure's /Alt).
Charts only draw what they are given: no statistics here. Colours come from the Okabe–Ito
and ColorBrewer PuOr palettes, which stay distinguishable with common colour-vision deficiencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from app.reporting import format as fmt

#: Good / neutral / weak colours for the negative–neutral–positive bars (Okabe–Ito).
GOOD = "#0072B2"
NEUTRAL = "#BBBBBB"
WEAK = "#E69F00"
INK = "#222222"
GRID = "#999999"

#: Heatmap classes from weakest to best (ColorBrewer PuOr, 6 classes, colour-blind safe).
HEAT_COLOURS = ("#B35806", "#F1A340", "#FEE0B6", "#D8DAEB", "#998EC3", "#542788")
#: Lower bounds (in "how good", 0–100) of heat classes 2..6.
HEAT_BREAKS = (40.0, 50.0, 60.0, 70.0, 80.0)
_DARK = {"#B35806", "#542788", "#998EC3"}
#: SVG text does not inherit the page's CSS in WeasyPrint: set the face on every text element.
_FONT = 'font-family="DejaVu Sans"'


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _svg(width: float, height: float, alt: str, body: str, css_class: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'aria-label="{_attr(alt)}" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}"><title>{escape(alt)}</title>{body}</svg>'
    )


def distribution_bar(
    negative: float,
    neutral: float,
    positive: float,
    *,
    higher_is_better: bool,
    alt: str,
    width: float = 120,
    height: float = 10,
) -> Markup:
    """A stacked negative | neutral | positive bar; for a lower-is-better scale the
    "positive" segment (agreeing) is drawn in the weak colour and "negative" in the good one."""
    total = negative + neutral + positive
    scale = width / total if total > 0 else 0.0
    colours = (WEAK, NEUTRAL, GOOD) if higher_is_better else (GOOD, NEUTRAL, WEAK)
    parts = []
    x = 0.0
    for share, colour in zip((negative, neutral, positive), colours, strict=True):
        w = share * scale
        if w > 0:
            parts.append(
                f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height:g}" fill="{colour}"/>'
            )
        x += w
    return _svg(width, height, alt, "".join(parts), "distribution")


def interval_plot(
    mean: float,
    bounds: tuple[float, float],
    *,
    alt: str,
    width: float = 90,
    height: float = 12,
) -> Markup:
    """A dot for the mean and a line for its interval on a 0–100 axis with ticks every 25."""
    pad = 3.0
    span = width - 2 * pad

    def x(value: float) -> float:
        return pad + max(0.0, min(100.0, value)) / 100 * span

    mid = height / 2
    # Axis and ticks as one path: fewer SVG nodes keep WeasyPrint fast.
    axis = f"M{x(0):.2f} {mid:g}H{x(100):.2f}" + "".join(
        f"M{x(v):.2f} {mid - 3:g}V{mid + 3:g}" for v in (0, 25, 50, 75, 100)
    )
    low, high = bounds
    body = (
        f'<path d="{axis}" stroke="{GRID}" stroke-width="0.5" fill="none"/>'
        f'<line x1="{x(low):.2f}" y1="{mid:g}" x2="{x(high):.2f}" y2="{mid:g}" stroke="{INK}" '
        f'stroke-width="1.6"/>'
        f'<circle cx="{x(mean):.2f}" cy="{mid:g}" r="2.6" fill="{INK}"/>'
    )
    return _svg(width, height, alt, body, "interval")


def rate_bar(rate: float, *, alt: str, width: float = 80, height: float = 8) -> Markup:
    """A single 0–100 bar (response rates)."""
    w = max(0.0, min(100.0, rate)) / 100 * width
    body = (
        f'<rect x="0" y="0" width="{width:g}" height="{height:g}" fill="#EEEEEE"/>'
        f'<rect x="0" y="0" width="{w:.2f}" height="{height:g}" fill="{GOOD}"/>'
    )
    return _svg(width, height, alt, body, "rate")


@dataclass(frozen=True)
class HeatColumn:
    """A heatmap column: a scale's short heading and its direction.

    ``ranked`` False (differences between units are not reliable there): the cells are left
    uncoloured, so the chart does not rank units on that scale.
    """

    heading: str
    higher_is_better: bool
    ranked: bool = True


@dataclass(frozen=True)
class HeatRow:
    """A heatmap row: a unit and its values (``None``: not shown), or a note instead of values."""

    label: str
    values: tuple[float | None, ...] = ()
    note: str | None = None


def heat_colour(value: float, higher_is_better: bool) -> str:
    """The fill of a cell: classes by how good the value is (100 − value if lower is better)."""
    goodness = value if higher_is_better else 100.0 - value
    index = sum(goodness >= edge for edge in HEAT_BREAKS)
    return HEAT_COLOURS[index]


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def heatmap(
    columns: Sequence[HeatColumn],
    rows: Sequence[HeatRow],
    *,
    alt: str,
    missing: str,
    label_width: float = 150,
    cell_width: float = 64,
    cell_height: float = 18,
) -> Markup:
    """Units × scales, the value printed in each cell; a row with a note has no cells."""
    header_lines = [_wrap(column.heading, 12) for column in columns]
    header_height = 9.5 * max((len(lines) for lines in header_lines), default=1) + 6
    width = label_width + cell_width * len(columns)
    height = header_height + cell_height * len(rows)
    parts = []
    for c, lines in enumerate(header_lines):
        cx = label_width + c * cell_width + cell_width / 2
        top = header_height - 4 - 9.5 * (len(lines) - 1)
        spans = "".join(
            f'<tspan x="{cx:.1f}" y="{top + 9.5 * i:.1f}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(
            f'<text {_FONT} font-size="7.5" font-weight="bold" fill="#333333" '
            f'text-anchor="middle">{spans}</text>'
        )
    for r, row in enumerate(rows):
        y = header_height + r * cell_height
        base = y + cell_height / 2 + 3.5
        parts.append(
            f'<text {_FONT} font-size="8.5" fill="{INK}" x="0" y="{base:.1f}">'
            f"{escape(row.label)}</text>"
        )
        if row.note is not None:
            parts.append(
                f'<text {_FONT} font-size="8" font-style="italic" fill="#555555" '
                f'x="{label_width + 4:g}" y="{base:.1f}">'
                f"{escape(row.note)}</text>"
            )
            continue
        for c, (column, value) in enumerate(zip(columns, row.values, strict=True)):
            x = label_width + c * cell_width
            if value is None:
                fill, ink, text = "#FFFFFF", INK, missing
            elif not column.ranked:
                fill, ink, text = "#F4F4F4", INK, fmt.pct(value)
            else:
                fill = heat_colour(value, column.higher_is_better)
                ink = "#FFFFFF" if fill in _DARK else INK
                text = fmt.pct(value)
            parts.append(
                f'<rect x="{x + 1:g}" y="{y + 1:g}" width="{cell_width - 2:g}" '
                f'height="{cell_height - 2:g}" fill="{fill}" stroke="#DDDDDD" stroke-width="0.5"/>'
                f'<text {_FONT} font-size="8.5" font-weight="bold" x="{x + cell_width / 2:g}" '
                f'y="{base:.1f}" text-anchor="middle" fill="{ink}">{escape(text)}</text>'
            )
    return _svg(width, height, alt, "".join(parts), "heatmap")


def heat_legend(*, better: str, weaker: str, alt: str, swatch: float = 16) -> Markup:
    """The heatmap's colour classes from weaker to better."""
    parts = [f'<text {_FONT} font-size="8" fill="#333333" x="0" y="11">{escape(weaker)}</text>']
    x0 = 48.0
    for i, colour in enumerate(HEAT_COLOURS):
        parts.append(
            f'<rect x="{x0 + i * swatch:g}" y="2" width="{swatch:g}" height="11" fill="{colour}"/>'
        )
    end = x0 + len(HEAT_COLOURS) * swatch + 4
    parts.append(
        f'<text {_FONT} font-size="8" fill="#333333" x="{end:g}" y="11">{escape(better)}</text>'
    )
    return _svg(end + 44, 15, alt, "".join(parts), "legend")
