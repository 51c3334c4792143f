"""Events (create, edit, move by drag), the calendar's week and month views, and tasks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from backoffice.office.pages.events import IMPORTANCE, KINDS, STATES
from crm_core.events.service import create_event, get_event
from crm_core.models import EventKind, EventState, Importance, TaskState
from crm_core.tasks.service import create_task, get_task
from tests.factories.commerce import make_buyer

XSS = "<script>alert(1)</script>"


def test_vocabularies_follow_the_core():
    assert set(KINDS) == {k.value for k in EventKind}
    assert set(STATES) == {s.value for s in EventState}
    assert set(IMPORTANCE) == {i.value for i in Importance}


def _event_form(**overrides) -> dict:
    form = {
        "kind": "meeting",
        "state": "planned",
        "importance": "high",
        "subject": f"Встреча {XSS}",
        "starts_at": "2026-03-03T11:00",
        "ends_at": "2026-03-03T12:30",
        "remind_at": "2026-03-03T10:45",
        "body": XSS,
    }
    return form | overrides


async def test_create_edit_and_see_an_event(office, uow, people):
    async with uow() as s:
        buyer = await make_buyer(s, name="ООО Берёзка")
    page = await office.get(f"/office/events/new?customer_id={buyer.id}&start=2026-03-03T11:00")
    assert page.status_code == 200 and "ООО Берёзка" in page.text
    r = await office.post_form(
        "/office/events/new",
        _event_form(customer_id=str(buyer.id), employee_id=str(people.admin_id)),
    )
    assert r.status_code == 303, r.text
    event_id = int(re.search(r"/events/(\d+)", r.headers["location"]).group(1))
    async with uow() as s:
        event = await get_event(s, event_id)
    # 11:00 in Moscow is 08:00 UTC; the reminder a quarter of an hour before.
    assert event.starts_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert event.ends_at - event.starts_at == timedelta(minutes=90)
    assert event.customer_id == buyer.id and event.importance == "high"
    html = (await office.get(f"/office/events/{event_id}")).text
    assert XSS not in html and "&lt;script&gt;" in html
    # The week view shows it at 11:00 on Tuesday, draggable; the month view lists it.
    week = (await office.get("/office/calendar?date=2026-03-03")).text
    slot = re.search(r'data-start="2026-03-03T11:00">(.*?)</div>', week, re.S).group(1)
    assert f'data-event-id="{event_id}"' in slot and 'draggable="true"' in slot
    assert XSS not in week
    month = (await office.get("/office/calendar?view=month&date=2026-03-15")).text
    assert f"/office/events/{event_id}" in month and "draggable" not in month
    # Edit: cancel it; the week view no longer shows it.
    r = await office.post_form(
        f"/office/events/{event_id}", _event_form(state="cancelled", employee_id="")
    )
    assert r.status_code == 303
    week = (await office.get("/office/calendar?date=2026-03-03")).text
    assert f'data-event-id="{event_id}"' not in week


async def test_event_form_refusals(office, office_manager, uow):
    for overrides in (
        {"ends_at": "2026-03-03T10:00"},  # before the start
        {"remind_at": "2026-03-03T13:00"},  # after the start
        {"starts_at": "garbage"},
        {"starts_at": ""},
        {"kind": "party"},
        {"customer_id": "999999"},
        {"order_id": "abc"},
        {"employee_id": "424242"},
    ):
        r = await office.post_form("/office/events/new", _event_form(**overrides))
        assert r.status_code == 422, overrides
    assert (await office.get("/office/events/999999")).status_code == 404
    r = await office.post("/office/events/new", data=_event_form())
    assert r.status_code == 403  # no CSRF token
    r = await office_manager.post_form("/office/events/new", _event_form())
    assert r.status_code == 303  # on the manager's own calendar


async def test_move_an_event_keeps_length_and_reminder(office, uow, people):
    async with uow() as s:
        event = await create_event(
            s,
            kind="call",
            subject="Перезвонить",
            starts_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
            ends_at=datetime(2026, 3, 3, 8, 30, tzinfo=UTC),
            remind_at=datetime(2026, 3, 3, 7, 50, tzinfo=UTC),
            employee_id=people.admin_id,
        )
    r = await office.post_json(f"/office/events/{event.id}/move", {"starts_at": "2026-03-05T15:00"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": event.id,
        "starts_at": "2026-03-05T15:00",
        "ends_at": "2026-03-05T15:30",
    }
    async with uow() as s:
        moved = await get_event(s, event.id)
    assert moved.starts_at == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    assert moved.remind_at == datetime(2026, 3, 5, 11, 50, tzinfo=UTC)
    assert moved.reminded_at is None
    r = await office.post_json(f"/office/events/{event.id}/move", {"starts_at": "nope"})
    assert r.status_code == 422
    r = await office.post_json("/office/events/999999/move", {"starts_at": "2026-03-05T15:00"})
    assert r.status_code == 404
    r = await office.post(
        f"/office/events/{event.id}/move",
        json={"starts_at": "2026-03-05T15:00"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 403  # the CSRF header is missing


async def test_calendar_roles_and_hostile_queries(office, office_manager, uow, people):
    async with uow() as s:
        mine = await create_event(
            s,
            kind="call",
            subject="Мой звонок",
            starts_at=datetime(2026, 3, 3, 8, tzinfo=UTC),
            employee_id=people.manager_id,
        )
        theirs = await create_event(
            s,
            kind="call",
            subject="Чужой звонок",
            starts_at=datetime(2026, 3, 3, 9, tzinfo=UTC),
            employee_id=people.other_manager_id,
        )
    week = (await office_manager.get("/office/calendar?date=2026-03-03")).text
    assert f'data-event-id="{mine.id}"' in week and f'data-event-id="{theirs.id}"' not in week
    # A manager cannot look into another calendar by URL.
    week = (
        await office_manager.get(
            f"/office/calendar?date=2026-03-03&employee={people.other_manager_id}"
        )
    ).text
    assert f'data-event-id="{theirs.id}"' not in week
    # An admin picks several employees.
    both = (
        await office.get(
            f"/office/calendar?date=2026-03-03&employee={people.manager_id}"
            f"&employee={people.other_manager_id}"
        )
    ).text
    assert f'data-event-id="{mine.id}"' in both and f'data-event-id="{theirs.id}"' in both
    assert "Игорь Менеджеров" in both  # whose it is, when several are shown
    for query in (
        "date=2026-02-30",
        "view=year",
        "employee=abc",
        "employee=-1",
        "date=" + "9" * 50,
    ):
        assert (await office.get(f"/office/calendar?{query}")).status_code == 200, query


async def test_tasks_mine_overdue_first_and_done(office_manager, office, uow, people, clock):
    async with uow() as s:
        later = await create_task(
            s,
            subject="Позже",
            assignee_id=people.manager_id,
            due_at=clock.now() + timedelta(days=1),
        )
        late = await create_task(
            s,
            subject=f"Просрочено {XSS}",
            assignee_id=people.manager_id,
            due_at=clock.now() - timedelta(hours=3),
        )
        other = await create_task(s, subject="Чужая", assignee_id=people.other_manager_id)
    html = (await office_manager.get("/office/tasks")).text
    ids = [int(i) for i in re.findall(r'<tr id="task-(\d+)"', html)]
    assert ids == [late.id, later.id]  # overdue first; only mine
    assert other.id not in ids and XSS not in html
    assert 'class="badge bad"' in html
    r = await office_manager.post_form(f"/office/tasks/{late.id}/done", {})
    assert r.status_code == 303
    async with uow() as s:
        assert (await get_task(s, late.id)).state == TaskState.DONE
    r = await office_manager.post_form(f"/office/tasks/{late.id}/done", {})
    assert r.status_code == 409  # already done
    r = await office_manager.post_form(f"/office/tasks/{late.id}/reopen", {})
    assert r.status_code == 303
    assert (await office_manager.post_form("/office/tasks/999999/done", {})).status_code == 404
    assert (await office_manager.post(f"/office/tasks/{later.id}/done")).status_code == 403
    r = await office_manager.post_form("/office/tasks/new", {"subject": "", "due_at": ""})
    assert r.status_code == 422
    r = await office_manager.post_form(
        "/office/tasks/new", {"subject": "x", "due_at": "2026-99-99"}
    )
    assert r.status_code == 422
    r = await office_manager.post_form(
        "/office/tasks/new", {"subject": "Позвонить", "due_at": "2026-03-02T18:00"}
    )
    assert r.status_code == 303
    html = (await office.get("/office/tasks?assignee=all&show=all")).text
    assert f'id="task-{other.id}"' in html
    for query in ("show=<x>", "assignee=abc", "page=0"):
        assert (await office.get(f"/office/tasks?{query}")).status_code == 200


async def test_refused_edit_shows_the_form_again(office, uow, people):
    async with uow() as s:
        event = await create_event(
            s,
            kind="call",
            subject="Было",
            starts_at=datetime(2026, 3, 3, 8, tzinfo=UTC),
            employee_id=people.admin_id,
        )
    r = await office.post_form(
        f"/office/events/{event.id}",
        _event_form(subject="Стало", ends_at="2026-03-01T10:00", employee_id=str(people.admin_id)),
    )
    assert r.status_code == 422 and 'value="Стало"' in r.text
    async with uow() as s:
        assert (await get_event(s, event.id)).subject == "Было"
