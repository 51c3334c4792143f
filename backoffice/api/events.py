"""``/events`` and ``/calendar``: employees' calendars of calls, meetings and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from backoffice.api.deps import Page, Session, context
from backoffice.api.schemas.activity import (
    MAX_ID,
    CalendarOut,
    EventCreate,
    EventOut,
    EventUpdate,
    IdPath,
    in_zone,
    task_out,
    times_in_zone,
)
from backoffice.api.schemas_common import HistoryOut, ListOf
from crm_core.context import now
from crm_core.errors import ValidationFailed
from crm_core.events import service
from crm_core.events.calendar import calendar
from crm_core.models import EventKind, EventState

router = APIRouter(tags=["events"])
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/events", response_model=ListOf[EventOut])
async def list_events(
    request: Request,
    session: Session,
    page: Page,
    employee_id: QueryId = None,
    customer_id: QueryId = None,
    lead_id: QueryId = None,
    order_id: QueryId = None,
    kind: EventKind | None = None,
    state: EventState | None = None,
    date_from: Annotated[
        datetime | None, Query(alias="from", description="events overlapping [from, to)")
    ] = None,
    date_to: Annotated[datetime | None, Query(alias="to")] = None,
) -> ListOf[EventOut]:
    tz = context(request).timezone
    items, total = await service.list_events(
        session,
        employee_id=employee_id,
        customer_id=customer_id,
        lead_id=lead_id,
        order_id=order_id,
        kind=kind,
        state=state,
        date_from=in_zone(date_from, tz),
        date_to=in_zone(date_to, tz),
        limit=page.limit,
        offset=page.offset,
    )
    return ListOf[EventOut](items=[EventOut.model_validate(e) for e in items], total=total)


@router.post("/events", response_model=EventOut, status_code=201)
async def create_event(body: EventCreate, request: Request, session: Session) -> EventOut:
    fields = times_in_zone(body, context(request).timezone)
    event = await service.create_event(session, **fields)
    return EventOut.model_validate(event)


@router.get("/events/{event_id}", response_model=EventOut)
async def get_event(event_id: IdPath, session: Session) -> EventOut:
    return EventOut.model_validate(await service.get_event(session, event_id))


@router.patch("/events/{event_id}", response_model=EventOut)
async def update_event(
    event_id: IdPath, body: EventUpdate, request: Request, session: Session
) -> EventOut:
    changes = times_in_zone(body, context(request).timezone, exclude_unset=True)
    return EventOut.model_validate(await service.update_event(session, event_id, **changes))


@router.get("/events/{event_id}/history", response_model=ListOf[HistoryOut])
async def event_history(event_id: IdPath, session: Session, page: Page) -> ListOf[HistoryOut]:
    items, total = await service.event_history(
        session, event_id, limit=page.limit, offset=page.offset
    )
    return ListOf[HistoryOut](items=[HistoryOut.model_validate(h) for h in items], total=total)


@router.get("/calendar", response_model=CalendarOut)
async def get_calendar(
    request: Request,
    session: Session,
    start: Annotated[datetime, Query(description="range start (inclusive)")],
    end: Annotated[datetime, Query(description="range end (exclusive)")],
    employee_id: Annotated[list[int], Query(description="one or more employees")] = [],  # noqa: B006
    include_cancelled: bool = False,
) -> CalendarOut:
    """Events overlapping ``[start, end)`` and tasks due in it; bare dates mean the
    firm's midnight."""
    tz = context(request).timezone
    start_at, end_at = in_zone(start, tz), in_zone(end, tz)
    assert start_at is not None and end_at is not None
    if any(not 1 <= i <= MAX_ID for i in employee_id):
        raise ValidationFailed("Bad employee id", field="employee_id")
    view = await calendar(
        session,
        employee_ids=employee_id,
        start=start_at,
        end=end_at,
        include_cancelled=include_cancelled,
    )
    at = now(session)
    return CalendarOut(
        start=start_at,
        end=end_at,
        events=[EventOut.model_validate(e) for e in view.events],
        tasks=[task_out(t, at) for t in view.tasks],
    )
