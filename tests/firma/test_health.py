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
