"""Due reminders of events and tasks, and claiming them exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from crm_core.events.reminders import claim_reminders, due_reminders, mark_reminded
from crm_core.events.service import create_event, update_event
from crm_core.tasks.service import complete_task, create_task
from tests.conftest import START
from tests.factories.activity import make_employee

H = timedelta(hours=1)


async def test_only_due_unsent_reminders_of_live_items(session):
    emp = await make_employee(session)
    due_event = await create_event(
        session, kind="call", employee_id=emp.id, starts_at=START + H, remind_at=START - H
    )
    await create_event(session, kind="call", starts_at=START + 2 * H, remind_at=START + H)
    done_event = await create_event(
        session, kind="call", starts_at=START + H, remind_at=START, state="completed"
    )
    due_task = await create_task(session, subject="t", assignee_id=emp.id, remind_at=START)
    closed = await create_task(session, subject="closed", remind_at=START - H)
    await complete_task(session, closed.id)
    found = await due_reminders(session, now=START)
    assert [(r.kind, r.id) for r in found] == [("event", due_event.id), ("task", due_task.id)]
    assert found[0].employee_id == emp.id and found[0].at == START + H
    assert found[1].employee_id == emp.id
    assert done_event.id not in {r.id for r in found if r.kind == "event"}

    assert await mark_reminded(session, kind="event", ids=[due_event.id]) == {due_event.id}
    assert await mark_reminded(session, kind="event", ids=[due_event.id]) == set()
    found = await due_reminders(session, now=START)
    assert [(r.kind, r.id) for r in found] == [("task", due_task.id)]
    # a moved reminder fires again
    await update_event(session, due_event.id, remind_at=START - H / 2)
    await session.refresh(due_event)
    assert due_event.reminded_at is None
    assert ("event", due_event.id) in {(r.kind, r.id) for r in await due_reminders(session)}


async def test_limit(session):
    for i in range(3):
        await create_task(session, subject=f"t{i}", remind_at=START - i * H)
    found = await due_reminders(session, now=START, limit=2)
    assert [r.subject for r in found] == ["t2", "t1"]  # oldest first


async def test_two_claimers_get_each_reminder_once(uow):
    async with uow() as s:
        emp = await make_employee(s)
        for i in range(6):
            await create_event(
                s, kind="call", employee_id=emp.id, starts_at=START + H, remind_at=START - i * H
            )
            await create_task(s, subject=f"t{i}", assignee_id=emp.id, remind_at=START)

    async def claim():
        async with uow() as s:
            return await claim_reminders(s, limit=100)

    first, second = await asyncio.gather(claim(), claim())
    got = [(r.kind, r.id) for r in first + second]
    assert len(got) == 12 and len(set(got)) == 12
    async with uow() as s:
        assert await due_reminders(s) == []
        assert await claim_reminders(s) == []
