"""Tasks: assigned work with a due time.

States: open → done | cancelled, and done → open (reopen). A cancelled task stays
cancelled (make a new one); anything else is a Conflict. Each transition is
claimed with a conditional UPDATE, so two people completing one task at once get
one success and one Conflict. ``remind_at`` may be any time (before or after the
due time: "remind me if it is still open"); only open tasks fire, and changing it
clears ``reminded_at`` so the new reminder fires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import actor_of, now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.events.common import aware, check_links, enum_value, require_employee
from crm_core.history import list_history
from crm_core.lookup import get_or_404
from crm_core.models import HistoryEntry, Importance, Task, TaskState
from crm_core.outbox import emit

SUBJECT_MAX = 300
LINKS = ("customer_id", "lead_id", "order_id")
_MOVES = {
    TaskState.OPEN: {TaskState.DONE, TaskState.CANCELLED},
    TaskState.DONE: {TaskState.OPEN},
    TaskState.CANCELLED: set(),
}


def _subject(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed("Subject is required", field="subject")
    if len(value) > SUBJECT_MAX:
        raise ValidationFailed(f"Subject is longer than {SUBJECT_MAX} characters", field="subject")
    return value


async def create_task(
    session: AsyncSession,
    *,
    subject: str,
    body: str | None = None,
    assignee_id: int | None = None,
    due_at: datetime | None = None,
    remind_at: datetime | None = None,
    importance: Importance | str = Importance.NORMAL,
    customer_id: int | None = None,
    lead_id: int | None = None,
    order_id: int | None = None,
) -> Task:
    """A new open task; the author is the acting employee, the assignee defaults to them."""
    at = now(session)
    actor = actor_of(session)
    assignee_id = assignee_id if assignee_id is not None else actor.employee_id
    await require_employee(session, assignee_id, "assignee_id")
    links = await check_links(
        session, {"customer_id": customer_id, "lead_id": lead_id, "order_id": order_id}
    )
    task = Task(
        subject=_subject(subject),
        body=body,
        state=TaskState.OPEN,
        importance=enum_value(Importance, importance, "importance"),
        assignee_id=assignee_id,
        author_id=actor.employee_id,
        due_at=aware(due_at, "due_at"),
        remind_at=aware(remind_at, "remind_at"),
        created_at=at,
        updated_at=at,
        **links,
    )
    session.add(task)
    await session.flush()
    emit(
        session,
        "task.created",
        {
            "task_id": task.id,
            "assignee_id": task.assignee_id,
            "due_at": task.due_at,
            "subject": task.subject,
            "author_id": task.author_id,
        },
    )
    return task


async def get_task(session: AsyncSession, task_id: int) -> Task:
    """One task, or NotFound."""
    return await get_or_404(session, Task, task_id, what="Task")


async def update_task(session: AsyncSession, task_id: int, **changes: Any) -> Task:
    """Change a task (a patch); ``state`` goes through the state machine."""
    task = await get_task(session, task_id)
    allowed = {"subject", "body", "assignee_id", "due_at", "remind_at", "importance", "state"}
    unknown = set(changes) - allowed - set(LINKS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"Unknown field {name!r}", field=name)
    if "subject" in changes:
        task.subject = _subject(changes["subject"])
    if "body" in changes:
        task.body = changes["body"]
    if "importance" in changes:
        task.importance = enum_value(Importance, changes["importance"] or "", "importance")
    if "assignee_id" in changes:
        await require_employee(session, changes["assignee_id"], "assignee_id")
        task.assignee_id = changes["assignee_id"]
    if "due_at" in changes:
        task.due_at = aware(changes["due_at"], "due_at")
    if "remind_at" in changes:
        remind_at = aware(changes["remind_at"], "remind_at")
        if remind_at != task.remind_at:
            task.remind_at = remind_at
            task.reminded_at = None
    if any(name in changes for name in LINKS):
        merged = {name: changes.get(name, getattr(task, name)) for name in LINKS}
        for name, value in (await check_links(session, merged)).items():
            setattr(task, name, value)
    task.updated_at = now(session)
    if "state" in changes:
        to = enum_value(TaskState, changes["state"] or "", "state")
        if to != task.state:
            await _move(session, task, to)
    await session.flush()
    return task


async def _move(session: AsyncSession, task: Task, to: TaskState) -> None:
    """Claim the transition in SQL (``WHERE state IN allowed``) or raise Conflict."""
    if to not in _MOVES[task.state]:
        raise Conflict(
            f"Task {task.id} is {task.state.value}; it cannot become {to.value}", field="state"
        )
    at = now(session)
    completed_at = at if to == TaskState.DONE else None
    outcome = await session.execute(
        update(Task)
        .where(Task.id == task.id, Task.state == task.state)
        .values(state=to, completed_at=completed_at, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if outcome.rowcount != 1:
        raise Conflict(f"Task {task.id} was just changed by someone else", field="state")
    # The row is ours; setting the attributes too makes history record the change.
    task.state = to
    task.completed_at = completed_at
    task.updated_at = at


async def _transition(session: AsyncSession, task_id: int, to: TaskState) -> Task:
    task = await get_task(session, task_id)
    if task.state == to:
        raise Conflict(f"Task {task_id} is already {to.value}", field="state")
    await _move(session, task, to)
    await session.flush()
    return task


async def complete_task(session: AsyncSession, task_id: int) -> Task:
    """open → done."""
    return await _transition(session, task_id, TaskState.DONE)


async def cancel_task(session: AsyncSession, task_id: int) -> Task:
    """open → cancelled."""
    return await _transition(session, task_id, TaskState.CANCELLED)


async def reopen_task(session: AsyncSession, task_id: int) -> Task:
    """done → open (a cancelled task stays cancelled)."""
    return await _transition(session, task_id, TaskState.OPEN)


async def list_tasks(
    session: AsyncSession,
    *,
    assignee_id: int | None = None,
    author_id: int | None = None,
    state: TaskState | str | None = None,
    overdue: bool | None = None,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
    customer_id: int | None = None,
    lead_id: int | None = None,
    order_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Task], int]:
    """Tasks by filter; open first, then by due time (earliest, hence overdue, first)."""
    at = now(session)
    conditions = []
    for column, value in (
        (Task.assignee_id, assignee_id),
        (Task.author_id, author_id),
        (Task.customer_id, customer_id),
        (Task.lead_id, lead_id),
        (Task.order_id, order_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if state is not None:
        conditions.append(Task.state == enum_value(TaskState, state, "state"))
    is_overdue = (Task.state == TaskState.OPEN) & (Task.due_at < at)
    if overdue is True:
        conditions.append(is_overdue)
    elif overdue is False:
        conditions.append(~is_overdue | Task.due_at.is_(None))
    if due_from is not None:
        conditions.append(Task.due_at >= aware(due_from, "due_from"))
    if due_to is not None:
        conditions.append(Task.due_at < aware(due_to, "due_to"))
    total = await session.scalar(select(func.count(Task.id)).where(*conditions))
    order = (
        case((Task.state == TaskState.OPEN, 0), else_=1),
        Task.due_at.is_(None),  # tasks without a due time after dated ones
        Task.due_at,
        Task.id,
    )
    rows = await session.scalars(
        select(Task).where(*conditions).order_by(*order).limit(limit).offset(offset)
    )
    return list(rows), total or 0


async def task_history(
    session: AsyncSession, task_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[HistoryEntry], int]:
    """The recorded changes of one task, oldest first."""
    await get_task(session, task_id)
    total = await session.scalar(
        select(func.count(HistoryEntry.id)).where(
            HistoryEntry.entity_type == "task", HistoryEntry.entity_id == task_id
        )
    )
    items = await list_history(
        session, entity_type="task", entity_id=task_id, limit=limit, offset=offset
    )
    return items, total or 0
