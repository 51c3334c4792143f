"""Charts of the analytics pages as SVG made on the server: no chart library, no script.

Every text that goes in is escaped here; numbers are formatted by the caller (the
viewer's language) and passed as text. Colours come from CSS classes (``.chart .bar``,
``.bar.completed``, ``.bar.cancelled``, ``.plan``, ``.done``, ``.over``).
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 760
LABEL_W = 220
ROW_H = 34
BAR_H = 24


@dataclass(frozen=True, slots=True)
class FunnelBar:
    label: str
    value: int
    text: str  # e.g. "12 · 150 000,00 ₽"
    note: str = ""  # e.g. "→ 66.7 %" (conversion from the previous stage)
    css: str = ""  # "", "completed", "cancelled"


def _svg(height: int, title: str, body: list[str]) -> Markup:
    t = escape(title)
    return Markup(
        f'<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{t}</title>{''.join(body)}</svg>"
    )


def funnel_svg(bars: list[FunnelBar], title: str) -> Markup:
    """A funnel: one centred bar per stage, its width in proportion to the largest."""
    top = max((b.value for b in bars), default=0) or 1
    area = WIDTH - LABEL_W - 10
    body = []
    for i, bar in enumerate(bars):
        y = 4 + i * ROW_H
        width = max(2.0, area * bar.value / top) if bar.value else 2.0
        x = LABEL_W + (area - width) / 2
        css = f"bar {bar.css}".strip()
        body.append(
            f'<g class="stage" data-value="{bar.value}">'
            f'<text x="{LABEL_W - 8}" y="{y + BAR_H * 0.68:.1f}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
            f'<rect class="{escape(css)}" x="{x:.1f}" y="{y}" width="{width:.1f}" '
            f'height="{BAR_H}" rx="3"/>'
            f'<text x="{LABEL_W + area / 2:.1f}" y="{y + BAR_H * 0.68:.1f}" '
            f'text-anchor="middle" class="value">{escape(bar.text)}</text>'
        )
        if bar.note:
            body.append(
                f'<text x="{WIDTH - 4}" y="{y + BAR_H * 0.68:.1f}" text-anchor="end" '
                f'class="muted">{escape(bar.note)}</text>'
            )
        body.append("</g>")
    return _svg(8 + len(bars) * ROW_H, title, body)


@dataclass(frozen=True, slots=True)
class PlanBar:
    label: str
    plan: float
    actual: float
    text: str  # e.g. "120 000 of 150 000 · 80 %"


def plan_svg(bars: list[PlanBar], title: str) -> Markup:
    """Plan vs actual: a grey plan bar and the actual over it (orange past 100 %)."""
    top = max((max(b.plan, b.actual) for b in bars), default=0) or 1
    area = WIDTH - LABEL_W - 10
    body = []
    step = ROW_H + 12
    for i, bar in enumerate(bars):
        y = 4 + i * step
        plan_w = area * bar.plan / top
        actual_w = area * bar.actual / top
        over = bar.plan > 0 and bar.actual > bar.plan
        body.append(
            f"<g>"
            f'<text x="{LABEL_W - 8}" y="{y + BAR_H * 0.68:.1f}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
            f'<rect class="plan" x="{LABEL_W}" y="{y}" width="{plan_w:.1f}" height="{BAR_H}"/>'
            f'<rect class="{"over" if over else "done"}" x="{LABEL_W}" y="{y + 6}" '
            f'width="{actual_w:.1f}" height="{BAR_H - 12}"/>'
            f'<text x="{LABEL_W + 6}" y="{y + BAR_H + 8}" class="muted">{escape(bar.text)}</text>'
            f"</g>"
        )
    return _svg(8 + len(bars) * step, title, body)
