"""The kanban's query: first cards per column, counts, one employee's board; and the
list's sorting and contact-only search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core.customers.search import looks_like_contact
from crm_core.errors import ValidationFailed
from crm_core.leads.board import lead_board
from crm_core.leads.service import hide_lead, list_leads
from crm_core.leads.states import create_lead_state, update_lead_state
from tests.factories.people import make_employee, make_lead, unique_phone


async def test_columns_in_order_with_newest_cards_and_counts(session, clock):
    manager = await make_employee(session)
    extra = await create_lead_state(session, code="call_back", name="Перезвонить")
    old = await make_lead(session, name="Старый")
    for n in range(4):
        clock.advance(timedelta(minutes=1))
        await make_lead(session, name=f"Новый {n}", responsible_id=manager.id)
    in_work = await make_lead(session, name="В работе", state="in_work")
    hidden = await make_lead(session, name="Скрытый")
    await hide_lead(session, hidden.id, reason="spam")
    columns = await lead_board(session, per_column=3)
    assert [c.state.code for c in columns] == ["new", "in_work", "call_back"]
    first = columns[0]
    assert first.total == 5 and first.more == 2
    assert [lead.name for lead in first.leads] == ["Новый 3", "Новый 2", "Новый 1"]
    assert old.id not in {lead.id for lead in first.leads}
    assert [lead.id for lead in columns[1].leads] == [in_work.id]
    assert columns[2].total == 0 and columns[2].leads == []
    assert all(lead.contacts is not None for c in columns for lead in c.leads)
    mine = await lead_board(session, responsible_id=manager.id)
    assert [c.total for c in mine] == [4, 0, 0]
    await update_lead_state(session, extra.id, active=False)
    assert [c.state.code for c in await lead_board(session)] == ["new", "in_work"]


async def test_per_column_is_bounded(session):
    await make_lead(session)
    for asked in (0, -5, 10**9):
        columns = await lead_board(session, per_column=asked)
        assert 1 <= len(columns[0].leads) <= 200


async def test_list_sorts_by_name_and_date(session, clock):
    for name in ("Борис", "Анна", "Вера"):
        clock.advance(timedelta(minutes=1))
        await make_lead(session, name=name)
    names = lambda rows: [lead.name for lead in rows]  # noqa: E731
    assert names((await list_leads(session, sort="name"))[0]) == ["Анна", "Борис", "Вера"]
    assert names((await list_leads(session, sort="-name"))[0]) == ["Вера", "Борис", "Анна"]
    assert names((await list_leads(session, sort="created"))[0]) == ["Борис", "Анна", "Вера"]
    assert names((await list_leads(session))[0]) == ["Вера", "Анна", "Борис"]
    with pytest.raises(ValidationFailed):
        await list_leads(session, sort="password")


async def test_a_phone_or_email_is_searched_in_contacts_only(session):
    phone = unique_phone()
    await make_lead(session, name=f"Звонил с {phone[-7:]}")
    owner = await make_lead(session, name="Владелец", phones=[phone], emails=["v@example.com"])
    rows, total = await list_leads(session, q=phone[-7:])
    assert [lead.id for lead in rows] == [owner.id] and total == 1
    rows, _total = await list_leads(session, q="8 " + phone[2:])
    assert [lead.id for lead in rows] == [owner.id]
    rows, _total = await list_leads(session, q="V@EXAMPLE.COM")
    assert [lead.id for lead in rows] == [owner.id]
    rows, _total = await list_leads(session, q="владел")
    assert [lead.id for lead in rows] == [owner.id]
    assert looks_like_contact("+7 (916) 123-45-67") and looks_like_contact("a@b.ru")
    assert not looks_like_contact("ООО 1234") and not looks_like_contact("123")
