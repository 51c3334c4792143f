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
