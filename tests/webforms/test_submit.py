"""POST /forms/{slug}: the CONTRACT answers, storage first, leads and merging."""

from __future__ import annotations

from crm_core.models import FormSubmission


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
    # Another key, same phone: a second submission, merged into the same lead.
    payload["_idempotency_key"] = "other"
    assert (await client.post("/forms/callback", json=payload)).status_code == 201
    leads = (await api.get("/leads", params={"q": "+79160001122"})).json()
    assert leads["total"] == 1


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
