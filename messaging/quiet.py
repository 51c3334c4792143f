"""SMS quiet hours in the recipient's own time zone.

Whose clock: the customer's ``time_zone`` when set; else the zone the phone number
belongs to, when phonenumbers names exactly one (a Vladivostok landline +7 423…);
else — a Russian mobile number spans eleven zones — the firm's zone.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones

# phonenumbers stands a zone in for others with the same offset: Kaliningrad's
# codes (+7 401…) come back as Bucharest, which keeps summer time; Kaliningrad does not.
_STAND_INS = {("+7", "Europe/Bucharest"): "Europe/Kaliningrad"}


@functools.lru_cache(maxsize=20_000)
def phone_zone(number: str | None) -> str | None:
    """The one IANA zone of a number, or None when it has several or none (parsing a
    number costs ~0.1 ms: the cache keeps a campaign's repeat claims cheap)."""
    if not number or len(number) > 40:
        return None
    try:
        parsed = phonenumbers.parse(number, "RU")
    except phonenumbers.NumberParseException:
        return None
    zones = phone_timezones.time_zones_for_number(parsed)
    if len(zones) != 1 or zones[0] == phone_timezones.UNKNOWN_TIMEZONE:
        return None
    return _STAND_INS.get((f"+{parsed.country_code}", zones[0]), zones[0])


@functools.cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None


def recipient_zone(own: str | None, phone: str | None, firm: str) -> ZoneInfo:
    """The customer's zone, else the phone's (unambiguous only), else the firm's."""
    for name in (own, phone_zone(phone)):
        zone = _zone(name) if name else None
        if zone is not None:
            return zone
    return _zone(firm) or ZoneInfo("UTC")


def quiet_until(at: datetime, zone: ZoneInfo, hours: tuple[int, int]) -> datetime | None:
    """When ``at`` falls in quiet hours ``(start, end)`` (``(21, 9)``: 21:00–09:00
    local), the UTC instant they end — the next ``end``:00 on the local clock;
    else None. ``start == end``: no quiet hours."""
    start, end = hours
    if start == end:
        return None
    local = at.astimezone(zone)
    hour = local.hour
    quiet = hour >= start or hour < end if start > end else start <= hour < end
    if not quiet:
        return None
    resume = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if resume <= local:
        resume += timedelta(days=1)  # wall-clock arithmetic: 09:00 local across DST too
    return resume.astimezone(UTC)
