"""``GET /calendar/{token}.ics``: an employee's events and tasks as iCalendar (RFC 5545),
for Google Calendar, Apple Calendar and Outlook subscriptions.

Stable UIDs (``event-<id>@<host>``, ``task-<id>@<host>``) so a changed event updates
in place; times in the employee's time zone with its VTIMEZONE; cancelled events and
tasks stay in the feed as ``STATUS:CANCELLED`` so subscribers remove them; an ETag
(the body's SHA-256) so an unchanged feed answers 304 to ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from icalendar import Calendar
from icalendar import Event as VEvent
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.texts import N_, catalog
from crm_core.calendar_feed.service import CalendarItems, calendar_items, employee_by_calendar_token
from crm_core.context import Clock, bind
from crm_core.db import READ_ONLY
from crm_core.models import Event, EventState, Importance, Task, TaskState

DEFAULT_LENGTH = timedelta(minutes=30)
TASK_LENGTH = timedelta(minutes=15)
KIND_LABELS = {
    "call": N_("Call"),
    "meeting": N_("Meeting"),
    "email": N_("Email"),
    "sms": N_("SMS"),
    "telegram": N_("Telegram"),
    "web_form": N_("Web form"),
    "other": N_("Event"),
}
PRIORITY = {Importance.HIGH: 1, Importance.NORMAL: 5, Importance.LOW: 9}


def _zone(name: str, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def _event(item: Event, host: str, zone: ZoneInfo, _) -> VEvent:
    vevent = VEvent()
    vevent.add("uid", f"event-{item.id}@{host}")
    vevent.add("dtstamp", item.updated_at)
    vevent.add("last-modified", item.updated_at)
    vevent.add("created", item.created_at)
    start = item.starts_at.astimezone(zone)
    end = (item.ends_at or item.starts_at + DEFAULT_LENGTH).astimezone(zone)
    vevent.add("dtstart", start)
    vevent.add("dtend", max(end, start))
    label = _(KIND_LABELS.get(item.kind.value, KIND_LABELS["other"]))
    vevent.add("summary", f"{label}: {item.subject}" if item.subject else label)
    if item.body:
        vevent.add("description", item.body[:10000])
    vevent.add("categories", [label])
    vevent.add("priority", PRIORITY.get(item.importance, 5))
    vevent.add("status", "CANCELLED" if item.state is EventState.CANCELLED else "CONFIRMED")
    # SEQUENCE grows with each change so clients that honour it replace their copy.
    vevent.add("sequence", int(item.updated_at.timestamp() - item.created_at.timestamp()) // 60)
    return vevent


def _task(item: Task, host: str, zone: ZoneInfo, _) -> VEvent:
    vevent = VEvent()
    vevent.add("uid", f"task-{item.id}@{host}")
    vevent.add("dtstamp", item.updated_at)
    vevent.add("last-modified", item.updated_at)
    due = item.due_at.astimezone(zone)
    vevent.add("dtstart", due)
    vevent.add("dtend", due + TASK_LENGTH)
    prefix = _("Done") if item.state is TaskState.DONE else _("Task")
    vevent.add("summary", f"{prefix}: {item.subject}")
    if item.body:
        vevent.add("description", item.body[:10000])
    vevent.add("categories", [_("Task")])
    vevent.add("priority", PRIORITY.get(item.importance, 5))
    vevent.add("status", "CANCELLED" if item.state is TaskState.CANCELLED else "CONFIRMED")
    vevent.add("transp", "TRANSPARENT")
    vevent.add("sequence", int(item.updated_at.timestamp() - item.created_at.timestamp()) // 60)
    return vevent


def build_calendar(items: CalendarItems, *, host: str, firm_timezone: str) -> bytes:
    """The feed's bytes for the employee's items."""
    employee = items.employee
    zone = _zone(employee.timezone, firm_timezone)
    _ = catalog.translator(employee.language)
    cal = Calendar()
    cal.add("prodid", "-//Firma//Firma CRM//RU")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Firma: {name}", name=employee.name))
    cal.add("x-wr-timezone", zone.key)
    cal.add("x-published-ttl", "PT15M")
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    for event in items.events:
        cal.add_component(_event(event, host, zone, _))
    for task in items.tasks:
        cal.add_component(_task(task, host, zone, _))
    cal.add_missing_timezones()
    return cal.to_ical()


def calendar_router(
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    public_url: str,
    timezone: str = "Europe/Moscow",
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    host = urlsplit(public_url).hostname or "firma"

    @router.get("/calendar/{token}.ics")
    async def feed(token: str, request: Request) -> Response:
        async with sessions() as session:
            bind(session, actor=None, clock=clock)
            await session.connection(execution_options=READ_ONLY)
            employee = await employee_by_calendar_token(session, token)
            if employee is None:
                return PlainTextResponse("Not found", status_code=404)
            items = await calendar_items(session, employee)
        body = build_calendar(items, host=host, firm_timezone=timezone)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
        wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
        if etag in wanted or f"W/{etag}" in wanted:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    return router
