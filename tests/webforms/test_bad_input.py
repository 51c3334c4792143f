"""Every bad input from the issue gets its clear answer."""

from __future__ import annotations

import json

import pytest

PHONES = [
    "8 (916) 123-45-67",
    "+7 916 1234567",
    "89161234567",
    "+79161234567",
    "7 916 123 45 67",
    "8-916-123-45-67",
    "+7 (916) 123-45-67",
    "9161234567",
    "8 916 123 4567",
    "+7-916-123-45-67",
]
NASTY = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE leads; --",
    "Robert'); DELETE FROM forms;--",
]


async def _post(client, data, **kw):
    return await client.post("/forms/callback", json=data, **kw)


async def test_missing_required_and_consent(client, make_form, token_for):
    fields = [
        {"name": "name", "type": "name", "label": "Имя", "required": True},
        {"name": "phone", "type": "phone", "label": "Телефон", "required": True},
    ]
    await make_form(fields=fields)
    r = await _post(client, {"_token": await token_for()})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert set(errors) == {"name", "phone", "consent"}
    assert errors["name"] == "Заполните это поле."
    r = await client.post("/forms/callback?lang=en", json={"name": "A"})
    assert r.json()["errors"]["phone"] == "Please fill in this field."


async def test_wrong_types_and_sizes(client, make_form, token_for):
    await make_form()
    token = await token_for()
    r = await _post(client, {"name": ["a"], "phone": 79161234567, "consent": {}, "_token": token})
    assert r.status_code == 422
    assert r.json()["errors"] == {
        "name": "Неверное значение.",
        "phone": "Неверное значение.",
        "consent": "Без согласия на обработку данных мы не можем принять заявку.",
    }
    big = {"name": "A", "message": "x" * 100_000, "consent": True, "_token": token}
    r = await _post(client, big)
    assert r.status_code == 422 and r.json()["errors"] == {"message": "Слишком длинный текст."}
    r = await client.post(
        "/forms/callback",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["detail"]
    r = await _post(client, {"phone": "not a phone", "email": "nope@", "consent": True})
    assert set(r.json()["errors"]) == {"phone", "email"}


async def test_malformed_and_wrong_content_type(client, make_form):
    await make_form()
    headers = {"content-type": "application/json"}
    r = await client.post("/forms/callback", content=b'{"name": ', headers=headers)
    assert r.status_code == 422 and "body" in r.json()["errors"]
    r = await client.post("/forms/callback", content=b"[1, 2]", headers=headers)
    assert r.status_code == 422
    r = await client.post(
        "/forms/callback", content=b"name=x", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415 and r.json()["detail"]
    r = await client.post("/forms/callback", content=b"\xff\xfe", headers=headers)
    assert r.status_code == 422


async def test_unknown_and_disabled(client, api, make_form):
    assert (await _post(client, {"name": "x"})).status_code == 404
    assert (await client.get("/forms/nope")).status_code == 404
    form = await make_form()
    await api.patch(f"/forms/{form['id']}", json={"enabled": False})
    r = await _post(client, {"name": "x", "consent": True})
    assert r.status_code == 410 and r.json()["detail"]
    assert (await client.get("/forms/callback")).status_code == 410


@pytest.mark.parametrize("nasty", NASTY)
async def test_markup_and_sql_stored_as_text(client, api, make_form, token_for, nasty):
    form = await make_form(
        fields=[
            {"name": "name", "type": "name", "label": "Имя"},
            {"name": "phone", "type": "phone", "label": "Телефон"},
            {"name": "city", "type": "text", "label": "Город"},
            {"name": "message", "type": "textarea", "label": "Вопрос"},
            {"name": "src", "type": "hidden"},
        ]
    )
    data = {"name": nasty, "city": nasty, "message": nasty, "src": nasty, "utm_source": nasty}
    data |= {"phone": "+79161112233", "consent": True, "_token": await token_for()}
    r = await _post(client, data)
    assert r.status_code == 201, r.text
    sub = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"][0]
    assert sub["answers"]["city"] == nasty and sub["answers"]["src"] == nasty
    lead = (await api.get(f"/leads/{sub['lead_id']}")).json()
    assert lead["name"] == nasty.strip() and lead["utm_source"] == nasty
    # Re-rendered with errors, every value comes back escaped.
    r = await client.post(
        "/forms/callback",
        data={k: v for k, v in data.items() if isinstance(v, str)} | {"phone": nasty},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert "&lt;" in r.text or "&#39;" in r.text


async def test_emoji_and_rtl(client, api, make_form, token_for):
    form = await make_form()
    name = "Ахмед 👋 أحمد \u202eабв"
    r = await _post(
        client,
        {"name": name, "message": "שלום 🎉", "phone": "+79162223344", "consent": True}
        | {"_token": await token_for()},
    )
    assert r.status_code == 201
    sub = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"][0]
    assert sub["answers"]["name"] == name and sub["answers"]["message"] == "שלום 🎉"


async def test_ten_phone_spellings_one_lead(client, api, make_form, token_for, clock):
    await make_form()
    for i, phone in enumerate(PHONES):
        data = {"name": "Ольга", "phone": phone, "consent": True, "_token": await token_for()}
        r = await _post(client, data | {"_idempotency_key": f"p{i}"})
        assert r.status_code == 201, (phone, r.text)
    leads = (await api.get("/leads", params={"q": "+79161234567"})).json()
    assert leads["total"] == 1 and leads["items"][0]["phones"] == ["+79161234567"]


async def test_cors_preflight(client, make_form):
    await make_form()
    ok = await client.options(
        "/forms/callback",
        headers={"origin": "https://shop.example.ru", "access-control-request-method": "POST"},
    )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "https://shop.example.ru"
    assert "POST" in ok.headers["access-control-allow-methods"]
    bad = await client.options(
        "/forms/callback",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers
    r = await _post(
        client, {"name": "x", "consent": True}, headers={"origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert json.loads(r.text)["detail"]
