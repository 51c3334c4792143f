"""Invoices over REST: create from an order, read, PDF."""

from __future__ import annotations

from tests.factories.commerce import make_buyer


async def test_invoice_and_pdf(api, uow):
    async with uow() as s:
        customer_id = (await make_buyer(s, legal_name="ООО «Покупатель»", inn="7701234567")).id
    r = await api.post(
        "/orders",
        json={
            "customer_id": customer_id,
            "lines": [{"name": "Работа", "quantity": 2, "price": 625}],
        },
    )
    order = r.json()
    r = await api.post(f"/orders/{order['id']}/invoices", json={})
    assert r.status_code == 201, r.text
    invoice = r.json()
    assert invoice["number"] == "СЧ-2026-000001" and invoice["total"] == "1250.00"
    assert invoice["status"] == "unpaid" and len(invoice["lines"]) == 1

    await api.post(
        f"/orders/{order['id']}/payments",
        json={"amount": "1250.00", "method": "bank", "invoice_id": invoice["id"]},
    )
    r = await api.get(f"/invoices/{invoice['id']}")
    assert r.status_code == 200 and r.json()["status"] == "paid"

    r = await api.get(f"/invoices/{invoice['id']}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert invoice["number"].encode("utf-16-be").hex().encode() in r.content

    assert (await api.get("/invoices/999999")).status_code == 404
    assert (await api.get("/invoices/999999.pdf")).status_code == 404
    r = await api.post(f"/orders/{order['id']}/invoices", json={})
    assert r.status_code == 409  # fully paid
