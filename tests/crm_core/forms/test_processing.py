"""crm_core.forms: round-robin, registration, consent evidence and marketing consent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm_core.forms import Evidence, create_form, process_submission, store_submission
from crm_core.forms.registration import apply_pending_marketing
from crm_core.leads.service import convert_lead
from crm_core.models import Consent, Event, FormSubmission, Lead, OutboxEvent
from tests.factories.people import make_employee

FIELDS = [
    {"name": "name", "type": "name", "label": "Имя"},
    {"name": "phone", "type": "phone", "label": "Телефон"},
    {"name": "email", "type": "email", "label": "Email"},
]
EVIDENCE = Evidence(ip="203.0.113.5", user_agent="UA", consent_text_id=None, marketing_text_id=None)


async def _form(uow, **over):
    async with uow() as s:
        fields = dict(slug="f", title="Форма", fields=FIELDS, consent_text="Согласие")
        return await create_form(s, **(fields | over))


async def _submit(uow, form, answers, *, marketing=False):
    async with uow() as s:
        sub = await store_submission(
            s,
            form,
            answers=answers,
            meta={"utm_source": "ya"},
            evidence=EVIDENCE,
            marketing_consent=marketing,
        )
    async with uow() as s:
        return await process_submission(s, sub.id)


async def test_round_robin_among_active_managers(uow):
    async with uow() as s:
        a = await make_employee(s)
        b = await make_employee(s)
        await make_employee(s, role="admin")
    form = await _form(uow)
    owners = []
    for i in range(4):
        sub = await _submit(uow, form, {"phone": f"+7916555000{i}"})
        async with uow() as s:
            owners.append((await s.get(Lead, sub.lead_id)).responsible_id)
    assert sorted(set(owners)) == sorted([a.id, b.id]) and owners.count(a.id) == 2


async def test_registration_plans_a_meeting(uow, clock):
    fields = [*FIELDS, {"name": "day", "type": "date", "label": "Дата", "required": True}]
    form = await _form(uow, purpose="registration", fields=fields)
    day = (clock.now() + timedelta(days=5)).date().isoformat()
    sub = await _submit(uow, form, {"name": "Оля", "phone": "+79165550101", "day": day})
    async with uow() as s:
        event = await s.get(Event, sub.event_id)
        assert event.kind == "meeting" and event.state == "planned"
        assert event.lead_id == sub.lead_id and event.starts_at.date().isoformat() <= day
        topics = set(await s.scalars(select(OutboxEvent.topic)))
    assert {"form.registration_confirmed", "lead.created", "event.created"} <= topics


async def test_marketing_consent_waits_for_the_customer(uow):
    form = await _form(uow, marketing_consent_text="Реклама")
    sub = await _submit(uow, form, {"phone": "+79165550202", "email": "a@b.ru"}, marketing=True)
    assert sub.marketing_consent and sub.marketing_applied_at is None
    assert sub.consent_text_id == form.consent_text_id
    async with uow() as s:
        converted = await convert_lead(s, sub.lead_id)
    customer_id = converted[0].id
    async with uow() as s:
        assert await apply_pending_marketing(s, sub.lead_id) == 1
    async with uow() as s:
        consents = {c.channel: c.granted for c in await s.scalars(select(Consent))}
        again = await s.get(FormSubmission, sub.id)
    assert consents == {"email": True, "sms": True} and again.marketing_applied_at
    assert customer_id
    # A later submission from the customer applies its consent at once.
    sub2 = await _submit(uow, form, {"phone": "+79165550202"}, marketing=True)
    assert sub2.customer_id and sub2.marketing_applied_at is not None
