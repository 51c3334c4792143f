"""Turning the firm's calendar days and months into UTC bounds for queries.

Reports speak in the firm's days (``FIRMA_TIMEZONE``, default Europe/Moscow): the
period 2026-03-01..2026-03-31 is ``[2026-03-01 00:00 MSK, 2026-04-01 00:00 MSK)``,
i.e. ``[2026-02-28 21:00 UTC, 2026-03-31 21:00 UTC)``. Stored times are UTC, so
each report converts its bounds once and compares plain columns (index-friendly).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_core.errors import ValidationFailed

FIRM_TIMEZONE = "Europe/Moscow"
MAX_DAYS = 3700  # ten years: a bigger range is a typo, not a report


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"Unknown time zone {name!r}", field="timezone") from exc


def day_start(day: date, tz: str = FIRM_TIMEZONE) -> datetime:
    """The UTC instant the firm's day ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def day_bounds(
    date_from: date, date_to: date, tz: str = FIRM_TIMEZONE
) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC for the inclusive days ``date_from..date_to``."""
    if date_to < date_from:
        raise ValidationFailed("date_to must not be before date_from", field="date_to")
    if (date_to - date_from).days > MAX_DAYS:
        raise ValidationFailed("The period is too long", field="date_to")
    return day_start(date_from, tz), day_start(date_to + timedelta(days=1), tz)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(first: date, last: date) -> list[date]:
    """First days of the months from ``first`` to ``last``, inclusive."""
    if last < first:
        raise ValidationFailed("period_to must not be before period", field="period_to")
    result, month = [], first
    while month <= last:
        result.append(month)
        month = next_month(month)
        if len(result) > 120:
            raise ValidationFailed("At most 120 months at once", field="period_to")
    return result


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """``part`` as a percentage of ``whole`` to one decimal; None when ``whole`` is 0."""
    if not whole:
        return None
    value = Decimal(part) * 100 / Decimal(whole)
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def money(value: Decimal | float | int | None) -> Decimal:
    """A SQL sum as kopecks (SQLite hands sums back as floats)."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
