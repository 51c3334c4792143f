"""Intake: new leads, de-duplication into open leads and customers, bad input."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select

from crm_core.errors import ValidationFailed
from crm_core.leads.service import convert_lead, get_lead, hide_lead, intake_lead
from crm_core.models import (
    ContactPoint,
    Event,
    EventKind,
    Lead,
    LeadResult,
    OutboxEvent,
)
from tests.factories.people import make_customer, make_employee, make_lead


async def _outbox(session, topic: str) -> list[dict]:
    rows = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
    )
    return [r.payload for r in rows]


async def test_new_lead_in_default_state_with_normalised_contacts(session):
    result = await intake_lead(
        session,
        name="Иван Петров",
        phones=["8 (916) 123-45-67"],
        emails=["Ivan@Example.COM"],
        telegram_id=555,
        source="web_form",
        utm_source="yandex",
        comment="Позвоните после обеда",
    )
    assert result.merged is False and result.customer is None
    lead = await get_lead(session, result.lead.id)
    assert lead.result == LeadResult.OPEN
    assert lead.state.code == "new"  # the default state of the reference data
    values = await session.scalars(
        select(ContactPoint.value).where(ContactPoint.lead_id == lead.id).order_by(ContactPoint.id)
    )
    assert list(values) == ["+79161234567", "ivan@example.com", "555"]
    [created] = await _outbox(session, "lead.created")
    assert created["lead_id"] == lead.id
    assert created["phones"] == ["+79161234567"]
    assert created["source"] == "web_form"


async def test_same_phone_in_another_spelling_merges_into_the_open_lead(session):
    first = await intake_lead(
        session, name="Иван", phones=["+7 916 123-45-67"], source="web_form", comment="Первый"
    )
    second = await intake_lead(
        session,
        name="Иван П.",
        phones=["89161234567"],
        emails=["ivan@example.com"],
        company="ООО Ромашка",
        source="web_form",
        comment="Второй",
        data={"question": "Сколько стоит?"},
    )
    assert second.merged is True
    assert second.lead.id == first.lead.id
    leads = (await session.scalars(select(Lead))).all()
    assert len(leads) == 1
    lead = leads[0]
    assert lead.name == "Иван"  # a filled field is not overwritten
    assert lead.company == "ООО Ромашка"  # an empty one is filled
    assert lead.comment == "Первый\n\nВторой"
    values = await session.scalars(
        select(ContactPoint.value).where(ContactPoint.lead_id == lead.id)
    )
    assert sorted(values) == ["+79161234567", "ivan@example.com"]  # the phone is not doubled
    [ev] = (await session.scalars(select(Event).where(Event.lead_id == lead.id))).all()
    assert ev.kind == EventKind.WEB_FORM
    assert ev.state.value == "completed" and ev.direction.value == "incoming"
    assert ev.data == {"question": "Сколько стоит?"}
    [merged] = await _outbox(session, "lead.merged")
    assert merged["lead_id"] == lead.id and merged["customer_id"] is None
    assert merged["data"] == {"question": "Сколько стоит?"}


async def test_email_matches_whatever_the_case(session):
    first = await intake_lead(session, emails=["Anna@Mail.RU"], source="telegram")
    second = await intake_lead(session, emails=["anna@mail.ru"], source="telegram")
    assert second.merged and second.lead.id == first.lead.id
    [ev] = (await session.scalars(select(Event))).all()
    assert ev.kind == EventKind.TELEGRAM


async def test_request_matching_a_customer_goes_to_the_customer(session):
    customer = await make_customer(session, name="ООО Вектор", phones=["+79031112233"])
    result = await intake_lead(
        session,
        name="Сергей",
        phones=["8 903 111 22 33"],
        emails=["sergey@vector.ru"],
        source="api",
        data={"x": 1},
    )
    assert result.lead is None and result.merged is True
    assert result.customer.id == customer.id
    assert (await session.scalars(select(Lead))).all() == []
    values = await session.scalars(
        select(ContactPoint.value).where(ContactPoint.customer_id == customer.id)
    )
    assert sorted(values) == ["+79031112233", "sergey@vector.ru"]
    [ev] = (await session.scalars(select(Event).where(Event.customer_id == customer.id))).all()
    assert ev.kind == EventKind.OTHER and ev.data == {"x": 1}
    [merged] = await _outbox(session, "lead.merged")
    assert merged["customer_id"] == customer.id and merged["lead_id"] is None


async def test_contact_person_phone_matches_its_customer(session):
    from crm_core.customers.persons import create_contact_person

    customer = await make_customer(session, name="ООО Альфа", kind="company")
    await create_contact_person(session, customer.id, name="Ольга", phones=["+79035550011"])
    result = await intake_lead(session, phones=["+7 903 555-00-11"], source="web_form")
    assert result.customer.id == customer.id


async def test_open_lead_wins_over_customer(session):
    await make_customer(session, phones=["+79161110000"])
    lead = await make_lead(session, phones=["+79161110000"])
    result = await intake_lead(session, phones=["+79161110000"], source="web_form")
    assert result.lead.id == lead.id and result.customer is None


async def test_closed_leads_are_not_merged_into(session):
    hidden = await make_lead(session, phones=["+79161110001"])
    await hide_lead(session, hidden.id, reason="spam")
    result = await intake_lead(session, phones=["+79161110001"], source="web_form")
    assert not result.merged and result.lead.id != hidden.id

    converted = await make_lead(session, emails=["c@example.com"])
    customer, _ = await convert_lead(session, converted.id)
    again = await intake_lead(session, emails=["C@example.com"], source="web_form")
    # The converted lead's contacts now belong to the customer too.
    assert again.lead is None and again.customer.id == customer.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phones": ["12345"]}, "phone"),
        ({"phones": ["+7 916 123-45-67", "not a phone"]}, "phone"),
        ({"emails": ["not-an-email"]}, "email"),
        ({"telegram_id": "abc"}, "telegram_id"),
        ({}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "A", "source": "fax"}, "source"),
        ({"name": "A", "responsible_id": 999_999}, "responsible_id"),
    ],
)
async def test_bad_input_names_the_field(session, kwargs, field):
    kwargs.setdefault("source", "web_form")
    with pytest.raises(ValidationFailed) as err:
        await intake_lead(session, **kwargs)
    assert err.value.field == field
    assert (await session.scalars(select(Lead))).all() == []


async def test_merge_assigns_a_responsible_only_when_the_lead_has_none(session):
    first, second = await make_employee(session), await make_employee(session)
    lead = await make_lead(session, phones=["+79161110002"])
    await intake_lead(session, phones=["+79161110002"], source="web_form", responsible_id=first.id)
    await intake_lead(session, phones=["+79161110002"], source="web_form", responsible_id=second.id)
    await session.refresh(lead)
    assert lead.responsible_id == first.id
    assert await _outbox(session, "lead.assigned") == [
        {"lead_id": lead.id, "responsible_id": first.id}
    ]


async def test_intake_is_a_handful_of_statements(session, engine, db_backend):
    """The hot path stays flat: no per-contact queries, no loading of unrelated rows."""
    await make_customer(session, phones=["+79160000001"])
    for i in range(5):  # unrelated rows must not be read
        await make_lead(session, phones=[f"+7916100000{i}"])
    statements: list[str] = []

    def _count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            statements.append(statement)

    contacts = {"phones": ["+79169999999", "+79169999998"], "emails": ["a@b.ru", "c@d.ru"]}
    event.listen(engine.sync_engine, "before_cursor_execute", _count)
    try:
        new = await intake_lead(session, name="N", source="web_form", data={"a": 1}, **contacts)
        await session.flush()
        created = len(statements)
        statements.clear()
        await intake_lead(session, name="N", source="web_form", **contacts)
        await session.flush()
        merged = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _count)
    assert new.lead is not None
    # lookup, lead, its history, contacts, event, its history, outbox (+ a lock on PostgreSQL)
    limit = 8 if db_backend == "postgresql" else 7
    assert created <= limit, statements
    assert merged <= limit, statements


async def test_simultaneous_requests_with_one_phone_make_one_lead(uow, sessions):
    async def submit(spelling: str):
        async with uow() as s:
            await intake_lead(s, phones=[spelling], source="web_form")

    await asyncio.gather(*(submit(p) for p in ["+79167770000", "89167770000", "8 916 777-00-00"]))
    async with sessions() as s:
        assert len((await s.scalars(select(Lead))).all()) == 1
        assert len((await s.scalars(select(Event))).all()) == 2
