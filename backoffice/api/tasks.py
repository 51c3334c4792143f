"""``/tasks``: assigned work with due times, and its state changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from backoffice.api.deps import Page, Session, context
from backoffice.api.schemas.activity import (
    MAX_ID,
    IdPath,
    TaskCreate,
    TaskOut,
    TaskUpdate,
    in_zone,
    task_out,
    times_in_zone,
)
from backoffice.api.schemas_common import HistoryOut, ListOf
from crm_core.context import now
from crm_core.models import TaskState
from crm_core.tasks import service

router = APIRouter(tags=["tasks"])
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/tasks", response_model=ListOf[TaskOut])
async def list_tasks(
    request: Request,
    session: Session,
    page: Page,
    assignee_id: QueryId = None,
    author_id: QueryId = None,
    state: TaskState | None = None,
    overdue: bool | None = None,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
    customer_id: QueryId = None,
    lead_id: QueryId = None,
    order_id: QueryId = None,
) -> ListOf[TaskOut]:
    """Open tasks first, earliest due (so overdue) first."""
    tz = context(request).timezone
    items, total = await service.list_tasks(
        session,
        assignee_id=assignee_id,
        author_id=author_id,
        state=state,
        overdue=overdue,
        due_from=in_zone(due_from, tz),
        due_to=in_zone(due_to, tz),
        customer_id=customer_id,
        lead_id=lead_id,
        order_id=order_id,
        limit=page.limit,
        offset=page.offset,
    )
    at = now(session)
    return ListOf[TaskOut](items=[task_out(t, at) for t in items], total=total)


@router.post("/tasks", response_model=TaskOut, status_code=201)
async def create_task(body: TaskCreate, request: Request, session: Session) -> TaskOut:
    task = await service.create_task(session, **times_in_zone(body, context(request).timezone))
    return task_out(task, now(session))


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(task_id: IdPath, session: Session) -> TaskOut:
    return task_out(await service.get_task(session, task_id), now(session))


@router.patch("/tasks/{task_id}", response_model=TaskOut)
async def update_task(
    task_id: IdPath, body: TaskUpdate, request: Request, session: Session
) -> TaskOut:
    changes = times_in_zone(body, context(request).timezone, exclude_unset=True)
    return task_out(await service.update_task(session, task_id, **changes), now(session))


@router.post("/tasks/{task_id}/complete", response_model=TaskOut)
async def complete_task(task_id: IdPath, session: Session) -> TaskOut:
    return task_out(await service.complete_task(session, task_id), now(session))


@router.post("/tasks/{task_id}/cancel", response_model=TaskOut)
async def cancel_task(task_id: IdPath, session: Session) -> TaskOut:
    return task_out(await service.cancel_task(session, task_id), now(session))


@router.post("/tasks/{task_id}/reopen", response_model=TaskOut)
async def reopen_task(task_id: IdPath, session: Session) -> TaskOut:
    return task_out(await service.reopen_task(session, task_id), now(session))


@router.get("/tasks/{task_id}/history", response_model=ListOf[HistoryOut])
async def task_history(task_id: IdPath, session: Session, page: Page) -> ListOf[HistoryOut]:
    items, total = await service.task_history(
        session, task_id, limit=page.limit, offset=page.offset
    )
    return ListOf[HistoryOut](items=[HistoryOut.model_validate(h) for h in items], total=total)
