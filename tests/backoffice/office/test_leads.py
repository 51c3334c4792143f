"""The leads pages: list, board, moving cards, the lead card, conversion, hiding."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.leads.service import get_lead
from crm_core.models import Lead, LeadResult, LeadState, OutboxEvent
from tests.factories.people import make_lead, unique_phone

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def _states(uow) -> dict[str, LeadState]:
    async with uow() as s:
        return {st.code: st for st in await s.scalars(select(LeadState))}


async def test_list_shows_my_leads_to_a_manager_and_all_on_request(office_manager, people, uow):
    async with uow() as s:
        mine = await make_lead(s, name="Мой лид", responsible_id=people.manager_id)
        other = await make_lead(s, name="Чужой лид", responsible_id=people.other_manager_id)
    r = await office_manager.get("/office/leads")
    assert r.status_code == 200
    assert f"/office/leads/{mine.id}" in r.text and f"/office/leads/{other.id}" not in r.text
    r = await office_manager.get("/office/leads?who=all")
    assert f"/office/leads/{mine.id}" in r.text and f"/office/leads/{other.id}" in r.text
    r = await office_manager.get(f"/office/leads?responsible={people.other_manager_id}")
    assert f"/office/leads/{mine.id}" not in r.text and f"/office/leads/{other.id}" in r.text


async def test_list_searches_filters_sorts_and_pages(office, people, uow, clock):
    phone = unique_phone()
    today = clock.now()
    clock.set(today - timedelta(days=3))  # the office session was opened "today"
    async with uow() as s:
        await make_lead(s, name="Борис Поисковый", phones=[phone], company="ООО Тест")
        for n in range(55):
            await make_lead(s, name=f"Пакет {n:02d}")
    clock.set(today)
    async with uow() as s:
        await make_lead(s, name="Свежий", source="telegram")
    r = await office.get("/office/leads", params={"q": phone[-7:]})
    assert "Борис Поисковый" in r.text and "Пакет" not in r.text
    r = await office.get("/office/leads", params={"q": "поисков"})
    assert "Борис Поисковый" in r.text
    r = await office.get("/office/leads", params={"source": "telegram"})
    assert "Свежий" in r.text and "Борис" not in r.text
    today = clock.now().date().isoformat()
    r = await office.get("/office/leads", params={"from": today, "to": today})
    assert "Свежий" in r.text and "Борис" not in r.text
    r = await office.get("/office/leads", params={"sort": "name"})
    assert r.text.index("Борис") < r.text.index("Пакет 00") and "Свежий" not in r.text
    assert "?sort=-name" in r.text
    r = await office.get("/office/leads", params={"sort": "-name"})
    assert r.text.index("Свежий") < r.text.index("Пакет 54")
    first = await office.get("/office/leads")
    second = await office.get("/office/leads?page=2")
    assert "Свежий" in first.text and "Свежий" not in second.text
    assert 'rel="prev"' in second.text and "57" in second.text


@pytest.mark.parametrize(
    "query",
    [
        "page=-5",
        "page=abc",
        "page=99999999999999",
        "state=999999999999",
        "state=x",
        "source=bogus",
        "result=bogus",
        "sort=password",
        "from=2026-13-45",
        "responsible=99999999999999",
        "q=" + "я" * 5000,
        "who=root",
    ],
)
async def test_list_survives_hostile_queries(office, query):
    r = await office.get(f"/office/leads?{query}")
    assert r.status_code == 200


async def test_board_shows_columns_in_order_with_first_50_cards(office, people, uow):
    states = await _states(uow)
    async with uow() as s:
        for n in range(52):
            await make_lead(s, name=f"Карточка {n}", responsible_id=people.admin_id)
        await make_lead(s, name="В работе сейчас", state="in_work")
        hidden = await make_lead(s, name="Скрытый")
    async with uow() as s:
        from crm_core.leads.service import hide_lead

        await hide_lead(s, hidden.id, reason="spam")
    r = await office.get("/office/leads/board")
    assert r.status_code == 200
    page = r.text
    assert page.index("Не обработан") < page.index("В работе")
    assert page.count('class="kanban-card"') == 51
    assert "Карточка 51" in page and "Карточка 0<" not in page  # newest first, 50 shown
    assert "Скрытый" not in page
    assert f'href="/office/leads?state={states["new"].id}&amp;who=all"' in page
    assert 'src="/office/static/kanban.js"' in page


async def test_board_is_my_leads_for_a_manager(office_manager, people, uow):
    async with uow() as s:
        await make_lead(s, name="Моя карточка", responsible_id=people.manager_id)
        await make_lead(s, name="Не моя карточка", responsible_id=people.other_manager_id)
    page = (await office_manager.get("/office/leads/board")).text
    assert "Моя карточка" in page and "Не моя карточка" not in page
    page = (await office_manager.get("/office/leads/board?who=all")).text
    assert "Не моя карточка" in page


async def test_moving_a_card_by_fetch_and_by_form(office, uow):
    states = await _states(uow)
    async with uow() as s:
        lead = await make_lead(s)
    r = await office.post_json(f"/office/leads/{lead.id}/state", {"state_id": states["in_work"].id})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == {
        "id": states["in_work"].id,
        "code": "in_work",
        "name": "В работе",
    }
    async with uow() as s:
        assert (await get_lead(s, lead.id)).state_id == states["in_work"].id
        topics = list(await s.scalars(select(OutboxEvent.topic)))
        assert "lead.state_changed" in topics
    r = await office.post_form(
        f"/office/leads/{lead.id}/state",
        {"state_id": str(states["new"].id), "back": "/office/leads/board?who=all"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/office/leads/board?who=all"
    async with uow() as s:
        assert (await get_lead(s, lead.id)).state_id == states["new"].id


async def test_moving_refuses_bad_input_and_foreign_back_links(office, uow):
    async with uow() as s:
        lead = await make_lead(s)
    for body in ({"state_id": 999999}, {"state_id": "x"}, {}, {"state_id": -1}):
        r = await office.post_json(f"/office/leads/{lead.id}/state", body)
        assert r.status_code == 422, body
    r = await office.post_json("/office/leads/999999/state", {"state_id": 1})
    assert r.status_code == 404
    r = await office.post_json("/office/leads/99999999999999/state", {"state_id": 1})
    assert r.status_code == 404
    r = await office.post(
        f"/office/leads/{lead.id}/state",
        content=b"[1, 2]",
        headers={"X-CSRF-Token": office.csrf, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    states = await _states(uow)
    r = await office.post_form(
        f"/office/leads/{lead.id}/state",
        {"state_id": str(states["in_work"].id), "back": "https://evil.example/"},
    )
    assert r.headers["location"] == "/office/leads/board"


async def test_posts_without_csrf_are_refused(office, uow):
    states = await _states(uow)
    async with uow() as s:
        lead = await make_lead(s)
    for url, data in [
        (f"/office/leads/{lead.id}/state", {"state_id": str(states["in_work"].id)}),
        (f"/office/leads/{lead.id}", {"name": "Взлом"}),
        (f"/office/leads/{lead.id}/convert", {"with_order": "1"}),
        (f"/office/leads/{lead.id}/hide", {"reason": "1"}),
        ("/office/leads/states", {"code": "x", "name": "x"}),
    ]:
        r = await office.post(url, data=data)
        assert r.status_code == 403, url
        r = await office.post(url, json=data, headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 403, url
    async with uow() as s:
        again = await get_lead(s, lead.id)
        assert again.state_id == states["new"].id and again.result == LeadResult.OPEN


async def test_lead_card_shows_contacts_source_and_form_answers(office, uow):
    phone = unique_phone()
    async with uow() as s:
        from crm_core.leads.service import intake_lead

        result = await intake_lead(
            s,
            name="Ольга Формова",
            phones=[phone],
            emails=["olga@example.com"],
            source="web_form",
            source_detail="Заявка на замер",
            utm_source="yandex",
            utm_campaign="spring",
            data={"answers": {"Площадь": "45 м²", "Этаж": 3}},
        )
    r = await office.get(f"/office/leads/{result.lead.id}")
    assert r.status_code == 200
    for text in ("Ольга Формова", phone, "olga@example.com", "yandex", "spring"):
        assert text in r.text
    assert "Заявка на замер" in r.text and "Площадь" in r.text and "45 м²" in r.text
    assert "Преобразовать в клиента" in r.text or "Convert to customer" in r.text


async def test_unknown_leads_are_not_found(office):
    for url in ("/office/leads/999999", "/office/leads/99999999999999999", "/office/leads/abc"):
        r = await office.get(url)
        assert r.status_code in (404,), url


async def test_editing_a_lead_with_errors_rerenders_the_form(office, people, uow):
    async with uow() as s:
        lead = await make_lead(s, name="Было")
    r = await office.post_form(
        f"/office/leads/{lead.id}",
        {"name": "Стало", "phones": "not a phone", "emails": "", "responsible_id": ""},
    )
    assert r.status_code == 422
    assert 'value="Стало"' in r.text and "not a phone" in r.text
    async with uow() as s:
        assert (await get_lead(s, lead.id)).name == "Было"
    phone = unique_phone()
    r = await office.post_form(
        f"/office/leads/{lead.id}",
        {
            "name": "Стало",
            "company": "ООО Ромашка",
            "phones": f"8 {phone[2:5]} {phone[5:]}\n",
            "emails": "a@example.com, b@example.com",
            "responsible_id": str(people.manager_id),
            "source": "store",
            "comment": "Перезвонить",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/office/leads/{lead.id}?saved=1"
    async with uow() as s:
        lead = await get_lead(s, lead.id)
    assert lead.name == "Стало" and lead.company == "ООО Ромашка"
    assert [c.value for c in lead.contacts if c.kind == "phone"] == [phone]
    assert [c.value for c in lead.contacts if c.kind == "email"] == [
        "a@example.com",
        "b@example.com",
    ]
    assert lead.responsible_id == people.manager_id and lead.source == "store"
    r = await office.post_form(f"/office/leads/{lead.id}", {"responsible_id": "999999"})
    assert r.status_code == 422
    r = await office.post_form(f"/office/leads/{lead.id}", {"name": "x" * 5000})
    assert r.status_code == 422


async def test_script_in_every_field_is_shown_as_text(office, uow):
    async with uow() as s:
        lead = await make_lead(
            s,
            name=SCRIPT,
            company=SCRIPT,
            legal_name=SCRIPT,
            comment=SCRIPT,
            source_detail=SCRIPT,
            utm_source=SCRIPT,
            utm_campaign=SCRIPT,
        )
    for url in (
        f"/office/leads/{lead.id}",
        "/office/leads?who=all",
        "/office/leads/board?who=all",
        f"/office/leads?q={SCRIPT}",
    ):
        r = await office.get(url)
        assert r.status_code == 200
        assert SCRIPT not in r.text and ESCAPED in r.text, url


async def test_convert_with_order_lands_on_the_order(office, uow):
    async with uow() as s:
        lead = await make_lead(s, name="Покупатель", phones=[unique_phone()])
    r = await office.post_form(f"/office/leads/{lead.id}/convert", {"with_order": "1"})
    assert r.status_code == 303
    async with uow() as s:
        lead = await s.get(Lead, lead.id)
        assert lead.result == LeadResult.CONVERTED and lead.order_id and lead.customer_id
    assert r.headers["location"] == f"/office/orders/{lead.order_id}"
    again = await office.post_form(f"/office/leads/{lead.id}/convert", {"with_order": "1"})
    assert again.status_code == 409
    page = await office.get(f"/office/leads/{lead.id}")
    assert f"/office/orders/{lead.order_id}" in page.text


async def test_convert_without_order_lands_on_the_customer(office, uow):
    async with uow() as s:
        lead = await make_lead(s, name="Клиент", phones=[unique_phone()])
    r = await office.post_form(f"/office/leads/{lead.id}/convert", {"with_order": ""})
    async with uow() as s:
        lead = await s.get(Lead, lead.id)
    assert lead.order_id is None
    assert r.headers["location"] == f"/office/customers/{lead.customer_id}"


async def test_hide_with_a_reason_and_bring_back(office, uow):
    async with uow() as s:
        lead = await make_lead(s)
        from crm_core.leads.states import list_hide_reasons

        reason = (await list_hide_reasons(s))[0]
    r = await office.post_form(f"/office/leads/{lead.id}/hide", {"reason": ""})
    assert r.status_code == 422
    r = await office.post_form(f"/office/leads/{lead.id}/hide", {"reason": "99999"})
    assert r.status_code == 422
    r = await office.post_form(
        f"/office/leads/{lead.id}/hide", {"reason": str(reason.id), "comment": SCRIPT}
    )
    assert r.status_code == 303
    async with uow() as s:
        hidden = await s.get(Lead, lead.id)
        assert hidden.result == LeadResult.HIDDEN and hidden.hide_reason_id == reason.id
    page = await office.get(f"/office/leads/{lead.id}")
    assert ESCAPED in page.text and SCRIPT not in page.text
    r = await office.post_form(f"/office/leads/{lead.id}/reopen")
    assert r.status_code == 303
    async with uow() as s:
        assert (await s.get(Lead, lead.id)).result == LeadResult.OPEN


async def test_states_editor_is_for_the_admin_only(office_manager):
    r = await office_manager.get("/office/leads/states")
    assert r.status_code == 403
    r = await office_manager.post_form("/office/leads/states", {"code": "x", "name": "X"})
    assert r.status_code == 403
    page = await office_manager.get("/office/leads/board")
    assert "/office/leads/states" not in page.text


async def test_admin_adds_renames_and_reorders_states(office, uow):
    r = await office.post_form("/office/leads/states", {"code": "meeting", "name": SCRIPT})
    assert r.status_code == 303
    r = await office.post_form("/office/leads/states", {"code": "meeting", "name": "Опять"})
    assert r.status_code == 422 and "meeting" in r.text
    r = await office.post_form("/office/leads/states", {"code": "Плохой код", "name": "X"})
    assert r.status_code == 422
    states = await _states(uow)
    for url in ("/office/leads/states", "/office/leads/board", "/office/leads"):
        page = await office.get(url)
        assert ESCAPED in page.text and SCRIPT not in page.text, url
    r = await office.post_form(
        f"/office/leads/states/{states['meeting'].id}", {"name": "Встреча назначена"}
    )
    assert r.status_code == 303
    r = await office.post_form(f"/office/leads/states/{states['meeting'].id}", {"name": " "})
    assert r.status_code == 422
    r = await office.post_form(
        f"/office/leads/states/{states['meeting'].id}/move", {"direction": "up"}
    )
    assert r.status_code == 303
    board = (await office.get("/office/leads/board")).text
    assert board.index("Не обработан") < board.index("Встреча назначена") < board.index("В работе")
    r = await office.post_form("/office/leads/states/999999/move", {"direction": "up"})
    assert r.status_code == 404
    r = await office.post_form("/office/leads/states/999999", {"name": "x"})
    assert r.status_code == 404
