"""Anti-bot and anti-abuse: honeypot, token, fill time, rate limits, body, framing."""

from __future__ import annotations

from datetime import timedelta

from webforms.tokens import issue_token


async def _subs(api, form):
    return (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]


async def test_honeypot_and_bad_tokens_are_kept_as_spam(client, api, make_form, token_for, clock):
    form = await make_form()
    good = await token_for()
    base = {"name": "Бот", "phone": "+79168880000", "consent": True}
    forged = good[:-4] + "AAAA"
    fast = (await client.get("/forms/callback/token")).json()["token"]  # clock not moved
    other = issue_token("another-secret", form["id"], None, None, clock.now() - timedelta(1))
    cases = {
        "honeypot": {"_token": good, "website": "http://spam"},
        "bad_token": {"_token": forged},
        "no_token": {},
        "too_fast": {"_token": fast},
    }
    for i, (_reason, extra) in enumerate(cases.items()):
        r = await client.post("/forms/callback", json=base | extra | {"_idempotency_key": str(i)})
        assert r.status_code == 201, r.text  # the bot learns nothing
    r = await client.post("/forms/callback", json=base | {"_token": other})
    assert r.status_code == 201
    clock.advance(timedelta(days=2))
    r = await client.post("/forms/callback", json=base | {"_token": good, "_idempotency_key": "x"})
    assert r.status_code == 201
    subs = await _subs(api, form)
    assert {s["status"] for s in subs} == {"spam"}
    assert {s["error"] for s in subs} == {*cases, "expired_token"}
    assert all(s["lead_id"] is None for s in subs)
    assert (await api.get("/leads", params={"q": "+79168880000"})).json()["total"] == 0


async def test_rate_limits_per_ip_and_form(client, make_form, webforms_state, clock):
    await make_form()
    webforms_state.config.per_ip_limit = 3
    webforms_state.limiter.reset()
    body = {"name": "x"}
    codes = [(await client.post("/forms/callback", json=body)).status_code for _ in range(4)]
    assert codes[:3] == [422, 422, 422] and codes[3] == 429
    r = await client.post("/forms/callback", json=body)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    clock.advance(timedelta(minutes=2))
    assert (await client.post("/forms/callback", json=body)).status_code == 422
    webforms_state.config.per_ip_limit = 100
    webforms_state.config.per_form_limit = 2
    webforms_state.limiter.reset()
    await client.post("/forms/callback", json=body)
    await client.post("/forms/callback", json=body)
    assert (await client.post("/forms/callback", json=body)).status_code == 429


async def test_chunked_body_over_limit(client, make_form):
    await make_form()

    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = await client.post(
        "/forms/callback", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_framing_only_from_allowed_origins(client, make_form):
    await make_form()
    r = await client.get("/forms/callback")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://shop.example.ru" in csp
    assert "default-src 'none'" in csp
    r = await client.get("/forms/callback/token", headers={"origin": "https://shop.example.ru"})
    assert r.headers["access-control-allow-origin"] == "https://shop.example.ru"
    r = await client.get("/forms/callback/token", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


async def test_a_token_makes_one_submission(client, api, make_form, token_for):
    form = await make_form()
    token = await token_for()
    first = {"phone": "+79161110001", "consent": True, "_token": token, "_idempotency_key": "a"}
    r1 = await client.post("/forms/callback", json=first)
    assert r1.status_code == 201
    # The same request again (a retry, a double click): the same submission.
    again = await client.post("/forms/callback", json=first)
    assert again.json()["submission_id"] == r1.json()["submission_id"]
    # The token replayed for other submissions: answered alike, kept as spam, no lead.
    for n, key in ((2, "b"), (3, None)):
        body = first | {"phone": f"+7916111000{n}", "_idempotency_key": key}
        r = await client.post("/forms/callback", json=body)
        assert r.status_code == 201 and r.json()["submission_id"] != r1.json()["submission_id"]
    subs = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    assert [(s["status"], s["error"]) for s in subs] == [
        ("spam", "replayed_token"),
        ("spam", "replayed_token"),
        ("processed", None),
    ]
    leads = (await api.get("/leads", params={"q": "+7916111000"})).json()
    assert leads["total"] == 1
    # A fresh token works again.
    r = await client.post(
        "/forms/callback", json=first | {"_token": await token_for(), "_idempotency_key": "c"}
    )
    subs = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    assert subs[0]["id"] == r.json()["submission_id"] and subs[0]["status"] == "processed"


async def test_a_token_replayed_concurrently_makes_one_lead(client, api, make_form, token_for):
    import asyncio

    form = await make_form()
    token = await token_for()
    bodies = [
        {"phone": f"+7916222000{n}", "consent": True, "_token": token, "_idempotency_key": str(n)}
        for n in range(6)
    ]
    answers = await asyncio.gather(*(client.post("/forms/callback", json=b) for b in bodies))
    assert {r.status_code for r in answers} == {201}
    subs = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
    statuses = sorted(s["status"] for s in subs)
    assert statuses == ["processed"] + ["spam"] * 5
    assert (await api.get("/leads", params={"q": "+7916222000"})).json()["total"] == 1
