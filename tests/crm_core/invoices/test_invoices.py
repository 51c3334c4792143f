"""Invoices from orders: numbering, lines, remainders, paid status, PDF."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.errors import Conflict, ValidationFailed
from crm_core.invoices.firm import get_firm, set_firm
from crm_core.invoices.pdf import render_invoice_pdf
from crm_core.invoices.service import create_invoice, get_invoice, invoice_paid, list_invoices
from crm_core.models import Customer, OutboxEvent
from crm_core.orders.service import LineInput, change_order_state, get_order, register_payment
from tests.factories.commerce import make_order, make_product

D = Decimal


async def _order(session):
    product = await make_product(session, price="1200.00", vat_rate=20)
    order = await make_order(
        session,
        lines=[LineInput(product.id, D(2)), LineInput(None, D(1), D("100.00"), name="Доставка")],
    )
    return await get_order(session, order.id)


async def test_invoice_copies_the_lines(session, clock):
    order = await _order(session)
    invoice = await create_invoice(session, order.id, due_at=clock.now() + timedelta(days=5))
    invoice = await get_invoice(session, invoice.id)
    assert invoice.number == "СЧ-2026-000001"
    assert [(x.name, x.amount) for x in invoice.lines] == [
        (order.lines[0].name, D("2400.00")),
        ("Доставка", D("100.00")),
    ]
    assert (invoice.total, invoice.vat_amount) == (D("2500.00"), D("400.00"))
    second = await create_invoice(session, order.id)
    assert second.number == "СЧ-2026-000002"
    items, total = await list_invoices(session, order.id)
    assert total == 2 and [i.id for i in items] == [invoice.id, second.id]
    # In id order: without one, PostgreSQL may return the rows in any order (a new row
    # can take the heap space a deleted one left), which made this test flaky.
    events = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == "invoice.created").order_by(OutboxEvent.id)
    )
    assert [e.payload["number"] for e in events] == ["СЧ-2026-000001", "СЧ-2026-000002"]


async def test_invoice_for_the_rest_and_a_prepayment(session):
    order = await _order(session)
    prepay = await create_invoice(session, order.id, amount=D("1000.00"))
    assert prepay.total == D("1000.00") and prepay.lines[0].name.startswith("Предоплата")
    assert prepay.vat_amount == D("160.00")  # 400 × 1000 / 2500
    await register_payment(
        session, order.id, amount=D("1000.00"), method="bank", invoice_id=prepay.id
    )
    rest = await create_invoice(session, order.id)
    assert rest.total == D("1500.00") and rest.lines[0].name.startswith("Доплата")
    with pytest.raises(Conflict):
        await create_invoice(session, order.id, amount=D("1500.01"))
    with pytest.raises(ValidationFailed):
        await create_invoice(session, order.id, amount=D("0"))


async def test_paid_status(session):
    order = await _order(session)
    invoice = await create_invoice(session, order.id)
    assert (await invoice_paid(session, invoice)).status == "unpaid"
    await register_payment(session, order.id, amount=D(500), method="bank", invoice_id=invoice.id)
    paid = await invoice_paid(session, invoice)
    assert (paid.status, paid.paid_amount) == ("partially_paid", D("500.00"))
    await register_payment(session, order.id, amount=D(2000), method="cash")  # not linked
    assert (await invoice_paid(session, invoice)).status == "paid"  # the order is fully paid


async def test_no_invoice_for_cancelled_or_fully_paid(session):
    order = await _order(session)
    await register_payment(session, order.id, amount=D("2500.00"), method="bank")
    with pytest.raises(Conflict):
        await create_invoice(session, order.id)
    other = await make_order(session)
    await change_order_state(session, other.id, state_code="cancelled")
    with pytest.raises(Conflict):
        await create_invoice(session, other.id)
    third = await make_order(session)
    with pytest.raises(ValidationFailed):
        await register_payment(session, third.id, amount=D(1), method="cash", invoice_id=10**6)


async def test_firm_requisites(session):
    assert (await get_firm(session))["inn"] == ""
    await set_firm(session, {"name": "ООО «Ромашка»", "inn": "7701234567", "bik": "044525225"})
    await set_firm(session, {"phone": "+7 495 000-00-00"})
    firm = await get_firm(session)
    assert (firm["name"], firm["inn"], firm["phone"]) == (
        "ООО «Ромашка»",
        "7701234567",
        "+7 495 000-00-00",
    )
    with pytest.raises(ValidationFailed):
        await set_firm(session, {"inn": "12345"})
    with pytest.raises(ValidationFailed):
        await set_firm(session, {"ogrn": "1"})


async def test_pdf(session):
    order = await _order(session)
    invoice = await get_invoice(session, (await create_invoice(session, order.id)).id)
    customer = await session.get(Customer, order.customer_id)
    firm = {"name": "ООО «Ромашка»", "inn": "7701234567", "bank": "ПАО Сбербанк"}
    pdf = render_invoice_pdf(invoice, order, customer, firm)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 5000  # the embedded font subset alone is bigger
    # The number is in the document title (PDF text strings are UTF-16BE with a BOM).
    assert invoice.number.encode("utf-16-be").hex().encode() in pdf
