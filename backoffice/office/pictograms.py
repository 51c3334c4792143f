"""The order journal's shipment and payment pictograms: a round icon filled in
proportion to a percent, coloured by the order's indicator, made on the server as SVG.

A ring (the whole) and a pie sector (the part): 0 % draws the ring only, 100 % a full
disc. The colour comes from CSS classes ``pict on_time|overdue|closed|cancelled``;
the text alternative (``role="img"`` + ``aria-label`` + ``<title>``) says the figure.
"""

from __future__ import annotations

import math
from functools import lru_cache

from markupsafe import Markup, escape

SIZE = 18
RADIUS = 7.0
INDICATORS = frozenset({"on_time", "overdue", "closed", "cancelled"})


def sector_path(percent: int, cx: float = SIZE / 2, cy: float = SIZE / 2, r: float = RADIUS) -> str:
    """The SVG path of the pie sector for ``percent`` (clockwise from 12 o'clock);
    empty for 0 and a full circle for 100 and more."""
    p = max(0, min(100, int(percent)))
    if p == 0:
        return ""
    if p == 100:
        # Two half arcs: one arc cannot start and end at the same point.
        return (
            f"M {cx:.2f} {cy - r:.2f} A {r:.2f} {r:.2f} 0 1 1 {cx:.2f} {cy + r:.2f} "
            f"A {r:.2f} {r:.2f} 0 1 1 {cx:.2f} {cy - r:.2f} Z"
        )
    angle = 2 * math.pi * p / 100
    x = cx + r * math.sin(angle)
    y = cy - r * math.cos(angle)
    large = 1 if p > 50 else 0
    return (
        f"M {cx:.2f} {cy:.2f} L {cx:.2f} {cy - r:.2f} "
        f"A {r:.2f} {r:.2f} 0 {large} 1 {x:.2f} {y:.2f} Z"
    )


@lru_cache(maxsize=4096)  # a journal page repeats the same few dozen icons
def pictogram(percent: int, indicator: str, label: str) -> Markup:
    """``<svg class="pict <indicator>">`` with a ring and the filled sector."""
    state = indicator if indicator in INDICATORS else "on_time"
    path = sector_path(percent)
    text = escape(label)
    fill = f'<path class="fill" d="{path}"/>' if path else ""
    return Markup(
        f'<svg class="pict {state}" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}" '
        f'role="img" aria-label="{text}" data-percent="{max(0, min(100, int(percent)))}">'
        f"<title>{text}</title>"
        f'<circle class="ring" cx="{SIZE / 2}" cy="{SIZE / 2}" r="{RADIUS}"/>{fill}</svg>'
    )
