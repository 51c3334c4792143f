"""POST /forms/{slug}: the CONTRACT answers, storage first, leads and merging."""

from __future__ import annotations

from sqlalchemy import select, text

from crm_core.models import FormSubmission, OutboxEvent


async def test_json_submission_makes_a_lead(client, api, make_form, token_for):
    form = await make_form()
    token = await token_for()
    r = await client.post(
        "/forms/callback",
        json={
            "name": "Анна",
            "phone": "8 (916) 123-45-67",
            "email": "Anna@Example.ru",
            "message": "Перезвоните",
            "consent": True,
            "marketing_consent": True,
            "_token": token,
            "_idempotency_key": "k1",
            "utm_source": "yandex",
            "utm_campaign": "spring",
            "page_url": "https://shop.example.ru/p?utm_source=yandex",
        },
        headers={"user-agent": "pytest-browser"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "accepted" and isinstance(body["submission_id"], int)
    leads = (await api.get("/leads", params={"q": "+79161234567"})).json()
    assert leads["total"] == 1
    lead = leads["items"][0]
    assert lead["source"] == "web_form" and lead["utm_source"] == "yandex"
    assert lead["utm_campaign"] == "spring" and lead["emails"] == ["anna@example.ru"]
    subs = (await api.get(f"/forms/{form['id']}/submissions")).json()
    assert subs["total"] == 1
    sub = subs["items"][0]
    assert sub["status"] == "processed" and sub["lead_id"] == lead["id"]
    assert sub["consent_version"] == form["consent_version"]
    assert sub["ip"] and sub["user_agent"] == "pytest-browser"
    assert sub["marketing_consent"] is True and sub["marketing_applied_at"] is None
    assert sub["answers"]["phone"] == "+79161234567"
    events = (await api.get(f"/leads/{lead['id']}/events")).json()["items"]
    web = [e for e in events if e["kind"] == "web_form"]
    assert web and web[0]["data"]["answers"]["message"] == "Перезвоните"
    assert web[0]["data"]["page_url"].startswith("https://shop.example.ru")


async def test_double_submit_is_one_lead(client, api, make_form, token_for, uow):
    form = await make_form()
    token = await token_for()
    payload = {"name": "Иван", "phone": "+7 916 000-11-22", "consent": "on", "_token": token}
    payload["_idempotency_key"] = "same-key"
    first = await client.post("/forms/callback", json=payload)
    second = await client.post("/forms/callback", json=payload)
    assert first.status_code == second.status_code == 201
    assert first.json()["submission_id"] == second.json()["submission_id"]
    assert (await api.get(f"/forms/{form['id']}/submissions")).json()["total"] == 1
    # Another visit (token and key), same phone: a second submission, merged.
    payload |= {"_idempotency_key": "other", "_token": await token_for()}
    assert (await client.post("/forms/callback", json=payload)).status_code == 201
    leads = (await api.get("/leads", params={"q": "+79160001122"})).json()
    assert leads["total"] == 1
    subs = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    assert [s["status"] for s in subs] == ["processed", "processed"]
    assert subs[0]["lead_id"] == subs[1]["lead_id"]


async def test_double_click_at_once_is_one_submission(client, api, make_form, token_for):
    import asyncio

    form = await make_form()
    payload = {"phone": "+79160003344", "consent": True, "_token": await token_for()}
    payload["_idempotency_key"] = "click"
    answers = await asyncio.gather(*(client.post("/forms/callback", json=payload) for _ in "xyz"))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["submission_id"] for r in answers}) == 1
    subs = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    assert [s["status"] for s in subs] == ["processed"]


async def test_html_post_redirects(client, make_form, token_for):
    await make_form()
    token = await token_for()
    r = await client.post(
        "/forms/callback",
        data={"name": "Пётр", "phone": "+79165550000", "consent": "on", "_token": token},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/forms/callback/thanks")
    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and "Спасибо, перезвоним!" in page.text


async def test_failed_processing_is_kept_and_retried(
    client, api, make_form, token_for, monkeypatch, runtime
):
    import crm_core.forms.submissions as subs

    form = await make_form()
    token = await token_for()

    async def broken(*_a, **_k):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(subs, "intake_lead", broken)
    r = await client.post(
        "/forms/callback", json={"phone": "+79167770000", "consent": True, "_token": token}
    )
    assert r.status_code == 201
    sub = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"][0]
    assert sub["status"] == "failed" and "database hiccup" in sub["error"]
    assert sub["attempts"] == 1
    async with runtime.sessions() as s:
        retry = (
            await s.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == "form.submission_received")
            )
        ).one()
    assert retry.payload == {"submission_id": sub["id"]}
    assert retry.available_at > runtime.clock.now()  # later, by a worker
    monkeypatch.undo()
    # The worker's subscriber for the safety-net event processes it.
    from crm_core.forms import form_subscribers

    handler = form_subscribers(runtime.sessions, runtime.clock)["form.submission_received"][0]

    class Ev:
        payload = {"submission_id": sub["id"]}

    await handler(Ev())
    sub = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"][0]
    assert sub["status"] == "processed" and sub["lead_id"] and sub["error"] is None
    assert FormSubmission.__tablename__ == "form_submissions"


async def test_a_database_error_in_processing_keeps_the_submission(
    client, api, make_form, token_for, monkeypatch
):
    """A real SQL error inside processing (which aborts a PostgreSQL transaction) rolls
    back to the savepoint: the raw submission is committed, failed, with the error."""
    import crm_core.forms.submissions as subs

    form = await make_form()
    token = await token_for()

    async def broken(session, **_k):
        await session.execute(text("SELECT no_such_column FROM leads"))

    monkeypatch.setattr(subs, "intake_lead", broken)
    body = {"name": "Вера", "phone": "+79167770001", "consent": True, "_token": token}
    r = await client.post("/forms/callback", json=body)
    assert r.status_code == 201
    [sub] = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    assert sub["status"] == "failed" and "no_such_column" in sub["error"]
    assert sub["answers"]["name"] == "Вера" and sub["lead_id"] is None
    assert (await api.get("/leads", params={"q": "+79167770001"})).json()["total"] == 0


async def test_survey_answers_are_kept_on_the_lead_card(client, api, make_form, token_for):
    fields = [
        {"name": "name", "type": "name", "label": "Имя"},
        {"name": "email", "type": "email", "label": "Email"},
        {"name": "score", "type": "select", "label": "Оценка", "options": ["1", "2", "3"]},
        {"name": "again", "type": "checkbox", "label": "Придёте снова?"},
        {"name": "note", "type": "text", "label": "Что улучшить"},
        {"name": "campaign", "type": "hidden", "default": "spring"},
    ]
    form = await make_form(slug="poll", purpose="survey", fields=fields)
    body = {"name": "Ира", "email": "IRA@Example.RU", "score": "3", "again": "on"}
    body |= {"note": "Больше парковки", "consent": True, "_token": await token_for("poll")}
    r = await client.post("/forms/poll", json=body)
    assert r.status_code == 201, r.text
    [sub] = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    lead = (await api.get(f"/leads/{sub['lead_id']}")).json()
    assert lead["emails"] == ["ira@example.ru"]
    events = (await api.get(f"/leads/{lead['id']}/events")).json()["items"]
    [data] = [e["data"] for e in events if e["kind"] == "web_form"]
    assert data["purpose"] == "survey" and data["answers"] == {
        "name": "Ира",
        "email": "ira@example.ru",
        "score": "3",
        "again": True,
        "note": "Больше парковки",
        "campaign": "spring",
    }
    # A wrong option is refused with its own message.
    r = await client.post("/forms/poll", json=body | {"score": "9", "_token": "x"})
    assert r.status_code == 422 and r.json()["errors"] == {"score": "Выберите один из вариантов."}


async def test_round_robin_through_the_door(client, api, make_form, token_for, uow):
    from tests.factories.people import make_employee

    async with uow() as s:
        first = await make_employee(s)
        second = await make_employee(s)
        await make_employee(s, role="admin")  # admins get no form leads
    form = await make_form()
    for n in range(4):
        body = {"phone": f"+7916444000{n}", "consent": True, "_token": await token_for()}
        assert (await client.post("/forms/callback", json=body)).status_code == 201
    subs = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    owners = [(await api.get(f"/leads/{s['lead_id']}")).json()["responsible_id"] for s in subs]
    assert sorted(owners) == sorted([first.id, first.id, second.id, second.id])
    assert owners[0] != owners[1]  # in turn, not in blocks
