"""Events: defaults, time rules, links, state changes, reminders reset, history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crm_core.context import Actor, ActorKind
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.events.service import (
    create_event,
    event_history,
    get_event,
    list_events,
    update_event,
)
from crm_core.models import EventKind, EventState, OutboxEvent
from tests.conftest import START
from tests.factories.activity import (
    make_contact_person,
    make_customer,
    make_employee,
    make_lead,
)

H = timedelta(hours=1)


async def test_defaults_come_from_the_clock_and_the_acting_employee(uow):
    async with uow() as s:
        emp = await make_employee(s)
    async with uow(Actor(ActorKind.EMPLOYEE, emp.id, emp.name)) as s:
        event = await create_event(s, kind="call", subject=" Call back ")
    assert event.starts_at == START
    assert event.employee_id == emp.id and event.author_id == emp.id
    assert event.state == EventState.PLANNED and event.subject == "Call back"
    async with uow() as s:
        row = await s.scalar(select(OutboxEvent).where(OutboxEvent.topic == "event.created"))
    assert row.payload["event_id"] == event.id
    assert row.payload["employee_id"] == emp.id
    assert row.payload["kind"] == "call"
    assert row.payload["starts_at"] == START.isoformat()


async def test_end_before_start_is_refused(session):
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="meeting", starts_at=START, ends_at=START - H)
    assert err.value.field == "ends_at"
    # equal is fine: a zero-length meeting
    event = await create_event(session, kind="meeting", starts_at=START, ends_at=START)
    assert event.ends_at == START


async def test_reminder_after_start_is_refused_but_a_past_one_is_kept(session):
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="call", starts_at=START + H, remind_at=START + 2 * H)
    assert err.value.field == "remind_at"
    event = await create_event(session, kind="call", starts_at=START + H, remind_at=START - H)
    assert event.remind_at == START - H


async def test_naive_times_and_bad_enums_are_refused(session):
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="call", starts_at=datetime(2026, 3, 2, 10))
    assert err.value.field == "starts_at"
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="fax")
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="call", importance="urgent")
    assert err.value.field == "importance"


async def test_links_are_checked(session):
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="call", customer_id=999999)
    assert err.value.field == "customer_id"
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="call", lead_id=999999)
    assert err.value.field == "lead_id"
    gone = await make_employee(session, name="Gone")
    gone.active = False
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="call", employee_id=gone.id)
    assert err.value.field == "employee_id"
    customer, other = await make_customer(session), await make_customer(session)
    person = await make_contact_person(session, customer)
    event = await create_event(session, kind="call", contact_person_id=person.id)
    assert event.customer_id == customer.id  # filled from the person
    with pytest.raises(ValidationFailed) as err:
        await create_event(session, kind="call", customer_id=other.id, contact_person_id=person.id)
    assert err.value.field == "contact_person_id"


async def test_state_changes(session):
    event = await create_event(session, kind="call")
    await update_event(session, event.id, state="completed")
    assert event.state == EventState.COMPLETED
    with pytest.raises(Conflict):
        await update_event(session, event.id, state="cancelled")
    await update_event(session, event.id, state="planned")
    await update_event(session, event.id, state="cancelled")
    assert event.state == EventState.CANCELLED


async def test_patch_moves_clears_and_resets_the_reminder(session):
    event = await create_event(
        session, kind="meeting", starts_at=START + 2 * H, ends_at=START + 3 * H, remind_at=START
    )
    event.reminded_at = START
    await update_event(session, event.id, starts_at=START + 4 * H, ends_at=START + 5 * H)
    assert event.reminded_at == START  # moving alone keeps the sent mark
    await update_event(session, event.id, remind_at=START + 3 * H)
    assert event.remind_at == START + 3 * H and event.reminded_at is None
    with pytest.raises(ValidationFailed) as err:
        await update_event(session, event.id, starts_at=START + 2 * H)  # ends before, too
    assert err.value.field in ("ends_at", "remind_at")
    with pytest.raises(ValidationFailed):
        await update_event(session, event.id, kind=None)
    await update_event(session, event.id, ends_at=None, body="agenda", subject="Demo")
    assert event.ends_at is None and event.body == "agenda" and event.subject == "Demo"


async def test_a_new_customer_drops_the_old_contact_person(session):
    first, second = await make_customer(session), await make_customer(session)
    person = await make_contact_person(session, first)
    event = await create_event(session, kind="call", contact_person_id=person.id)
    await update_event(session, event.id, customer_id=second.id)
    assert event.customer_id == second.id and event.contact_person_id is None


async def test_history_records_creation_and_changes(uow):
    async with uow() as s:
        event = await create_event(s, kind="call", subject="First")
    async with uow() as s:
        await update_event(s, event.id, subject="Second", state="completed")
    async with uow() as s:
        items, total = await event_history(s, event.id)
    assert total == 2
    assert [h.action for h in items] == ["created", "updated"]
    assert items[1].changes["subject"] == ["First", "Second"]
    assert items[1].changes["state"] == ["planned", "completed"]


async def test_get_unknown_is_not_found(session):
    with pytest.raises(NotFound):
        await get_event(session, 424242)
    with pytest.raises(NotFound):
        await update_event(session, 424242, subject="x")
    with pytest.raises(NotFound):
        await event_history(session, 424242)


async def test_list_filters(session):
    emp = await make_employee(session)
    customer = await make_customer(session)
    lead = await make_lead(session)
    a = await create_event(session, kind="call", employee_id=emp.id, customer_id=customer.id)
    b = await create_event(session, kind="email", lead_id=lead.id, starts_at=START + H)
    c = await create_event(session, kind="call", state="completed", starts_at=START - H)
    assert (await list_events(session, employee_id=emp.id))[0] == [a]
    assert (await list_events(session, customer_id=customer.id))[0] == [a]
    assert (await list_events(session, lead_id=lead.id))[0] == [b]
    items, total = await list_events(session, kind=EventKind.CALL)
    assert items == [c, a] and total == 2  # by start
    assert (await list_events(session, state="completed"))[0] == [c]
    items, total = await list_events(session, limit=1, offset=1)
    assert items == [a] and total == 3
    assert (await list_events(session, date_from=START + H / 2))[0] == [b]


async def test_list_range_must_not_be_empty(session):
    with pytest.raises(ValidationFailed):
        await list_events(session, date_from=START, date_to=START)
