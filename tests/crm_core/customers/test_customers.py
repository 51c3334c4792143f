"""Customers: validation, patch semantics, consents, contact persons, search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.context import Actor, ActorKind
from crm_core.customers.persons import (
    create_contact_person,
    delete_contact_person,
    list_contact_persons,
    update_contact_person,
)
from crm_core.customers.service import (
    add_contact_point,
    create_customer,
    get_customer,
    list_customers,
    own_contacts,
    remove_contact_point,
    set_consent,
    update_customer,
)
from crm_core.customers.timeline import customer_history
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import ContactPoint, OutboxEvent
from tests.factories.people import make_customer, make_employee


async def test_create_with_everything(session, clock):
    manager = await make_employee(session)
    customer = await create_customer(
        session,
        name="ООО Ромашка",
        kind="company",
        legal_name="ООО «Ромашка»",
        inn="7707083893",
        phones=["8 (495) 123-45-67"],
        emails=["Office@Romashka.RU"],
        telegram_id=777,
        tags=["VIP", " vip ", "опт"],
        responsible_id=manager.id,
        consents={"email": True, "sms": False},
        consent_source="paper form",
    )
    customer = await get_customer(session, customer.id)
    assert [c.value for c in own_contacts(customer)] == [
        "+74951234567",
        "office@romashka.ru",
        "777",
    ]
    assert [t.tag for t in customer.tags] == ["vip", "опт"]
    consents = {c.channel.value: (c.granted, c.at, c.source) for c in customer.consents}
    assert consents == {
        "email": (True, clock.now(), "paper form"),
        "sms": (False, clock.now(), "paper form"),
    }
    payloads = await session.scalars(
        select(OutboxEvent.payload).where(OutboxEvent.topic == "customer.created")
    )
    assert list(payloads) == [{"customer_id": customer.id}]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"inn": "7707083894"}, "inn"),  # wrong check digit
        ({"inn": "12345"}, "inn"),
        ({"phones": ["+7 000"]}, "phone"),
        ({"emails": ["@nope"]}, "email"),
        ({"kind": "alien"}, "kind"),
        ({"consents": {"pigeon": True}}, "consents"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"responsible_id": 123456}, "responsible_id"),
    ],
)
async def test_bad_input(session, kwargs, field):
    kwargs.setdefault("name", "Someone")
    with pytest.raises(ValidationFailed) as err:
        await create_customer(session, **kwargs)
    assert err.value.field == field


async def test_twelve_digit_inn_and_duplicate_inn(session):
    await make_customer(session, inn="500100732259")
    with pytest.raises(Conflict):
        await make_customer(session, inn="500100732259")


async def test_patch_changes_only_what_is_given(session, clock):
    customer = await make_customer(
        session, name="Иван", phones=["+79160000100", "+79160000101"], tags=["a"]
    )
    await update_customer(session, customer.id, phone="+79160000102", comment="Любит звонки")
    customer = await get_customer(session, customer.id)
    assert [c.value for c in own_contacts(customer)] == ["+79160000102", "+79160000101"]
    assert customer.name == "Иван" and [t.tag for t in customer.tags] == ["a"]
    await update_customer(session, customer.id, tags=["b", "a"], comment=None, phones=[])
    customer = await get_customer(session, customer.id)
    assert sorted(t.tag for t in customer.tags) == ["a", "b"]
    assert customer.comment is None and own_contacts(customer) == []
    with pytest.raises(ValidationFailed):
        await update_customer(session, customer.id, name=None)
    with pytest.raises(NotFound):
        await update_customer(session, 999_999, name="x")


async def test_patch_history_names_the_actor(uow, sessions):
    async with uow() as s:
        manager = await make_employee(s)
        customer_id = (await make_customer(s, name="Old")).id
    async with uow(Actor(ActorKind.EMPLOYEE, manager.id, manager.name)) as s:
        await update_customer(s, customer_id, name="New", inn="7707083893")
    async with sessions() as s:
        items, total = await customer_history(s, customer_id)
    assert total == 2
    assert items[-1].actor_id == manager.id
    assert items[-1].changes == {"name": ["Old", "New"], "inn": [None, "7707083893"]}


async def test_consent_withdrawn_keeps_the_new_time_and_source(session, clock):
    customer = await make_customer(session, consents={"email": True})
    clock.advance(timedelta(days=3))
    consent = await set_consent(session, customer.id, "email", granted=False, source="unsubscribe")
    assert (consent.granted, consent.at, consent.source) == (False, clock.now(), "unsubscribe")


async def test_contact_points_add_and_remove(session):
    customer = await make_customer(session)
    point = await add_contact_point(session, customer.id, kind="phone", value="8 916 000 01 03")
    again = await add_contact_point(session, customer.id, kind="phone", value="+79160000103")
    assert again.id == point.id and point.value == "+79160000103"
    with pytest.raises(ValidationFailed):
        await add_contact_point(session, customer.id, kind="phone", value="42")
    await remove_contact_point(session, customer.id, point.id)
    with pytest.raises(NotFound):
        await remove_contact_point(session, customer.id, point.id)


async def test_contact_persons_own_their_contacts(session):
    customer = await make_customer(session, kind="company", phones=["+74950000001"])
    person = await create_contact_person(
        session,
        customer.id,
        name="Ольга",
        position="Бухгалтер",
        phones=["+79030000001"],
        emails=["olga@firm.ru"],
    )
    rows = (
        await session.scalars(
            select(ContactPoint).where(ContactPoint.contact_person_id == person.id)
        )
    ).all()
    assert {(r.customer_id, r.value) for r in rows} == {
        (customer.id, "+79030000001"),
        (customer.id, "olga@firm.ru"),
    }
    customer = await get_customer(session, customer.id)
    assert [c.value for c in own_contacts(customer)] == ["+74950000001"]  # not the person's
    await update_contact_person(session, customer.id, person.id, phones=["+79030000002"])
    [listed] = await list_contact_persons(session, customer.id)
    assert sorted(c.value for c in listed.contacts) == ["+79030000002", "olga@firm.ru"]
    with pytest.raises(NotFound):
        await update_contact_person(session, customer.id + 1, person.id, name="x")
    await delete_contact_person(session, customer.id, person.id)
    assert await list_contact_persons(session, customer.id) == []
    left = await session.scalars(
        select(ContactPoint.value).where(ContactPoint.customer_id == customer.id)
    )
    assert list(left) == ["+74950000001"]


async def test_search_by_name_phone_email_inn_and_filters(session, clock):
    manager = await make_employee(session)
    ivan = await make_customer(session, name="Иванов Иван", phones=["+79161112233"], tags=["vip"])
    clock.advance(timedelta(minutes=1))
    firm = await make_customer(
        session,
        name="ООО Техно",
        kind="company",
        inn="7707083893",
        emails=["info@techno.ru"],
        tags=["vip", "опт"],
        responsible_id=manager.id,
    )

    async def ids(**kw):
        items, total = await list_customers(session, **kw)
        assert total == len(items)
        return [c.id for c in items]

    assert await ids() == [firm.id, ivan.id]
    assert await ids(q="иванов") == [ivan.id]
    assert await ids(q="8 (916) 111-22-33") == [ivan.id]
    assert await ids(q="+7 916 111 22 33") == [ivan.id]
    assert await ids(q="INFO@techno.ru") == [firm.id]
    assert await ids(q="7707") == [firm.id]
    assert await ids(tags=["VIP"]) == [firm.id, ivan.id]
    assert await ids(tags=["vip", "опт"]) == [firm.id]
    assert await ids(responsible_id=manager.id) == [firm.id]
    assert await ids(kind="person") == [ivan.id]
    assert await ids(q="100%_") == []
