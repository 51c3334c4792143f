"""Shapes of events, tasks and the calendar in the REST API.

Times: aware ISO 8601 datetimes are taken as given; a time without an offset is
read in the firm's time zone (``FIRMA_TIMEZONE``, default Europe/Moscow), since
that is what a person typing "2026-03-02T10:00" means. Output is always UTC with
an offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Path
from pydantic import BaseModel, Field

from backoffice.api.schemas_common import InputSchema, Schema
from crm_core.models import Direction, EventKind, EventState, Importance, Task, TaskState

MAX_ID = 2**31 - 1  # ids are INTEGER columns: a bigger number is bad input, not a 500
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Subject = Annotated[str, Field(max_length=300)]
Body = Annotated[str, Field(max_length=20000)]


def in_zone(value: datetime | None, timezone: str) -> datetime | None:
    """A naive input time read in the firm's zone; aware ones are kept."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def times_in_zone(body: BaseModel, timezone: str, *, exclude_unset: bool = False) -> dict[str, Any]:
    """The input as keyword arguments, naive datetimes localised."""
    values = body.model_dump(exclude_unset=exclude_unset)
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = in_zone(value, timezone)
    return values


class EventCreate(InputSchema):
    kind: EventKind
    state: EventState = EventState.PLANNED
    importance: Importance = Importance.NORMAL
    direction: Direction | None = None
    subject: Subject = ""
    body: Body | None = None
    data: dict[str, Any] | None = None
    starts_at: datetime | None = Field(None, description="default: now")
    ends_at: datetime | None = None
    employee_id: Id | None = Field(None, description="whose calendar")
    customer_id: Id | None = None
    lead_id: Id | None = None
    order_id: Id | None = None
    contact_person_id: Id | None = None
    remind_at: datetime | None = None


class EventUpdate(InputSchema):
    kind: EventKind | None = None
    state: EventState | None = None
    importance: Importance | None = None
    direction: Direction | None = None
    subject: Subject | None = None
    body: Body | None = None
    data: dict[str, Any] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    employee_id: Id | None = None
    customer_id: Id | None = None
    lead_id: Id | None = None
    order_id: Id | None = None
    contact_person_id: Id | None = None
    remind_at: datetime | None = None


class EventOut(Schema):
    id: int
    kind: EventKind
    state: EventState
    importance: Importance
    direction: Direction | None
    subject: str
    body: str | None
    data: dict[str, Any] | None
    starts_at: datetime
    ends_at: datetime | None
    employee_id: int | None
    author_id: int | None
    customer_id: int | None
    contact_person_id: int | None
    lead_id: int | None
    order_id: int | None
    remind_at: datetime | None
    reminded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TaskCreate(InputSchema):
    subject: Subject = Field(min_length=1)
    body: Body | None = None
    assignee_id: Id | None = Field(None, description="default: the acting employee")
    due_at: datetime | None = None
    remind_at: datetime | None = None
    importance: Importance = Importance.NORMAL
    customer_id: Id | None = None
    lead_id: Id | None = None
    order_id: Id | None = None


class TaskUpdate(InputSchema):
    subject: Subject | None = Field(None, min_length=1)
    body: Body | None = None
    assignee_id: Id | None = None
    due_at: datetime | None = None
    remind_at: datetime | None = None
    importance: Importance | None = None
    state: TaskState | None = None
    customer_id: Id | None = None
    lead_id: Id | None = None
    order_id: Id | None = None


class TaskOut(Schema):
    id: int
    subject: str
    body: str | None
    state: TaskState
    importance: Importance
    assignee_id: int | None
    author_id: int | None
    due_at: datetime | None
    remind_at: datetime | None
    reminded_at: datetime | None
    customer_id: int | None
    lead_id: int | None
    order_id: int | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    overdue: bool


def task_out(task: Task, at: datetime) -> TaskOut:
    """The read shape; ``overdue`` is an open task past its due time at ``at``."""
    overdue = task.state == TaskState.OPEN and task.due_at is not None and task.due_at < at
    return TaskOut.model_validate({**_columns(task), "overdue": overdue})


def _columns(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}


class CalendarOut(BaseModel):
    start: datetime
    end: datetime
    events: list[EventOut]
    tasks: list[TaskOut]
