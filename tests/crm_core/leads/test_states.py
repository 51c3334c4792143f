"""The kanban columns and hide reasons: ordered, editable, never orphaning a lead."""

from __future__ import annotations

import pytest

from crm_core.errors import Conflict, ValidationFailed
from crm_core.leads.service import intake_lead, update_lead
from crm_core.leads.states import (
    create_hide_reason,
    create_lead_state,
    delete_lead_state,
    list_hide_reasons,
    list_lead_states,
    reorder_lead_states,
    update_lead_state,
)
from tests.factories.people import make_lead


async def test_create_reorder_and_rename(session):
    states = await list_lead_states(session)
    assert [s.code for s in states] == ["new", "in_work"]
    quote = await create_lead_state(session, code="quote", name="КП отправлено")
    assert [s.code for s in await list_lead_states(session)] == ["new", "in_work", "quote"]
    with pytest.raises(Conflict):
        await create_lead_state(session, code="QUOTE", name="again")
    with pytest.raises(ValidationFailed):
        await create_lead_state(session, code="bad code!", name="x")
    ids = [quote.id, states[0].id, states[1].id]
    await reorder_lead_states(session, ids)
    assert [s.id for s in await list_lead_states(session)] == ids
    with pytest.raises(ValidationFailed):
        await reorder_lead_states(session, ids[:2])
    renamed = await update_lead_state(session, quote.id, name="Отправлено КП")
    assert renamed.name == "Отправлено КП"


async def test_default_state_moves_and_new_leads_follow_it(session):
    new, in_work = await list_lead_states(session)
    await update_lead_state(session, in_work.id, is_default=True)
    await session.refresh(new)
    assert new.is_default is False
    result = await intake_lead(session, name="X", source="api")
    assert result.lead.state_id == in_work.id
    with pytest.raises(Conflict):
        await update_lead_state(session, in_work.id, is_default=False)


async def test_a_state_with_open_leads_cannot_be_deactivated_or_deleted(session):
    _new, in_work = await list_lead_states(session)
    lead = await make_lead(session, state="in_work")
    with pytest.raises(Conflict):
        await update_lead_state(session, in_work.id, active=False)
    with pytest.raises(Conflict):
        await delete_lead_state(session, in_work.id)
    await update_lead(session, lead.id, state="new")
    await update_lead_state(session, in_work.id, active=False)
    assert [s.code for s in await list_lead_states(session)] == ["new"]
    with pytest.raises(ValidationFailed):  # an inactive state takes no leads
        await update_lead(session, lead.id, state="in_work")
    unused = await create_lead_state(session, code="unused", name="Unused")
    await delete_lead_state(session, unused.id)
    assert "unused" not in [s.code for s in await list_lead_states(session, include_inactive=True)]


async def test_hide_reasons(session):
    assert [r.code for r in await list_hide_reasons(session)][:2] == ["spam", "duplicate"]
    reason = await create_hide_reason(session, code="expensive", name="Дорого")
    assert (await list_hide_reasons(session))[-1].id == reason.id
    with pytest.raises(Conflict):
        await create_hide_reason(session, code="expensive", name="Дорого")
