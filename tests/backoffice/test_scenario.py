"""The core issue's "done when", through the REST API as a script would do it:
create a lead, convert it with an order, add lines, post a payment (twice), and see
``paid_percent`` and the funnel move."""

from __future__ import annotations

from datetime import timedelta


async def test_lead_to_paid_order_moves_the_funnel(api, clock):
    day = clock.now().date().isoformat()
    funnel_url = f"/analytics/funnel?date_from={day}&date_to={day}"
    before = (await api.get(funnel_url)).json()
    assert before["count"] == 0

    product = await api.post(
        "/products",
        json={
            "sku": "ST-001",
            "name": "Стол «Дуб»",
            "kind": "goods",
            "unit": "шт",
            "prices": {"retail": "1250.00", "wholesale": "1000.00"},
            "stock": "5",
        },
    )
    assert product.status_code == 201, product.text
    product_id = product.json()["id"]

    lead = await api.post(
        "/leads",
        json={
            "name": "Анна Кузнецова",
            "phone": "8 (916) 123-45-67",
            "source": "api",
            "utm_source": "yandex",
        },
    )
    assert lead.status_code == 201, lead.text
    assert lead.json()["phones"] == ["+79161234567"]
    lead_id = lead.json()["id"]

    converted = await api.post(f"/leads/{lead_id}/convert", json={"create_order": True})
    assert converted.status_code == 200, converted.text
    order_id = converted.json()["order_id"]
    customer_id = converted.json()["customer_id"]
    assert order_id and customer_id

    again = await api.post(f"/leads/{lead_id}/convert", json={"create_order": True})
    assert again.status_code == 409

    due = (clock.now() + timedelta(days=7)).isoformat()
    patched = await api.patch(
        f"/orders/{order_id}",
        json={"lines": [{"product_id": product_id, "quantity": "2"}], "due_at": due},
    )
    assert patched.status_code == 200, patched.text
    order = patched.json()
    assert order["total"] == "2500.00"
    assert order["paid_percent"] == 0 and order["indicator"] == "on_time"

    payment = {"amount": "1000.00", "method": "card", "external_id": "psp-1"}
    first = await api.post(f"/orders/{order_id}/payments", json=payment)
    assert first.status_code == 201, first.text
    repeat = await api.post(f"/orders/{order_id}/payments", json=payment)
    assert repeat.status_code == 200 and repeat.json()["id"] == first.json()["id"]

    too_much = await api.post(
        f"/orders/{order_id}/payments", json={"amount": "1500.01", "method": "cash"}
    )
    assert too_much.status_code == 409

    order = (await api.get(f"/orders/{order_id}")).json()
    assert order["paid_amount"] == "1000.00" and order["paid_percent"] == 40

    after = (await api.get(funnel_url)).json()
    assert after["count"] == 1 and after["amount"] == "2500.00"
    stages = {s["stage"]: s["count"] for s in after["conversion"]}
    assert stages["leads"] == 1 and stages["converted"] == 1 and stages["ordered"] == 1
    assert stages["paid"] == 0

    rest = await api.post(
        f"/orders/{order_id}/payments",
        json={"amount": "1500.00", "method": "bank", "external_id": "psp-2"},
    )
    assert rest.status_code == 201
    order = (await api.get(f"/orders/{order_id}")).json()
    assert order["paid_percent"] == 100
    after = (await api.get(funnel_url)).json()
    assert {s["stage"]: s["count"] for s in after["conversion"]}["paid"] == 1

    history = (await api.get(f"/orders/{order_id}/history")).json()
    assert history["items"][0]["action"] == "created"
    assert history["items"][0]["actor_kind"] == "api_token"
