from __future__ import annotations

from messaging.unsubscribe import make_token
from tests.factories.people import make_customer


async def test_campaign_lifecycle_and_counts(api, uow) -> None:
    async with uow() as s:
        for i in range(3):
            await make_customer(
                s, emails=[f"v{i}@example.com"], tags=["vip"], consents={"email": i < 2}
            )
    template = await api.post(
        "/templates", json={"kind": "letter", "name": "P", "subject": "S", "body": "<p>x</p>"}
    )
    created = await api.post(
        "/campaigns",
        json={
            "name": "Весна",
            "channel": "email",
            "template_id": template.json()["id"],
            "segment": {"tags": ["vip"], "has_orders": False},
            "rate_per_second": 50,
            "max_errors": 5,
        },
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["state"] == "draft" and campaign["counts"]["pending"] == 0
    assert campaign["max_errors"] == 5 and campaign["pause_reason"] is None
    started = await api.post(f"/campaigns/{campaign['id']}/start")
    assert started.json()["state"] == "sending"
    assert started.json()["counts"] == {
        "pending": 2,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "skipped": 1,
    }
    paused = await api.post(f"/campaigns/{campaign['id']}/pause")
    assert paused.json()["state"] == "paused"
    resumed = await api.post(f"/campaigns/{campaign['id']}/start")
    assert resumed.json()["state"] == "sending" and resumed.json()["counts"]["pending"] == 2
    cancelled = await api.post(f"/campaigns/{campaign['id']}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    assert (await api.post(f"/campaigns/{campaign['id']}/start")).status_code == 409
    assert (await api.get("/campaigns")).json()["total"] == 1


async def test_campaign_input_is_checked(api) -> None:
    sms = await api.post("/templates", json={"kind": "sms", "name": "s", "body": "hi"})
    wrong = await api.post(
        "/campaigns", json={"name": "x", "channel": "email", "template_id": sms.json()["id"]}
    )
    assert wrong.status_code == 422
    unknown = await api.post(
        "/campaigns",
        json={"name": "x", "channel": "sms", "template_id": 1, "segment": {"color": "red"}},
    )
    assert unknown.status_code == 422
    for bad in ({"max_errors": -1}, {"rate_per_second": 0}, {"rate_per_second": 10_001}):
        refused = await api.post(
            "/campaigns",
            json={"name": "x", "channel": "sms", "template_id": sms.json()["id"], **bad},
        )
        assert refused.status_code == 422, bad


async def test_unsubscribe_page_and_one_click_post(client, uow) -> None:
    async with uow() as s:
        customer = await make_customer(s, emails=["u@example.com"], consents={"email": True})
    token = make_token("dev-secret-change-me", customer_id=customer.id, channel="email")
    page = await client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Отписаться" in page.text
    done = await client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Вы отписаны" in done.text
    customer_view = await client.get(f"/unsubscribe/{token[:-2]}xx")
    assert customer_view.status_code == 404
