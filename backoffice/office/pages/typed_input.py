"""Reading typed values from office form fields (always strings) with messages a person
can act on: numbers, money, dates and local times in the viewer's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from backoffice.office.i18n import N_
from crm_core.errors import ValidationFailed

MAX_ID = 2**31 - 1


def optional_id(value: str | None, field: str) -> int | None:
    """A positive integer id, or None for an empty field."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ValidationFailed(N_("Pick a value from the list"), field=field)
    return int(text)


def decimal_value(value: str | None, field: str, *, required: bool = True) -> Decimal | None:
    """``1 250,50`` as people type it → ``Decimal('1250.50')``."""
    text = (value or "").replace("\u00a0", "").replace(" ", "").replace(",", ".").strip()
    if not text:
        if required:
            raise ValidationFailed(N_("Enter a number"), field=field)
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationFailed(N_("Enter a number"), field=field) from exc
    if not number.is_finite():
        raise ValidationFailed(N_("Enter a number"), field=field)
    return number


def local_datetime(value: str | None, tz: ZoneInfo, field: str) -> datetime | None:
    """``2026-03-02T10:00`` (``<input type=datetime-local>``) in ``tz`` → aware UTC."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(N_("Enter a date and time"), field=field) from exc
    if not 1900 <= parsed.year <= 2200:
        raise ValidationFailed(N_("Enter a date and time"), field=field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def day_value(value: str | None, field: str) -> date | None:
    """``2026-03-02`` (``<input type=date>``) → a date, None when empty."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(N_("Enter a date"), field=field) from exc
    if not 1900 <= day.year <= 2200:
        raise ValidationFailed(N_("Enter a date"), field=field)
    return day


def query_day(value: str | None) -> date | None:
    """A date from the query string; a bad one is ignored (lists never fail on a filter)."""
    try:
        return day_value(value, "date")
    except ValidationFailed:
        return None


def query_id(value: str | None) -> int | None:
    """An id from the query string; a bad one is ignored."""
    try:
        return optional_id(value, "id")
    except ValidationFailed:
        return None
