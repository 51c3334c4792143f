"""The one writer: batches in one transaction, a savepoint per submission, answers
after the commit, a bounded queue (503), drained at shutdown."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

import crm_core.forms.submissions as subs
import webforms.writer as writer_module
from crm_core.forms import Evidence, Incoming, receive_submissions
from crm_core.models import Form, FormSubmission, Lead, OutboxEvent
from webforms.writer import SubmissionWriter


async def until(condition, *, turns: int = 10_000) -> None:
    """Let the loop run (no time passes) until ``condition()`` holds."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


class Gate:
    """Holds every batch at the door of the writer until opened; records their sizes."""

    def __init__(self, monkeypatch) -> None:
        self.opened = asyncio.Event()
        self.held = 0
        self.sizes: list[int] = []
        real = SubmissionWriter._write

        async def gated(writer, batch):
            self.held += 1
            await self.opened.wait()
            self.sizes.append(len(batch))
            await real(writer, batch)

        monkeypatch.setattr(SubmissionWriter, "_write", gated)


def body(token: str, phone: str, **over) -> dict:
    return {"name": "Гость", "phone": phone, "consent": True, "_token": token, **over}


async def post(client, payload: dict, path: str = "/forms/callback"):
    return asyncio.create_task(client.post(path, json=payload))


async def blocked_writer(client, token_for, gate: Gate):
    """A first submission taken by the writer and held at the gate (a batch of one):
    whatever is posted next waits in the queue and forms the next batch."""
    first = await post(client, body(await token_for(), "+79160000100"))
    await until(lambda: gate.held == 1)
    return first


async def count(runtime, model, *where) -> int:
    async with runtime.sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def test_a_failing_submission_in_a_batch_spoils_none_of_the_others(
    client, api, make_form, token_for, webforms_state, monkeypatch, runtime
):
    form = await make_form()
    real_intake, real_batch = subs.intake_lead, subs.intake_leads
    batches = []

    async def intake(session, **kw):
        if kw.get("name") == "Сбой":  # a real SQL error: aborts PostgreSQL's savepoint
            await session.execute(text("SELECT no_such_column FROM leads"))
        return await real_intake(session, **kw)

    async def intake_together(session, requests, **kw):
        batches.append(len(requests))
        results = await real_batch(session, requests, **kw)
        if any(r.get("name") == "Сбой" for r in requests):  # the batch fails with it
            await session.execute(text("SELECT no_such_column FROM leads"))
        return results

    monkeypatch.setattr(subs, "intake_lead", intake)
    monkeypatch.setattr(subs, "intake_leads", intake_together)
    gate = Gate(monkeypatch)
    first = await blocked_writer(client, token_for, gate)
    tokens = [await token_for() for _ in range(3)]
    tasks = [
        await post(client, body(tokens[0], "+79160000101", name="Анна")),
        await post(client, body(tokens[1], "+79160000102", name="Сбой", message="<b>x</b>")),
        await post(client, body(tokens[2], "+79160000103", name="Олег")),
    ]
    await until(lambda: webforms_state.writer.pending == 3)
    gate.opened.set()
    answers = await asyncio.gather(first, *tasks)
    assert [r.status_code for r in answers] == [201] * 4, [r.text for r in answers]
    assert gate.sizes == [1, 3]  # the three went in one transaction
    assert batches == [3]  # tried together, then each in its own savepoint
    ids = [r.json()["submission_id"] for r in answers[1:]]
    items = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    by_id = {s["id"]: s for s in items}
    assert len(items) == 4
    good_a, bad, good_b = (by_id[i] for i in ids)
    assert good_a["status"] == good_b["status"] == "processed"
    assert good_a["lead_id"] and good_b["lead_id"] and good_a["lead_id"] != good_b["lead_id"]
    assert bad["status"] == "failed" and "no_such_column" in bad["error"]
    assert bad["attempts"] == 1 and bad["lead_id"] is None
    assert bad["answers"]["name"] == "Сбой" and bad["answers"]["message"] == "<b>x</b>"
    assert (await api.get("/leads", params={"q": "+79160000102"})).json()["total"] == 0
    async with runtime.sessions() as s:
        retries = list(
            await s.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == "form.submission_received")
            )
        )
    assert [e.payload for e in retries] == [{"submission_id": bad["id"]}]


async def test_one_idempotency_key_is_one_lead_within_and_across_batches(
    client, api, make_form, token_for, webforms_state, monkeypatch, runtime
):
    form = await make_form()
    gate = Gate(monkeypatch)
    first = await blocked_writer(client, token_for, gate)
    payload = body(await token_for(), "+79160000201", _idempotency_key="double-click")
    clicks = [await post(client, payload) for _ in range(3)]
    await until(lambda: webforms_state.writer.pending == 3)
    gate.opened.set()
    answers = await asyncio.gather(first, *clicks)
    assert [r.status_code for r in answers] == [201] * 4
    assert gate.sizes == [1, 3]
    assert len({r.json()["submission_id"] for r in answers[1:]}) == 1
    # The same key again, later (a retried request): the same submission again.
    again = await client.post("/forms/callback", json=payload)
    assert again.status_code == 201
    assert again.json()["submission_id"] == answers[1].json()["submission_id"]
    assert gate.sizes == [1, 3, 1]
    assert (await api.get(f"/forms/{form['id']}/submissions")).json()["total"] == 2
    assert (await api.get("/leads", params={"q": "+79160000201"})).json()["total"] == 1


async def test_a_batch_that_cannot_commit_is_written_one_by_one(
    client, api, make_form, token_for, webforms_state, monkeypatch, runtime
):
    await make_form()
    real = writer_module.receive_submissions
    failed = []

    async def flaky(session, items, **kw):
        results = await real(session, items, **kw)
        if len(items) > 1:  # the whole batch's work is done, then the commit is lost
            failed.append(len(items))
            await session.execute(text("SELECT no_such_column FROM leads"))
        return results

    monkeypatch.setattr(writer_module, "receive_submissions", flaky)
    gate = Gate(monkeypatch)
    first = await blocked_writer(client, token_for, gate)
    phones = [f"+7916000030{n}" for n in range(3)]
    tasks = [await post(client, body(await token_for(), p, _idempotency_key=p)) for p in phones]
    await until(lambda: webforms_state.writer.pending == 3)
    gate.opened.set()
    answers = await asyncio.gather(first, *tasks)
    assert [r.status_code for r in answers] == [201] * 4
    assert failed == [3]
    for phone in phones:
        leads = (await api.get("/leads", params={"q": phone})).json()
        assert leads["total"] == 1
    assert await count(runtime, FormSubmission) == 4
    assert await count(runtime, FormSubmission, FormSubmission.status == "processed") == 4


async def test_shutdown_drains_the_queue(
    client, make_form, token_for, webforms_state, monkeypatch, runtime
):
    await make_form()
    assert webforms_state.aclose in runtime.closers  # firma/app.py's shutdown calls it
    gate = Gate(monkeypatch)
    first = await blocked_writer(client, token_for, gate)
    tasks = [await post(client, body(await token_for(), f"+7916000040{n}")) for n in range(5)]
    await until(lambda: webforms_state.writer.pending == 5)
    closing = asyncio.create_task(webforms_state.aclose())
    for _ in range(50):
        await asyncio.sleep(0)
    assert not closing.done()  # waits for the queue, does not drop it
    gate.opened.set()
    await closing
    assert await count(runtime, FormSubmission, FormSubmission.status == "processed") == 6
    assert await count(runtime, Lead) == 6
    answers = await asyncio.gather(first, *tasks)
    assert [r.status_code for r in answers] == [201] * 6
    # After shutdown began, a late submission is written at once in its own transaction.
    late = await client.post("/forms/callback", json=body(await token_for(), "+79160000499"))
    assert late.status_code == 201
    assert await count(runtime, FormSubmission, FormSubmission.status == "processed") == 7
    assert webforms_state.writer.pending == 0


async def test_a_full_queue_is_refused_with_retry_after(
    client, api, make_form, token_for, webforms_state, monkeypatch, runtime
):
    form = await make_form()
    webforms_state.writer.queue_size = 2
    gate = Gate(monkeypatch)
    first = await blocked_writer(client, token_for, gate)
    tasks = [await post(client, body(await token_for(), f"+7916000050{n}")) for n in range(2)]
    await until(lambda: webforms_state.writer.pending == 2)
    refused = await client.post("/forms/callback", json=body(await token_for(), "+79160000509"))
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {
        "detail": "Сейчас слишком много заявок. Попробуйте ещё раз через минуту."
    }
    english = await client.post(
        "/forms/callback?lang=en",
        json=body(await token_for(), "+79160000508"),
        headers={"origin": "https://shop.example.ru"},
    )
    assert english.status_code == 503 and english.headers["retry-after"] == "1"
    assert english.json()["detail"] == "Too many requests right now. Please try again in a minute."
    assert english.headers["access-control-allow-origin"] == "https://shop.example.ru"
    gate.opened.set()
    answers = await asyncio.gather(first, *tasks)
    assert [r.status_code for r in answers] == [201] * 3
    assert (await api.get(f"/forms/{form['id']}/submissions")).json()["total"] == 3
    assert (await api.get("/leads", params={"q": "+79160000509"})).json()["total"] == 0


async def test_a_visitor_hanging_up_does_not_cancel_the_batch(
    client, make_form, token_for, webforms_state, monkeypatch, runtime
):
    await make_form()
    gate = Gate(monkeypatch)
    first = await blocked_writer(client, token_for, gate)
    gone = await post(client, body(await token_for(), "+79160000601"))
    stays = await post(client, body(await token_for(), "+79160000602"))
    await until(lambda: webforms_state.writer.pending == 2)
    gone.cancel()
    gate.opened.set()
    assert (await first).status_code == (await stays).status_code == 201
    with pytest.raises(asyncio.CancelledError):
        await gone
    await webforms_state.aclose()
    assert await count(runtime, FormSubmission, FormSubmission.status == "processed") == 3


async def test_two_batches_with_the_same_contacts_in_opposite_order_do_not_deadlock(
    make_form, runtime, clock
):
    """Two writers (two processes) whose batches share contacts: on PostgreSQL each
    batch locks all its contacts first, in one order, so the second waits for the
    first instead of deadlocking half-way (which would fail submissions)."""
    from crm_core.context import bind

    made = await make_form()
    async with runtime.sessions() as s:
        form = await s.get(Form, made["id"])
    phones = ["+79160000701", "+79160000702", "+79160000703"]

    def item(phone: str, key: str) -> Incoming:
        return Incoming(
            form,
            answers={"name": "Гость", "phone": phone},
            meta={},
            evidence=Evidence(None, None, None, None),
            idempotency_key=key,
        )

    async def batch(order: list[str], tag: str) -> list:
        async with runtime.sessions() as s:
            bind(s, actor=None, clock=clock)
            items = [item(p, f"{tag}{n}") for n, p in enumerate(order)]  # keys in this order
            results = await receive_submissions(s, items)
            await s.commit()
            return results

    first, second = await asyncio.gather(batch(phones, "a"), batch(list(reversed(phones)), "b"))
    for result in first + second:
        assert not isinstance(result, Exception)
        assert result.status.value == "processed", result.error
    assert await count(runtime, Lead) == 3  # the second batch merged into the first's


async def test_a_row_that_cannot_be_stored_fails_alone_and_the_batch_commits(
    client, api, make_form, token_for, webforms_state, monkeypatch, runtime
):
    """Storing itself fails for one submission (in its batch, then alone): that one
    request fails as it did before batching, and the rest of its batch is committed."""
    form = await make_form()
    real_store = subs.store_submission
    tries = []

    async def store(session, form, **kw):
        if kw["answers"].get("name") == "Сбой":
            tries.append(1)
            await session.execute(text("SELECT no_such_column FROM form_submissions"))
        return await real_store(session, form, **kw)

    monkeypatch.setattr(subs, "store_submission", store)
    real_together = subs._store_together

    async def store_together(session, items):  # the batch's one INSERT fails with it
        if any(i.answers.get("name") == "Сбой" for i in items):
            await session.execute(text("SELECT no_such_column FROM form_submissions"))
        return await real_together(session, items)

    monkeypatch.setattr(subs, "_store_together", store_together)
    gate = Gate(monkeypatch)
    first = await blocked_writer(client, token_for, gate)
    tasks = [
        await post(client, body(await token_for(), "+79160000801", name="Анна")),
        await post(client, body(await token_for(), "+79160000802", name="Сбой")),
        await post(client, body(await token_for(), "+79160000803", name="Олег")),
    ]
    await until(lambda: webforms_state.writer.pending == 3)
    gate.opened.set()
    answers = await asyncio.gather(first, *tasks, return_exceptions=True)
    assert [getattr(r, "status_code", None) for r in answers] == [201, 201, None, 201]
    assert "no_such_column" in str(answers[2])
    # In its own savepoint and again to keep it (the batch's one INSERT failed first),
    # then alone, twice again.
    assert len(tries) == 4
    subs_now = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    assert sorted(s["answers"]["name"] for s in subs_now) == ["Анна", "Гость", "Олег"]
    assert all(s["status"] == "processed" for s in subs_now)
