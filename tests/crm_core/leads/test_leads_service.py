"""Changing and listing leads: patch semantics, history, events to the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.context import Actor, ActorKind
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.leads.service import (
    create_lead,
    get_lead,
    hide_lead,
    lead_history,
    list_leads,
    update_lead,
)
from crm_core.models import OutboxEvent
from tests.factories.people import make_customer, make_employee, make_lead


async def _payloads(session, topic):
    return list(
        await session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == topic))
    )


async def test_patch_records_who_changed_what_from_what_to_what(uow, sessions):
    async with uow() as s:
        manager = await make_employee(s)
        lead_id = (await make_lead(s, name="Анна", company=None)).id
    actor = Actor(ActorKind.EMPLOYEE, manager.id, manager.name)
    async with uow(actor) as s:
        await update_lead(s, lead_id, name="Анна К.", company="ИП Кузнецова", state="in_work")
    async with sessions() as s:
        items, total = await lead_history(s, lead_id)
        assert [h.action for h in items] == ["created", "updated"]
        change = items[-1]
        assert change.actor_kind == "employee" and change.actor_id == manager.id
        assert change.changes["name"] == ["Анна", "Анна К."]
        assert change.changes["company"] == [None, "ИП Кузнецова"]
        assert "state_id" in change.changes
        assert total == 2
        [moved] = await _payloads(s, "lead.state_changed")
        assert moved == {"lead_id": lead_id, "from": "new", "to": "in_work"}


async def test_assigning_emits_once_and_unknown_employee_is_bad_input(session):
    manager = await make_employee(session)
    lead = await make_lead(session)
    await update_lead(session, lead.id, responsible_id=manager.id)
    await update_lead(session, lead.id, responsible_id=manager.id)  # no change, no event
    assert await _payloads(session, "lead.assigned") == [
        {"lead_id": lead.id, "responsible_id": manager.id}
    ]
    with pytest.raises(ValidationFailed) as err:
        await update_lead(session, lead.id, responsible_id=987_654)
    assert err.value.field == "responsible_id"


async def test_contacts_patch_primary_or_whole_list(session):
    lead = await make_lead(session, phones=["+79160000010", "+79160000011"])
    await update_lead(session, lead.id, phone="8 916 000-00-12")
    lead = await get_lead(session, lead.id)
    assert [c.value for c in lead.contacts] == ["+79160000012", "+79160000011"]
    await update_lead(session, lead.id, phones=[], emails=["X@Y.ru"])
    lead = await get_lead(session, lead.id)
    assert [c.value for c in lead.contacts] == ["x@y.ru"]
    with pytest.raises(ValidationFailed) as err:
        await update_lead(session, lead.id, email="nope")
    assert err.value.field == "email"


async def test_unknown_state_and_lead(session):
    lead = await make_lead(session)
    with pytest.raises(ValidationFailed) as err:
        await update_lead(session, lead.id, state="nowhere")
    assert err.value.field == "state"
    with pytest.raises(NotFound):
        await update_lead(session, 999_999, name="x")


async def test_manual_lead_matching_a_customer_is_a_conflict(session):
    await make_customer(session, phones=["+79160000020"])
    with pytest.raises(Conflict):
        await create_lead(session, name="Dup", phones=["89160000020"])
    created = await create_lead(session, name="Dup", phones=["89160000020"], dedupe=False)
    assert created.lead is not None and not created.merged


async def test_list_filters_and_order(session, clock):
    manager = await make_employee(session)
    first = await make_lead(session, name="Борис Первый", phones=["+79161000001"])
    clock.advance(timedelta(minutes=1))
    second = await make_lead(
        session, name="Вера", emails=["vera@site.ru"], source="web_form", responsible_id=manager.id
    )
    clock.advance(timedelta(minutes=1))
    third = await make_lead(session, name="Глеб", company="ООО Борисфен", state="in_work")
    await hide_lead(session, (await make_lead(session, name="Борис Скрытый")).id, reason="spam")

    async def ids(**kw):
        items, total = await list_leads(session, **kw)
        assert total == len(items)
        return [lead.id for lead in items]

    assert await ids() == [third.id, second.id, first.id]  # newest first, open only
    assert await ids(q="борис") == [third.id, first.id]  # name or company, any case
    assert await ids(q="8 (916) 100-00-01") == [first.id]  # phone in another spelling
    assert await ids(q="1000001") == [first.id]  # part of a phone
    assert await ids(q="VERA@site") == [second.id]
    assert await ids(state="in_work") == [third.id]
    assert await ids(source="web_form") == [second.id]
    assert await ids(responsible_id=manager.id) == [second.id]
    assert len(await ids(result="all")) == 4
    assert len(await ids(result="hidden")) == 1
    start = clock.now() - timedelta(minutes=1)
    assert await ids(created_from=start, created_to=clock.now()) == [second.id]
    items, total = await list_leads(session, limit=1, offset=1)
    assert [lead.id for lead in items] == [second.id] and total == 3
    with pytest.raises(ValidationFailed):
        await list_leads(session, state="nowhere")
