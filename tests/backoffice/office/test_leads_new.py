"""The "new lead" form: a lead typed in by a manager goes through the core's intake."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_core.leads.service import get_lead
from crm_core.models import Event, Lead, OutboxEvent
from tests.factories.people import make_customer, make_lead, unique_phone

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def _lead_count(uow) -> int:
    async with uow() as s:
        return await s.scalar(select(func.count()).select_from(Lead))


async def test_the_form_is_linked_and_proposes_the_manager_as_responsible(office_manager, people):
    for url in ("/office/leads", "/office/leads/board"):
        assert 'href="/office/leads/new"' in (await office_manager.get(url)).text
    r = await office_manager.get("/office/leads/new")
    assert r.status_code == 200
    assert f'<option value="{people.manager_id}" selected>' in r.text
    assert 'name="csrf_token"' in r.text and 'value="manual" selected' in r.text


async def test_a_new_lead_is_created_and_opened(office_manager, people, uow):
    phone = unique_phone()
    r = await office_manager.post_form(
        "/office/leads",
        {
            "name": "Светлана",
            "phone": "8 " + phone[2:],  # as people type it
            "email": "Sveta@Example.com",
            "company": "ИП Светлана",
            "source": "telegram",
            "comment": "Хочет диван",
            "responsible_id": str(people.other_manager_id),
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?created=1")
    lead_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    async with uow() as s:
        lead = await get_lead(s, lead_id)
        created = await s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "lead.created")
        )
    assert (lead.name, lead.company, lead.source, lead.comment) == (
        "Светлана",
        "ИП Светлана",
        "telegram",
        "Хочет диван",
    )
    assert lead.responsible_id == people.other_manager_id
    assert sorted(c.value for c in lead.contacts) == sorted([phone, "sveta@example.com"])
    assert created == 1
    page = await office_manager.get(r.headers["location"])
    assert "Светлана" in page.text and 'role="status"' in page.text


async def test_a_known_phone_merges_into_the_open_lead_with_a_notice(office_manager, people, uow):
    phone = unique_phone()
    async with uow() as s:
        existing = await make_lead(
            s, name="Уже есть", phones=[phone], responsible_id=people.other_manager_id
        )
    before = await _lead_count(uow)
    r = await office_manager.post_form(
        "/office/leads",
        {"name": "Другое имя", "phone": phone, "email": "new@example.com", "comment": "Снова"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/office/leads/{existing.id}?merged=1"
    assert await _lead_count(uow) == before
    async with uow() as s:
        lead = await get_lead(s, existing.id)
    assert lead.name == "Уже есть"  # a manager's text is never overwritten
    assert lead.comment == "Снова" and lead.responsible_id == people.other_manager_id
    assert "new@example.com" in [c.value for c in lead.contacts]
    page = await office_manager.get(r.headers["location"])
    assert "already open" in page.text or "уже был в работе" in page.text
    assert 'role="status"' in page.text


async def test_a_customers_phone_lands_on_the_customer(office, uow):
    phone = unique_phone()
    async with uow() as s:
        customer = await make_customer(s, name="Постоянный", phones=[phone])
    before = await _lead_count(uow)
    r = await office.post_form("/office/leads", {"name": "Кто-то", "phone": phone})
    assert r.status_code == 303
    assert r.headers["location"] == f"/office/customers/{customer.id}?done=merged#timeline"
    assert await _lead_count(uow) == before
    async with uow() as s:
        events = list(await s.scalars(select(Event).where(Event.customer_id == customer.id)))
    assert len(events) == 1
    page = await office.get(r.headers["location"])
    assert 'role="status"' in page.text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "phone": "", "email": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ок", "phone": "позвоните"}, "phone"),
        ({"name": "Ок", "phone": "1" * 41}, "phone"),
        ({"name": "Ок", "email": "no-at-sign"}, "email"),
        ({"name": "Ок", "source": "carrier-pigeon"}, "source"),
        ({"name": "Ок", "responsible_id": "99999999"}, "responsible_id"),
        ({"name": "Ок", "responsible_id": "-1"}, "responsible_id"),
        ({"name": "Ок", "company": "c" * 201}, "company"),
    ],
)
async def test_bad_input_is_refused_next_to_its_field(office, uow, data, field):
    before = await _lead_count(uow)
    r = await office.post_form("/office/leads", {"source": "manual", **data})
    assert r.status_code == 422, r.text
    assert f'id="{field}-error"' in r.text
    if data.get("name"):
        assert f'value="{data["name"]}"' in r.text  # what was typed stays
    assert await _lead_count(uow) == before


async def test_csrf_and_escaping(office, uow):
    before = await _lead_count(uow)
    r = await office.post("/office/leads", data={"name": "Без токена"})
    assert r.status_code == 403
    assert await _lead_count(uow) == before
    r = await office.post_form("/office/leads", {"name": SCRIPT, "comment": SCRIPT, "email": "x"})
    assert r.status_code == 422 and SCRIPT not in r.text and ESCAPED in r.text
    r = await office.post_form(
        "/office/leads", {"name": SCRIPT, "company": SCRIPT, "phone": unique_phone()}
    )
    assert r.status_code == 303
    page = await office.get(r.headers["location"])
    assert SCRIPT not in page.text and ESCAPED in page.text


async def test_name_search_takes_quotes_wildcards_and_backslashes_literally(office, uow):
    """The PostgreSQL name search writes its pattern into the statement (for the
    trigram index's sake): every character people type must still mean itself."""
    names = ["O'Brien & Co", "Скидка 100%", "a_b_c", "back\\slash", "Обычный"]
    async with uow() as s:
        ids = {n: (await make_lead(s, name=n)).id for n in names}
    cases = {
        "o'brien": ["O'Brien & Co"],
        "100%": ["Скидка 100%"],
        "%": ["Скидка 100%"],
        "_b_": ["a_b_c"],
        "_": ["a_b_c"],
        "\\": ["back\\slash"],
        "k\\s": ["back\\slash"],
        "'; DROP TABLE leads; --": [],
        "' OR '1'='1": [],
    }
    r = await office.get("/office/leads?who=all&q=a%00b")  # PostgreSQL refuses NUL in text
    assert r.status_code == 200
    for q, expected in cases.items():
        r = await office.get("/office/leads", params={"who": "all", "q": q})
        assert r.status_code == 200, q
        found = [n for n, i in ids.items() if f'href="/office/leads/{i}"' in r.text]
        assert found == expected, q
    async with uow() as s:
        assert await s.scalar(select(func.count()).select_from(Lead)) >= len(names)


async def test_name_search_also_finds_by_part_of_an_email(office, uow, monkeypatch):
    from crm_core.leads import service

    async with uow() as s:
        by_name = await make_lead(s, name="Ромашка цветы")
        by_mail = await make_lead(s, name="Другой", emails=["romashka@flowers.example"])
        second = await make_lead(s, name="Третий", emails=["romashka.two@flowers.example"])
        other = await make_lead(s, name="Посторонний", emails=["nobody@else.example"])

    async def found(q: str) -> set[int]:
        r = await office.get("/office/leads", params={"who": "all", "q": q})
        assert r.status_code == 200
        ids = (by_name.id, by_mail.id, second.id, other.id)
        return {i for i in ids if f'href="/office/leads/{i}"' in r.text}

    assert await found("ромаш") == {by_name.id}
    assert await found("romashka") == {by_mail.id, second.id}
    assert await found("flowers") == {by_mail.id, second.id}
    monkeypatch.setattr(service, "CONTACT_IDS", 1)  # many contact matches: the sub-query
    assert await found("flowers") == {by_mail.id, second.id}
    assert await found("zzzz") == set()
