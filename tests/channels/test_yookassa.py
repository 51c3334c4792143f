"""ЮKassa: payment links through the API v3 and notifications verified by reading the
payment back from the API (a fake ЮKassa on 127.0.0.1), registered exactly once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from crm_core.models import OnlinePayment, Order, OutboxEvent, Payment, PaymentNotification
from tests.channels.fake_yookassa import SECRET_KEY, SHOP_ID, FakeYookassa, notification
from tests.factories.commerce import make_order

URL = "/channels/yookassa/notifications"


@pytest.fixture
async def fake() -> AsyncIterator[FakeYookassa]:
    server = FakeYookassa()
    await server.start()
    yield server
    await server.stop()


def _configure(runtime, fake: FakeYookassa, trusted: str | None = "127.0.0.1/32") -> None:
    runtime.settings.yookassa_shop_id = SHOP_ID
    runtime.settings.yookassa_secret_key = SECRET_KEY
    runtime.settings.yookassa_api_url = fake.url
    runtime.settings.yookassa_trusted_ips = trusted
    runtime.settings.public_url = "https://crm.example.ru"


@pytest.fixture
async def yk_app(runtime, fake):
    from firma.app import create_app

    _configure(runtime, fake)
    app = create_app(runtime)
    yield app
    for close in list(runtime.closers):
        await close()
    runtime.closers.clear()


@pytest.fixture
async def yk(yk_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=yk_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def yk_api(yk_app, api_token) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=yk_app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {api_token}"},
    ) as c:
        yield c


@pytest.fixture
async def order_id(uow) -> int:
    async with uow() as s:
        order = await make_order(s, total="1500.00")
    return order.id


async def _count(sessions, model, *where) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def _paid(sessions, order_id: int) -> list[Payment]:
    async with sessions() as s:
        return list(await s.scalars(select(Payment).where(Payment.order_id == order_id)))


async def test_payment_link_is_created_once_with_an_idempotence_key(yk_api, fake, order_id):
    r = await yk_api.post(
        f"/orders/{order_id}/payment-link", json={"return_url": "https://shop.example.ru/thanks"}
    )
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["amount"] == "1500.00" and link["status"] == "pending"
    assert link["confirmation_url"].startswith("https://yoomoney.ru/checkout/")
    sent = fake.payments[link["payment_id"]]
    assert sent["metadata"]["order_id"] == str(order_id)
    assert sent["amount"] == {"value": "1500.00", "currency": "RUB"}
    assert sent["confirmation"]["return_url"] == "https://shop.example.ru/thanks"
    method, path, headers = fake.requests[0]
    assert (method, path) == ("POST", "/v3/payments")
    assert headers["Idempotence-Key"].startswith(f"firma-order-{order_id}-")

    again = await yk_api.post(f"/orders/{order_id}/payment-link", json={})
    assert again.status_code == 201
    assert again.json()["payment_id"] == link["payment_id"]  # the pending link, reused
    assert len([r for r in fake.requests if r[0] == "POST"]) == 1
    listed = await yk_api.get(f"/orders/{order_id}/payment-links")
    assert [x["payment_id"] for x in listed.json()] == [link["payment_id"]]


async def test_payment_link_refuses_more_than_is_left_and_reports_provider_errors(
    yk_api, fake, order_id
):
    r = await yk_api.post(f"/orders/{order_id}/payment-link", json={"amount": "2000.00"})
    assert r.status_code == 409
    r = await yk_api.post(f"/orders/{order_id}/payment-link", json={"amount": "-1"})
    assert r.status_code == 422
    assert (await yk_api.post("/orders/999999/payment-link", json={})).status_code == 404
    fake.fail_next = 1
    r = await yk_api.post(f"/orders/{order_id}/payment-link", json={"amount": "100.00"})
    assert r.status_code == 502
    assert fake.payments == {}


async def test_succeeded_payment_is_registered_exactly_once(yk, yk_api, fake, sessions, order_id):
    link = (await yk_api.post(f"/orders/{order_id}/payment-link", json={})).json()
    body = notification("payment.succeeded", fake.succeed(link["payment_id"]))

    first = await yk.post(URL, json=body)
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "registered"
    # ЮKassa retries until it gets 200; a replay of the same body changes nothing.
    for _ in range(2):
        again = await yk.post(URL, json=body)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate"

    payments = await _paid(sessions, order_id)
    assert [(p.amount, p.method.value) for p in payments] == [(Decimal("1500.00"), "online")]
    assert payments[0].external_id == f"yookassa:{link['payment_id']}"
    order = (await yk_api.get(f"/orders/{order_id}")).json()
    assert order["paid_percent"] == 100
    assert await _count(sessions, OutboxEvent, OutboxEvent.topic == "payment.received") == 1
    async with sessions() as s:
        online = await s.scalar(select(OnlinePayment))
    assert online.status == "succeeded" and online.core_payment_id == payments[0].id
    listed = (await yk_api.get("/payment-notifications", params={"order_id": order_id})).json()
    assert [n["outcome"] for n in listed["items"]] == ["duplicate", "duplicate", "registered"]


async def test_forged_notifications_register_nothing(yk, fake, sessions, order_id):
    # An id ЮKassa never issued.
    forged = {
        "id": "2d0000ff-000f-5000-9000-ffffffffffff",
        "status": "succeeded",
        "paid": True,
        "amount": {"value": "1500.00", "currency": "RUB"},
        "metadata": {"order_id": str(order_id)},
    }
    r = await yk.post(URL, json=notification("payment.succeeded", forged))
    assert r.status_code == 400
    # A real payment of 10.00 announced as 1500.00.
    small = fake.add_payment(amount="10.00", order_id=order_id, status="succeeded")
    fake.succeed(small)
    lie = {**fake.payments[small], "amount": {"value": "1500.00", "currency": "RUB"}}
    r = await yk.post(URL, json=notification("payment.succeeded", lie))
    assert r.status_code == 200 and r.json()["outcome"] == "mismatch"
    # A payment still pending announced as succeeded.
    pending = fake.add_payment(amount="1500.00", order_id=order_id)
    claim = {**fake.payments[pending], "status": "succeeded", "paid": True}
    r = await yk.post(URL, json=notification("payment.succeeded", claim))
    assert r.status_code == 200 and r.json()["outcome"] == "mismatch"
    # Someone else's order id slipped into the body.
    other = fake.add_payment(amount="1500.00", order_id=order_id + 1000)
    fake.succeed(other)
    claim = {**fake.payments[other], "metadata": {"order_id": str(order_id)}}
    r = await yk.post(URL, json=notification("payment.succeeded", claim))
    assert r.status_code == 200 and r.json()["outcome"] == "mismatch"

    assert await _paid(sessions, order_id) == []
    async with sessions() as s:
        outcomes = list(await s.scalars(select(PaymentNotification.outcome)))
    assert sorted(outcomes) == ["mismatch"] * 3


async def test_untrusted_source_address_is_refused(runtime, fake, sessions, order_id):
    from firma.app import create_app

    _configure(runtime, fake, trusted=None)  # the published ЮKassa ranges only
    app = create_app(runtime)
    payment = fake.add_payment(amount="1500.00", order_id=order_id, status="succeeded")
    body = notification("payment.succeeded", fake.succeed(payment))
    outside = httpx.ASGITransport(app=app, client=("203.0.113.9", 4444))
    async with httpx.AsyncClient(transport=outside, base_url="http://t") as c:
        assert (await c.post(URL, json=body)).status_code == 403
    inside = httpx.ASGITransport(app=app, client=("185.71.76.10", 4444))
    async with httpx.AsyncClient(transport=inside, base_url="http://t") as c:
        r = await c.post(URL, json=body)
        assert r.status_code == 200 and r.json()["outcome"] == "registered"
    assert fake.requests  # verified with the API even from a trusted address
    for close in runtime.closers:
        await close()


async def test_unknown_order_is_kept_visible_and_answered_200(yk, yk_api, fake, sessions):
    payment = fake.add_payment(amount="700.00", order_id=987654, status="succeeded")
    r = await yk.post(URL, json=notification("payment.succeeded", fake.succeed(payment)))
    assert r.status_code == 200 and r.json()["outcome"] == "unknown_order"
    listed = (
        await yk_api.get("/payment-notifications", params={"outcome": "unknown_order"})
    ).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["object_id"] == payment and item["amount"] == "700.00"
    assert "987654" in item["message"]
    assert await _count(sessions, Payment) == 0


async def test_api_unavailable_answers_503_then_the_retry_registers(yk, fake, sessions, order_id):
    payment = fake.add_payment(amount="500.00", order_id=order_id)
    body = notification("payment.succeeded", fake.succeed(payment))
    fake.fail_next = 1
    assert (await yk.post(URL, json=body)).status_code == 503
    assert await _count(sessions, PaymentNotification) == 0
    r = await yk.post(URL, json=body)
    assert r.status_code == 200 and r.json()["outcome"] == "registered"
    assert [p.amount for p in await _paid(sessions, order_id)] == [Decimal("500.00")]


async def test_canceled_payment_updates_the_link_and_pays_nothing(
    yk, yk_api, fake, sessions, order_id
):
    link = (await yk_api.post(f"/orders/{order_id}/payment-link", json={})).json()
    r = await yk.post(URL, json=notification("payment.canceled", fake.cancel(link["payment_id"])))
    assert r.status_code == 200 and r.json()["outcome"] == "status"
    links = (await yk_api.get(f"/orders/{order_id}/payment-links")).json()
    assert links[0]["status"] == "canceled"
    assert await _paid(sessions, order_id) == []
    # A new link is made after a cancelled one (a different idempotence key).
    again = (await yk_api.post(f"/orders/{order_id}/payment-link", json={})).json()
    assert again["payment_id"] != link["payment_id"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"type": "other", "event": "payment.succeeded", "object": {"id": "x"}}).encode(),
        json.dumps(
            {"type": "notification", "event": "payout.succeeded", "object": {"id": "x"}}
        ).encode(),
        json.dumps({"type": "notification", "event": "payment.succeeded", "object": {}}).encode(),
        json.dumps(
            {"type": "notification", "event": "payment.succeeded", "object": {"id": "../../etc"}}
        ).encode(),
    ],
)
async def test_malformed_notifications_are_400(yk, fake, sessions, body):
    r = await yk.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert await _count(sessions, PaymentNotification) == 0


async def test_huge_body_is_413(yk, sessions):
    r = await yk.post(URL, content=b"{" + b" " * (70 * 1024) + b"}")
    assert r.status_code == 413


async def test_overpayment_is_rejected_and_kept(yk, fake, sessions, order_id):
    payment = fake.add_payment(amount="9000.00", order_id=order_id)
    r = await yk.post(URL, json=notification("payment.succeeded", fake.succeed(payment)))
    assert r.status_code == 200 and r.json()["outcome"] == "rejected"
    assert await _paid(sessions, order_id) == []


async def test_refund_is_verified_and_shown_on_its_order(yk, yk_api, fake, sessions, order_id):
    link = (await yk_api.post(f"/orders/{order_id}/payment-link", json={})).json()
    await yk.post(URL, json=notification("payment.succeeded", fake.succeed(link["payment_id"])))
    refund = {
        "id": "216749f7-0016-50be-b000-078d43a63ae4",
        "payment_id": link["payment_id"],
        "status": "succeeded",
        "amount": {"value": "1500.00", "currency": "RUB"},
        "created_at": "2026-03-03T07:00:00.000Z",
    }
    r = await yk.post(URL, json=notification("refund.succeeded", refund))
    assert r.status_code == 400  # ЮKassa does not know this refund
    fake.refunds[refund["id"]] = refund
    r = await yk.post(URL, json=notification("refund.succeeded", refund))
    assert r.status_code == 200 and r.json()["outcome"] == "registered"
    listed = (await yk_api.get("/payment-notifications", params={"order_id": order_id})).json()
    newest = listed["items"][0]
    assert (newest["event"], newest["outcome"]) == ("refund.succeeded", "registered")
    amounts = sorted(p.amount for p in await _paid(sessions, order_id))
    assert amounts == [Decimal("-1500.00"), Decimal("1500.00")]  # money back, once
    async with sessions() as s:
        assert (await s.get(Order, order_id)).paid_amount == 0
    r = await yk.post(URL, json=notification("refund.succeeded", refund))  # a retry
    assert r.json()["outcome"] == "duplicate" and len(await _paid(sessions, order_id)) == 2
    # A second refund of money no longer paid is kept, and changes nothing.
    more = {**refund, "id": "216749f7-0016-50be-b000-078d43a63ae5"}
    fake.refunds[more["id"]] = more
    r = await yk.post(URL, json=notification("refund.succeeded", more))
    assert r.status_code == 200 and r.json()["outcome"] == "rejected"
    assert len(await _paid(sessions, order_id)) == 2
