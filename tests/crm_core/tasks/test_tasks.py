"""Tasks: creation, the state machine, races, list order and filters, history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.context import Actor, ActorKind
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import OutboxEvent, TaskState
from crm_core.tasks.service import (
    cancel_task,
    complete_task,
    create_task,
    get_task,
    list_tasks,
    reopen_task,
    task_history,
    update_task,
)
from tests.conftest import START
from tests.factories.activity import make_customer, make_employee

H = timedelta(hours=1)


async def test_create_by_an_employee(uow):
    async with uow() as s:
        emp = await make_employee(s)
        boss = await make_employee(s)
    async with uow(Actor(ActorKind.EMPLOYEE, boss.id, boss.name)) as s:
        mine = await create_task(s, subject="Call the bank", due_at=START + H)
        theirs = await create_task(s, subject="Send the offer", assignee_id=emp.id)
    assert mine.assignee_id == boss.id and mine.author_id == boss.id
    assert theirs.assignee_id == emp.id and theirs.author_id == boss.id
    assert mine.state == TaskState.OPEN
    async with uow() as s:
        rows = list(await s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "task.created")))
    payloads = sorted((r.payload for r in rows), key=lambda p: p["task_id"])
    assert payloads[0]["task_id"] == mine.id
    assert payloads[0]["assignee_id"] == boss.id
    assert payloads[0]["due_at"] == (START + H).isoformat()
    assert payloads[1]["assignee_id"] == emp.id


async def test_bad_input(session):
    with pytest.raises(ValidationFailed) as err:
        await create_task(session, subject="   ")
    assert err.value.field == "subject"
    with pytest.raises(ValidationFailed) as err:
        await create_task(session, subject="x", assignee_id=999999)
    assert err.value.field == "assignee_id"
    with pytest.raises(ValidationFailed) as err:
        await create_task(session, subject="x", order_id=999999)
    assert err.value.field == "order_id"
    with pytest.raises(ValidationFailed) as err:
        await create_task(session, subject="x", due_at=START.replace(tzinfo=None))
    assert err.value.field == "due_at"


async def test_state_machine(session):
    task = await create_task(session, subject="x")
    await complete_task(session, task.id)
    assert task.state == TaskState.DONE and task.completed_at == START
    with pytest.raises(Conflict):
        await complete_task(session, task.id)
    with pytest.raises(Conflict):
        await cancel_task(session, task.id)  # done → cancelled: reopen first
    await reopen_task(session, task.id)
    assert task.state == TaskState.OPEN and task.completed_at is None
    await cancel_task(session, task.id)
    assert task.state == TaskState.CANCELLED
    for move in (reopen_task, complete_task, cancel_task):
        with pytest.raises(Conflict):
            await move(session, task.id)
    with pytest.raises(NotFound):
        await complete_task(session, 999999)


async def test_patch_including_state(session):
    customer = await make_customer(session)
    task = await create_task(session, subject="x", remind_at=START)
    task.reminded_at = START
    await update_task(
        session, task.id, subject="y", customer_id=customer.id, remind_at=START + H, state="done"
    )
    assert task.subject == "y" and task.customer_id == customer.id
    assert task.remind_at == START + H and task.reminded_at is None
    assert task.state == TaskState.DONE
    with pytest.raises(Conflict):
        await update_task(session, task.id, state="cancelled")
    with pytest.raises(ValidationFailed):
        await update_task(session, task.id, subject="")
    with pytest.raises(ValidationFailed):
        await update_task(session, task.id, state="finished")


async def test_two_people_completing_at_once_one_wins(uow):
    async with uow() as s:
        task = await create_task(s, subject="race")

    async def complete():
        try:
            async with uow() as s:
                await complete_task(s, task.id)
            return "ok"
        except Conflict:
            return "conflict"

    results = await asyncio.gather(complete(), complete())
    assert sorted(results) == ["conflict", "ok"]
    async with uow() as s:
        assert (await get_task(s, task.id)).state == TaskState.DONE
        _, total = await task_history(s, task.id)
    assert total == 2  # created, then done once


async def test_my_tasks_open_first_overdue_first(session):
    me = await make_employee(session)
    later = await create_task(session, subject="later", assignee_id=me.id, due_at=START + H)
    undated = await create_task(session, subject="undated", assignee_id=me.id)
    overdue = await create_task(session, subject="overdue", assignee_id=me.id, due_at=START - H)
    done = await create_task(session, subject="done", assignee_id=me.id, due_at=START - 2 * H)
    await complete_task(session, done.id)
    await create_task(session, subject="someone else's")
    items, total = await list_tasks(session, assignee_id=me.id)
    assert items == [overdue, later, undated, done] and total == 4
    assert (await list_tasks(session, assignee_id=me.id, overdue=True))[0] == [overdue]
    items, _ = await list_tasks(session, assignee_id=me.id, overdue=False)
    assert items == [later, undated, done]
    assert (await list_tasks(session, state="done"))[0] == [done]
    items, _ = await list_tasks(session, due_from=START - H, due_to=START + H)
    assert items == [overdue]


async def test_history(uow):
    async with uow() as s:
        task = await create_task(s, subject="x")
    async with uow() as s:
        await complete_task(s, task.id)
    async with uow() as s:
        items, total = await task_history(s, task.id)
        with pytest.raises(NotFound):
            await task_history(s, 999999)
    assert total == 2 and items[1].changes["state"] == ["open", "done"]
