"""``GET /calendar/{token}.ics``: an employee's events and tasks as iCalendar, parsed
back with icalendar; the URL is the one the API shows, and it can be rotated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from crm_core.events.service import create_event, update_event
from crm_core.tasks.service import create_task
from tests.factories.activity import make_employee


@pytest.fixture
async def staff(uow) -> dict:
    async with uow() as s:
        anna = await make_employee(s, name="Анна", timezone="Asia/Yekaterinburg", language="ru")
        boris = await make_employee(s, name="Boris", language="en")
        start = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
        call = await create_event(
            s,
            kind="call",
            subject="Перезвонить; уточнить, заказ",
            body="Строка 1\nСтрока 2",
            starts_at=start,
            employee_id=anna.id,
            importance="high",
        )
        meeting = await create_event(
            s,
            kind="meeting",
            subject="Замер",
            starts_at=start + timedelta(days=1),
            ends_at=start + timedelta(days=1, hours=2),
            employee_id=anna.id,
        )
        await create_event(s, kind="call", subject="Чужой", starts_at=start, employee_id=boris.id)
        await create_event(
            s,
            kind="call",
            subject="Давно",
            starts_at=start - timedelta(days=400),
            employee_id=anna.id,
        )
        task = await create_task(
            s, subject="Выставить счёт", assignee_id=anna.id, due_at=start + timedelta(hours=5)
        )
        await create_task(s, subject="Без срока", assignee_id=anna.id)
    return {
        "anna": anna.id,
        "boris": boris.id,
        "call": call.id,
        "meeting": meeting.id,
        "task": task.id,
    }


async def _url(api, employee_id: int) -> str:
    employee = (await api.get(f"/employees/{employee_id}")).json()
    return employee["calendar_url"].split("127.0.0.1:8000", 1)[1]


def _events(body: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(body)
    return {str(c["UID"]): c for c in cal.walk("VEVENT")}


async def test_feed_holds_the_employees_events_and_tasks(client, api, staff):
    url = await _url(api, staff["anna"])
    r = await client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    assert str(cal["X-WR-CALNAME"]) == "Firma: Анна"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Yekaterinburg"]
    events = _events(r.content)
    assert set(events) == {
        f"event-{staff['call']}@127.0.0.1",
        f"event-{staff['meeting']}@127.0.0.1",
        f"task-{staff['task']}@127.0.0.1",
    }
    call = events[f"event-{staff['call']}@127.0.0.1"]
    assert str(call["SUMMARY"]) == "Звонок: Перезвонить; уточнить, заказ"
    assert str(call["DESCRIPTION"]) == "Строка 1\nСтрока 2"
    start = call.decoded("DTSTART")
    assert start == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert start.tzinfo.key == "Asia/Yekaterinburg" and start.hour == 12
    assert call.decoded("DTEND") - start == timedelta(minutes=30)
    assert str(call["STATUS"]) == "CONFIRMED" and int(call["PRIORITY"]) == 1
    meeting = events[f"event-{staff['meeting']}@127.0.0.1"]
    assert meeting.decoded("DTEND") - meeting.decoded("DTSTART") == timedelta(hours=2)
    task = events[f"task-{staff['task']}@127.0.0.1"]
    assert str(task["SUMMARY"]) == "Задача: Выставить счёт"
    assert task.decoded("DTSTART") == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


async def test_english_employee_gets_english_labels(client, api, staff):
    r = await client.get(await _url(api, staff["boris"]))
    (event,) = _events(r.content).values()
    assert str(event["SUMMARY"]) == "Call: Чужой"
    assert event.decoded("DTSTART").tzinfo.key == "Europe/Moscow"


async def test_cancelled_event_stays_marked_cancelled_and_etag_changes(
    client, api, uow, clock, staff
):
    url = await _url(api, staff["anna"])
    first = await client.get(url)
    etag = first.headers["etag"]
    cached = await client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    clock.advance(timedelta(minutes=5))
    async with uow() as s:
        await update_event(s, staff["call"], state="cancelled")
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    call = _events(changed.content)[f"event-{staff['call']}@127.0.0.1"]
    assert str(call["STATUS"]) == "CANCELLED"
    assert int(call["SEQUENCE"]) > 0


async def test_token_rotation_and_bad_tokens(client, api, staff):
    old = await _url(api, staff["anna"])
    r = await api.post(f"/employees/{staff['anna']}/calendar-token")
    assert r.status_code == 200
    new = r.json()["calendar_url"].split("127.0.0.1:8000", 1)[1]
    assert new != old and new == await _url(api, staff["anna"])
    assert (await client.get(old)).status_code == 404
    assert (await client.get(new)).status_code == 200
    assert (await client.get("/calendar/" + "a" * 300 + ".ics")).status_code == 404
    assert (await client.get("/calendar/%27%20OR%201=1.ics")).status_code == 404
    assert (await api.post("/employees/999999/calendar-token")).status_code == 404


async def test_inactive_employee_feed_is_gone(client, api, staff):
    url = await _url(api, staff["anna"])
    await api.patch(f"/employees/{staff['anna']}", json={"active": False})
    assert (await client.get(url)).status_code == 404
