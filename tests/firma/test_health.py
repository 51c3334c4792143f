from __future__ import annotations


async def test_healthz_ok(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_api_requires_a_token(client):
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    response = await client.get("/api/v1/leads", headers={"Authorization": "Bearer nope"})
    assert response.status_code in (401, 404)


def test_subscriber_registrations_are_joined_not_overwritten():
    from firma.worker import merge_subscribers

    async def a(event): ...

    async def b(event): ...

    merged = merge_subscribers({"lead.converted": [a]}, {"lead.converted": [b], "*": [a]})
    assert merged == {"lead.converted": [a, b], "*": [a]}


async def test_healthz_is_503_when_the_database_does_not_answer(tmp_path):
    import httpx

    from crm_core.db import create_engine, session_factory
    from firma.app import Runtime, create_app
    from firma.settings import Settings

    url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/firma.db"
    engine = create_engine(url)
    runtime = Runtime(Settings(database_url=url), engine, session_factory(engine))
    transport = httpx.ASGITransport(app=create_app(runtime, with_bot=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/healthz")
    await engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
