"""The batch intake leaves exactly what the single intake leaves, request by request.

Property-style: random batches drawn from a small pool of contacts (so requests
repeat each other within a batch, and hit an open lead, a hidden lead and a customer
that were there before), run once through ``intake_lead`` one request at a time and
once through ``intake_leads`` as one batch, on the same starting data; the two
databases must hold the same rows (ids compared as ranks, see ``snapshot``), and both
calls must say the same thing about each request.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import delete, event, func, select

from crm_core.context import SYSTEM, bind
from crm_core.customers.service import create_customer
from crm_core.employees.service import create_employee
from crm_core.errors import ValidationFailed
from crm_core.leads.service import create_lead, hide_lead, intake_lead, intake_leads
from crm_core.models import Base, Lead, OutboxEvent
from crm_core.reference import ensure_reference_data
from tests.crm_core.leads.snapshot import snapshot

PHONES = ["+79160001001", "8 (916) 000-10-02", "+79160001003", "+79160001004", "+79160001005"]
EMAILS = ["known@example.ru", "Second@Example.ru", "third@example.ru"]


async def _start(sessions, clock) -> list[int]:
    """Empty tables, reference data, two managers, an open lead without a responsible
    (phone 1), a hidden lead (phone 2) and a customer (email 1)."""
    async with sessions() as s:
        bind(s, actor=SYSTEM, clock=clock)
        for table in reversed(Base.metadata.sorted_tables):
            await s.execute(delete(table))
        await ensure_reference_data(s)
        managers = [
            (await create_employee(s, name=f"Менеджер {n}", email=f"m{n}@example.ru")).id
            for n in (1, 2)
        ]
        await create_lead(s, name="Открытая", phones=[PHONES[0]], comment="Была раньше")
        hidden = await create_lead(s, name="Скрытая", phones=[PHONES[1]])
        await hide_lead(s, hidden.lead.id, reason="spam")
        await create_customer(s, name="Клиент", emails=[EMAILS[0]])
        await s.commit()
    return managers


def _requests(rng: random.Random, managers: list[int], n: int) -> list[dict]:
    out = []
    for k in range(n):
        request: dict = {"source": rng.choice(["web_form", "telegram", "api"])}
        if rng.random() < 0.8:
            request["phones"] = rng.sample(PHONES, rng.choice([1, 1, 2]))
        if rng.random() < 0.5:
            request["emails"] = [rng.choice(EMAILS)]
        if rng.random() < 0.7:
            request["name"] = rng.choice(["Анна", "Олег", "<b>Иван</b>", "مريم"])
        for key, choices in (
            ("comment", ["Перезвоните", "Нужен счёт", None]),
            ("company", ["ООО «Ромашка»", None, None]),
            ("telegram_username", ["@anna", None, None]),
            ("utm_source", ["yandex", "google", None]),
            ("utm_campaign", ["spring", None]),
            ("source_detail", ["Обратный звонок", None]),
            ("responsible_id", [*managers, None, None]),
        ):
            value = rng.choice(choices)
            if value is not None:
                request[key] = value
        if rng.random() < 0.6:
            request["data"] = {"answers": {"message": f"Ответ {k}"}, "page_url": "https://x.ru"}
        if not request.get("phones") and not request.get("emails") and not request.get("name"):
            request["name"] = "Без контактов"
        out.append(request)
    return out


def _said(results) -> list[tuple]:
    """What the calls return, with ids as the order they first appear in."""
    seen: dict[tuple, int] = {}

    def rank(kind: str, obj) -> int | None:
        return None if obj is None else seen.setdefault((kind, obj.id), len(seen))

    return [(rank("lead", r.lead), rank("customer", r.customer), r.merged) for r in results]


@pytest.mark.parametrize("seed", range(6))
async def test_a_batch_leaves_what_one_by_one_leaves(sessions, clock, seed):
    rng = random.Random(seed)
    managers = await _start(sessions, clock)
    requests = _requests(rng, managers, rng.randint(5, 25))

    async with sessions() as s:
        bind(s, actor=SYSTEM, clock=clock)
        single = [await intake_lead(s, **r) for r in requests]
        said_single = _said(single)
        await s.commit()
        one_by_one = await snapshot(s)

    managers_again = await _start(sessions, clock)
    remap = dict(zip(managers, managers_again, strict=True))
    for r in requests:
        if "responsible_id" in r:
            r["responsible_id"] = remap[r["responsible_id"]]
    async with sessions() as s:
        bind(s, actor=SYSTEM, clock=clock)
        together = await intake_leads(s, requests)
        said_together = _said(together)
        await s.commit()
        batch = await snapshot(s)

    assert said_together == said_single
    for table in one_by_one:
        assert batch[table] == one_by_one[table], table
    # (The property is about something: some requests merged, within the batch too.)
    merged = sum(1 for r in single if r.merged)
    assert merged >= 1 or len(requests) < 8


async def test_repeats_within_a_batch_are_one_lead_merged_in_a_fixed_number_of_statements(
    sessions, clock, engine
):
    await _start(sessions, clock)
    requests = [
        {"name": f"Гость {n}", "phones": [f"+7916100{n:04d}"], "source": "web_form"}
        for n in range(30)
    ]
    requests += [  # the same visitors again, another spelling, with an email now
        {
            "phones": [f"8 (916) 100-00-{n:02d}"],
            "emails": [f"g{n}@example.ru"],
            "comment": "Ещё раз",
            "source": "web_form",
        }
        for n in range(0, 30, 3)
    ]
    statements = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    async with sessions() as s:
        bind(s, actor=SYSTEM, clock=clock)
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            results = await intake_leads(s, requests)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        await s.commit()
        leads = await s.scalar(select(func.count()).select_from(Lead))
        topics = list(await s.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)))
    assert [r.merged for r in results] == [False] * 30 + [True] * 10
    assert [r.lead.id for r in results[30:]] == [r.lead.id for r in results[0:30:3]]
    assert leads == 30 + 2  # (and the two that were there before)
    assert topics.count("lead.created") == 2 + 30 and topics.count("lead.merged") == 10
    # Not 8 a request: a handful for the batch, plus one flush for the repeats. (SQLite:
    # the ORM inserts new rows one by one, in process, to learn their ids in order.)
    assert len(set(statements)) <= 12, statements
    if engine.dialect.name == "postgresql":
        assert len(statements) <= 12, statements


async def test_a_bad_request_refuses_the_batch(sessions, clock):
    await _start(sessions, clock)
    async with sessions() as s:
        bind(s, actor=SYSTEM, clock=clock)
        with pytest.raises(ValidationFailed):
            await intake_leads(
                s,
                [
                    {"name": "Анна", "phones": ["+79160002001"], "source": "web_form"},
                    {"name": "Олег", "phones": ["12"], "source": "web_form"},
                ],
            )
        with pytest.raises(ValidationFailed):
            await intake_leads(s, [{"name": "Анна", "source": "web_form", "responsible_id": 10**9}])
