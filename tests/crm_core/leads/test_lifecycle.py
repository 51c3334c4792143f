"""Conversion, hiding and reopening: exactly once, all or nothing."""

from __future__ import annotations

import asyncio
import sys
import types

import pytest
from sqlalchemy import func, select

from crm_core.customers.service import get_customer
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.leads.service import (
    convert_lead,
    get_lead,
    hide_lead,
    intake_lead,
    reopen_lead,
)
from crm_core.models import Customer, CustomerKind, Lead, LeadResult, OutboxEvent
from tests.factories.people import make_customer, make_employee, make_lead


async def _topics(session) -> list[str]:
    return list(await session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)))


async def test_convert_makes_a_customer_from_the_lead(session, clock):
    manager = await make_employee(session)
    lead = await make_lead(
        session,
        name="Пётр",
        company="ООО Север",
        legal_name="ООО «Север»",
        phones=["+79161234000"],
        emails=["petr@sever.ru"],
        responsible_id=manager.id,
    )
    customer, order = await convert_lead(session, lead.id)
    assert order is None
    customer = await get_customer(session, customer.id)
    assert customer.name == "Пётр" and customer.kind == CustomerKind.COMPANY
    assert customer.legal_name == "ООО «Север»"
    assert customer.responsible_id == manager.id
    assert sorted(c.value for c in customer.contacts) == ["+79161234000", "petr@sever.ru"]
    lead = await get_lead(session, lead.id)
    assert lead.result == LeadResult.CONVERTED
    assert lead.customer_id == customer.id and lead.converted_at == clock.now()
    # Copied, not moved: the lead keeps its own record of how to reach the person.
    assert sorted(c.value for c in lead.contacts) == ["+79161234000", "petr@sever.ru"]
    topics = await _topics(session)
    assert "customer.created" in topics and topics[-1] == "lead.converted"


async def test_convert_links_an_existing_customer_with_the_same_contacts(session):
    customer = await make_customer(session, emails=["old@client.ru"])
    lead = await make_lead(session, name="Old", emails=["old@client.ru"], phones=["+79160001111"])
    linked, _ = await convert_lead(session, lead.id)
    assert linked.id == customer.id
    assert await session.scalar(select(func.count(Customer.id))) == 1
    customer = await get_customer(session, customer.id)
    assert sorted(c.value for c in customer.contacts) == ["+79160001111", "old@client.ru"]


async def test_convert_into_a_given_customer_and_unknown_one(session):
    lead = await make_lead(session)
    with pytest.raises(ValidationFailed) as err:
        await convert_lead(session, lead.id, customer_id=424242)
    assert err.value.field == "customer_id"
    await session.rollback()
    target = await make_customer(session)
    lead = await make_lead(session)
    customer, _ = await convert_lead(session, lead.id, customer_id=target.id)
    assert customer.id == target.id


async def test_second_conversion_and_unknown_lead(session):
    lead = await make_lead(session)
    await convert_lead(session, lead.id)
    with pytest.raises(Conflict):
        await convert_lead(session, lead.id)
    with pytest.raises(NotFound):
        await convert_lead(session, 999_999)


async def test_concurrent_conversions_exactly_one_wins(uow, sessions):
    async with uow() as s:
        lead_id = (await make_lead(s, phones=["+79165550000"])).id

    async def attempt():
        async with uow() as s:
            customer, _ = await convert_lead(s, lead_id)
            await asyncio.sleep(0.05)  # hold the transaction open while the other tries
            return customer.id

    results = await asyncio.gather(attempt(), attempt(), return_exceptions=True)
    wins = [r for r in results if isinstance(r, int)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    async with sessions() as s:
        assert await s.scalar(select(func.count(Customer.id))) == 1
        assert (
            await s.scalar(
                select(func.count(OutboxEvent.id)).where(OutboxEvent.topic == "lead.converted")
            )
            == 1
        )


async def test_failed_conversion_leaves_nothing_behind(uow, sessions, monkeypatch):
    async with uow() as s:
        lead_id = (await make_lead(s, phones=["+79165550001"])).id

    async def broken_create_order(session, **kwargs):
        raise ValidationFailed("No default order kind", field="kind_id")

    fake = types.ModuleType("crm_core.orders.service")
    fake.create_order = broken_create_order
    monkeypatch.setitem(sys.modules, "crm_core.orders.service", fake)
    with pytest.raises(ValidationFailed):
        async with uow() as s:
            await convert_lead(s, lead_id, create_order=True)
    async with sessions() as s:
        assert await s.scalar(select(func.count(Customer.id))) == 0
        lead = await s.get(Lead, lead_id)
        assert lead.result == LeadResult.OPEN and lead.customer_id is None
        topics = await _topics(s)
        assert "customer.created" not in topics and "lead.converted" not in topics


async def test_convert_with_an_order(session):
    lead = await make_lead(session, phones=["+79165550002"])
    customer, order = await convert_lead(session, lead.id, create_order=True)
    assert order is not None and order.customer_id == customer.id
    assert (await get_lead(session, lead.id)).order_id == order.id


async def test_hide_by_code_name_or_id_and_unknown_reason(session):
    lead = await make_lead(session)
    with pytest.raises(ValidationFailed) as err:
        await hide_lead(session, lead.id, reason="no_such_reason")
    assert err.value.field == "reason"
    assert (await get_lead(session, lead.id)).result == LeadResult.OPEN
    hidden = await hide_lead(session, lead.id, reason="Спам", comment="bot traffic")
    assert hidden.result == LeadResult.HIDDEN and hidden.hide_comment == "bot traffic"
    with pytest.raises(Conflict):
        await hide_lead(session, lead.id, reason="spam")
    with pytest.raises(Conflict):
        await convert_lead(session, lead.id)
    payloads = await session.scalars(
        select(OutboxEvent.payload).where(OutboxEvent.topic == "lead.hidden")
    )
    assert list(payloads) == [{"lead_id": lead.id, "reason": "spam"}]


async def test_reopen_a_hidden_lead_makes_it_mergeable_again(session):
    lead = await make_lead(session, phones=["+79165550003"])
    await hide_lead(session, lead.id, reason="no_answer")
    reopened = await reopen_lead(session, lead.id)
    assert reopened.result == LeadResult.OPEN and reopened.hide_reason_id is None
    again = await intake_lead(session, phones=["+79165550003"], source="web_form")
    assert again.lead.id == lead.id
    with pytest.raises(Conflict):
        await reopen_lead(session, lead.id)  # it is open, not hidden
