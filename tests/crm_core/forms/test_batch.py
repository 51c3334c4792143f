"""A batch of submissions leaves what the same submissions leave one at a time.

Property-style: random batches of submissions to a lead form and a registration form,
drawn from a small pool of contacts (so a visitor repeats within the batch, and meets
an open lead and a customer that were there before), with double clicks (one
idempotency key twice), a replayed token, spam, marketing consent, and — in half of
the cases — one submission in the middle whose processing really fails (a date that
is not a date). Run once one submission per transaction, once as one batch
(``receive_submissions``, as the forms' writer does), on the same starting data: the
databases must hold the same rows (ids compared as ranks), the calls must answer the
same, and the failing one must be kept ``failed`` with its error both ways.
"""

from __future__ import annotations

import dataclasses
import logging
import random

import pytest
from sqlalchemy import delete, select

from crm_core.context import SYSTEM, bind
from crm_core.customers.contacts import normalize_contacts
from crm_core.customers.service import create_customer
from crm_core.employees.service import create_employee
from crm_core.forms import Evidence, Incoming, create_form, receive_submissions
from crm_core.leads.service import create_lead
from crm_core.models import Base, Event, Form, FormSubmission, Lead
from crm_core.reference import ensure_reference_data
from tests.crm_core.leads.snapshot import snapshot

FIELDS = [
    {"name": "name", "type": "name", "label": "Имя"},
    {"name": "phone", "type": "phone", "label": "Телефон"},
    {"name": "email", "type": "email", "label": "Email"},
    {"name": "message", "type": "textarea", "label": "Вопрос"},
]
DAY = {"name": "day", "type": "date", "label": "Дата"}
PHONES = ["+79160003001", "+7 916 000-30-02", "+79160003003", "+79160003004"]
EMAILS = ["client@example.ru", "new@example.ru", "other@example.ru"]


async def _start(sessions, clock) -> tuple[list[int], list[Form]]:
    """Empty tables; two managers, a lead form, a registration form, an open lead
    (phone 1) and a customer (email 1)."""
    async with sessions() as s:
        bind(s, actor=SYSTEM, clock=clock)
        for table in reversed(Base.metadata.sorted_tables):
            await s.execute(delete(table))
        await ensure_reference_data(s)
        managers = [
            (await create_employee(s, name=f"Менеджер {n}", email=f"m{n}@example.ru")).id
            for n in (1, 2)
        ]
        forms = [
            await create_form(
                s,
                slug="callback",
                title="Обратный звонок",
                fields=FIELDS,
                consent_text="Согласие 152-ФЗ",
                marketing_consent_text="Реклама 38-ФЗ",
            ),
            await create_form(
                s,
                slug="seminar",
                title="Семинар",
                purpose="registration",
                fields=[*FIELDS, DAY],
                consent_text="Согласие 152-ФЗ",
            ),
        ]
        await create_lead(s, name="Открытая", phones=[PHONES[0]])
        await create_customer(s, name="Клиент", emails=[EMAILS[0]])
        await s.commit()
    return managers, forms


def _items(
    rng: random.Random, forms: list[Form], managers: list[int], fail: bool, repeats: bool
) -> list:
    day = "2026-03-20"
    items = []
    n = rng.randint(6, 16)
    for k in range(n):
        form = rng.choice(forms)
        answers = {"name": rng.choice(["Анна", "Олег", "<script>x</script>"])}
        if rng.random() < 0.85:
            answers["phone"] = rng.choice(PHONES)
        if rng.random() < 0.5:
            answers["email"] = rng.choice(EMAILS)
        if rng.random() < 0.5:
            answers["message"] = rng.choice(["Перезвоните", "Нужен счёт"])
        if form.slug == "seminar":
            answers["day"] = day
        items.append(
            Incoming(
                form,
                answers=answers,
                meta={"utm_source": rng.choice(["ya", "google"]), "lang": "ru", "page_url": "x"},
                evidence=Evidence("203.0.113.5", "UA", form.consent_text_id, None),
                marketing_consent=rng.random() < 0.4,
                idempotency_key=f"key-{k:02d}",
                token_nonce=f"nonce-{k:02d}",
                spam_reason="honeypot" if rng.random() < 0.1 else None,
                managers=managers,
                # Half as the door hands them in: the contacts it normalised already.
                contacts=normalize_contacts(
                    [answers["phone"]] if "phone" in answers else [],
                    [answers["email"]] if "email" in answers else [],
                )
                if rng.random() < 0.5
                else None,
            )
        )
    # The customer again, ticking the marketing box: the consent goes to the customer.
    items.append(
        Incoming(
            forms[0],
            answers={"name": "Клиент", "email": EMAILS[0].upper()},
            meta={},
            evidence=Evidence(None, None, forms[0].consent_text_id, None),
            marketing_consent=True,
            idempotency_key="key-!customer",  # (first: before a lead may hold the email)
            token_nonce="nonce-customer",
            managers=managers,
        )
    )
    if repeats:  # a double click (the same key and nonce again); a replayed token
        items.append(items[rng.randrange(n)])
        items.append(_with(items[rng.randrange(n)], idempotency_key="key-replay"))
    if fail:  # processing fails (a meeting on a day that is no date), in the middle
        seminar = forms[1]
        bad = Incoming(
            seminar,
            answers={"name": "Сбой", "phone": PHONES[2], "day": "не дата"},
            meta={},
            evidence=Evidence(None, None, None, None),
            idempotency_key=f"key-{n // 2:02d}-bad",
            token_nonce="nonce-bad",
            managers=managers,
        )
        items.insert(n // 2, bad)
    rng.shuffle(items)  # (the batch goes in idempotency-key order, both ways)
    return items


def _with(item: Incoming, **changes) -> Incoming:
    return dataclasses.replace(item, **changes)


def _rebind(items: list[Incoming], forms: list[Form], managers: list[int]) -> list[Incoming]:
    """The same submissions for the second run's forms and managers (new ids)."""
    by_slug = {f.slug: f for f in forms}
    out = []
    for item in items:
        form = by_slug[item.form.slug]
        shown = form.consent_text_id if item.evidence.consent_text_id else None
        evidence = dataclasses.replace(item.evidence, consent_text_id=shown)
        out.append(_with(item, form=form, evidence=evidence, managers=managers))
    return out


async def _round_robin_holds(session, managers: list[int]) -> int:
    """Every lead a submission made, and every meeting, went to the manager whose
    turn that submission's id is; how many were checked (masked afterwards)."""
    checked = 0
    first: dict[int, FormSubmission] = {}
    for sub in await session.scalars(select(FormSubmission).order_by(FormSubmission.id)):
        if sub.lead_id and sub.lead_id not in first:
            first[sub.lead_id] = sub
    for lead_id, sub in first.items():
        lead = await session.get(Lead, lead_id)
        if lead.source.value == "web_form":  # (made by it, not the lead there before)
            assert lead.responsible_id == managers[sub.id % len(managers)]
            checked += 1
    for meeting in await session.scalars(select(Event).where(Event.kind == "meeting")):
        sub_id = meeting.data["submission_id"]
        assert meeting.employee_id == managers[sub_id % len(managers)]
        checked += 1
    return checked


def _answered(results) -> list[tuple]:
    seen: dict[int, int] = {}
    return [
        (
            r.status.value,
            r.fresh,
            r.error.split(":")[0] if r.error else None,
            seen.setdefault(r.id, len(seen)),
            r.lead_id is not None,
            r.customer_id is not None,
            r.event_id is not None,
        )
        for r in results
    ]


@pytest.mark.parametrize("fail", [False, True], ids=["all-good", "one-fails"])
@pytest.mark.parametrize("repeats", [False, True], ids=["new", "repeats"])
@pytest.mark.parametrize("seed", range(4))
async def test_a_batch_leaves_what_one_at_a_time_leaves(
    sessions, clock, caplog, seed, repeats, fail
):
    rng = random.Random(seed)
    managers, forms = await _start(sessions, clock)
    items = _items(rng, forms, managers, fail, repeats)
    ordered = sorted(items, key=lambda i: i.idempotency_key or "")

    alone = []
    for item in ordered:
        async with sessions() as s:
            bind(s, actor=None, clock=clock)
            (result,) = await receive_submissions(s, [item])
            alone.append(result)
            await s.commit()
    async with sessions() as s:
        checked = await _round_robin_holds(s, managers)
        one_by_one = await snapshot(s, masked=frozenset({"responsible_id", "employee_id"}))

    managers, forms = await _start(sessions, clock)
    items = _rebind(items, forms, managers)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crm_core.forms.submissions"):
        async with sessions() as s:
            bind(s, actor=None, clock=clock)
            results = await receive_submissions(s, items)
            await s.commit()
    failed = any("failed together" in r.message for r in caplog.records)
    went_alone = failed or any("goes one by one" in r.message for r in caplog.records)
    assert not failed or fail  # nothing fails together unless one of it fails
    assert went_alone or not fail  # and then it goes one by one
    repeated = any("key or token" in r.message for r in caplog.records)
    assert repeated is (repeats and not failed)  # (a repeat: one by one settles it)
    if not (fail or repeats or any("marketing" in r.message for r in caplog.records)):
        assert not went_alone  # the common batch goes together
    # In key order, as the first run went (a stable sort: a double click's two in turn).
    together = [
        results[i] for i in sorted(range(len(items)), key=lambda i: items[i].idempotency_key)
    ]
    async with sessions() as s:
        assert await _round_robin_holds(s, managers) == checked > 0
        batch = await snapshot(s, masked=frozenset({"responsible_id", "employee_id"}))

    assert _answered(together) == _answered(alone)
    for table in one_by_one:
        assert batch[table] == one_by_one[table], table
    assert one_by_one["consents"] and one_by_one["events"]  # (the cases are there)
    statuses = [r.status.value for r in together]
    assert "processed" in statuses and ("failed" in statuses) is fail
