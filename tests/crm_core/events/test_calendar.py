"""The calendar query: half-open ranges, overlap edges, tasks by due time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core.errors import ValidationFailed
from crm_core.events.calendar import calendar
from crm_core.events.service import create_event, list_events
from crm_core.tasks.service import cancel_task, create_task
from tests.conftest import START
from tests.factories.activity import make_employee

H = timedelta(hours=1)
T10 = START  # 10:00 Moscow


async def _day(session):
    emp, other = await make_employee(session), await make_employee(session)
    ev = {}
    for name, start, end in (
        ("before", T10 - H, T10),  # ends exactly when the range starts
        ("inside", T10, T10 + H),
        ("moment_at_end", T10 + H, None),
        ("spanning", T10 - 2 * H, T10 + 3 * H),
        ("moment_at_start", T10, None),
        ("later", T10 + 2 * H, T10 + 3 * H),
    ):
        ev[name] = await create_event(
            session, kind="meeting", subject=name, starts_at=start, ends_at=end, employee_id=emp.id
        )
    ev["elsewhere"] = await create_event(
        session, kind="meeting", starts_at=T10, ends_at=T10 + H, employee_id=other.id
    )
    return emp, other, ev


async def test_events_overlapping_a_half_open_range(session):
    emp, _other, _events = await _day(session)
    view = await calendar(session, employee_ids=[emp.id], start=T10, end=T10 + H)
    assert {e.subject for e in view.events} == {"inside", "spanning", "moment_at_start"}
    view = await calendar(session, employee_ids=[emp.id], start=T10 + H, end=T10 + 2 * H)
    assert {e.subject for e in view.events} == {"moment_at_end", "spanning"}
    # the same through the list's from/to
    items, total = await list_events(
        session, employee_id=emp.id, date_from=T10 + H, date_to=T10 + 2 * H
    )
    assert {e.subject for e in items} == {"moment_at_end", "spanning"} and total == 2


async def test_several_calendars_and_cancelled_events(session):
    emp, other, ev = await _day(session)
    view = await calendar(session, employee_ids=[emp.id, other.id], start=T10, end=T10 + H)
    assert ev["elsewhere"] in view.events and len(view.events) == 4
    ev["inside"].state = "cancelled"
    view = await calendar(session, employee_ids=[emp.id], start=T10, end=T10 + H)
    assert ev["inside"] not in view.events
    view = await calendar(
        session, employee_ids=[emp.id], start=T10, end=T10 + H, include_cancelled=True
    )
    assert ev["inside"] in view.events
    # ordered by start
    assert [e.starts_at for e in view.events] == sorted(e.starts_at for e in view.events)


async def test_tasks_by_due_time(session):
    emp = await make_employee(session)
    due_at_start = await create_task(session, subject="a", assignee_id=emp.id, due_at=T10)
    await create_task(session, subject="b", assignee_id=emp.id, due_at=T10 + H)
    await create_task(session, subject="c", assignee_id=emp.id)  # no due time
    dropped = await create_task(session, subject="d", assignee_id=emp.id, due_at=T10)
    await cancel_task(session, dropped.id)
    view = await calendar(session, employee_ids=[emp.id], start=T10, end=T10 + H)
    assert view.tasks == [due_at_start]


async def test_bad_ranges(session):
    emp = await make_employee(session)
    with pytest.raises(ValidationFailed):
        await calendar(session, employee_ids=[emp.id], start=T10, end=T10)
    with pytest.raises(ValidationFailed):
        await calendar(session, employee_ids=[emp.id], start=T10, end=T10 + timedelta(days=500))
    with pytest.raises(ValidationFailed):
        await calendar(session, employee_ids=[], start=T10, end=T10 + H)
