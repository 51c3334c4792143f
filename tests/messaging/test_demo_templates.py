"""The demo firm's starter templates pass the sandbox and render for a real customer:
the offer and the contract with the order's lines as a table (and as a PDF with the
firm's requisites), the letter, the SMS in one part, the Telegram message."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm_core.customers.persons import create_contact_person
from crm_core.demo.data import FIRM
from crm_core.demo.templates import STARTERS, add_templates
from crm_core.invoices.firm import set_firm
from crm_core.models import Template
from crm_core.orders.service import LineInput
from messaging.documents import render_document_pdf
from messaging.sms import count_segments
from messaging.templates import create_template, render_template
from tests.factories.commerce import make_order
from tests.factories.people import make_customer


async def _firm_and_order(session):
    await set_firm(session, FIRM)
    customer = await make_customer(
        session, name="Кафе «Ромашка»", kind="company", inn="7707083893", phones=["+79161234567"]
    )
    await create_contact_person(session, customer.id, name="Анна Смирнова", position="директор")
    order = await make_order(
        session,
        customer=customer,
        lines=[
            LineInput(None, Decimal(2), Decimal("12500.00"), name="Диван «Осло»"),
            LineInput(None, Decimal(1), Decimal("1500.00"), name="Доставка"),
        ],
    )
    return customer, order


async def test_starters_are_added_once_and_pass_the_sandbox(session) -> None:
    await add_templates(session)
    await add_templates(session)  # a second load adds nothing
    rows = list(await session.scalars(select(Template).order_by(Template.id)))
    assert [(t.kind, t.name) for t in rows] == [(k, n) for k, n, _s, _b in STARTERS]
    for kind, name, subject, body in STARTERS:  # what the API would refuse, refused here
        await create_template(session, kind=kind, name=f"{name} 2", subject=subject, body=body)


async def test_the_offer_and_contract_carry_the_lines_and_make_a_pdf(session) -> None:
    await add_templates(session)
    customer, order = await _firm_and_order(session)
    by_kind = {t.kind: t for t in await session.scalars(select(Template))}
    offer = await render_template(
        session, by_kind["offer"].id, customer_id=customer.id, order_id=order.id
    )
    assert offer.subject == f"Коммерческое предложение к заказу № {order.number} — {FIRM['name']}"
    assert "Здравствуйте, Анна Смирнова!" in offer.html
    assert "<td>Диван «Осло»</td>" in offer.html
    assert ">25 000,00 ₽</td>" in offer.html and "Итого: 26 500,00 ₽" in offer.html
    assert "Двадцать шесть тысяч пятьсот рублей 00 копеек" in offer.html
    contract = await render_template(
        session, by_kind["contract"].id, customer_id=customer.id, order_id=order.id
    )
    assert f"Договор поставки № {order.number}" in contract.html
    assert "(ИНН 7707083893)" in contract.html and "Итого: 26 500,00 ₽" in contract.html
    for rendered in (offer, contract):
        pdf = render_document_pdf("Документ", rendered.html, FIRM)
        assert pdf.startswith(b"%PDF") and len(pdf) > 5000


async def test_the_letter_sms_and_telegram_render(session) -> None:
    await add_templates(session)
    customer, order = await _firm_and_order(session)
    by_kind = {t.kind: t for t in await session.scalars(select(Template))}
    letter = await render_template(
        session, by_kind["letter"].id, customer_id=customer.id, order_id=order.id
    )
    assert letter.subject == f"Ваш заказ № {order.number}"
    assert "Здравствуйте, Анна Смирнова!" in letter.html and "К оплате: 26 500,00 ₽" in letter.text
    sms = await render_template(
        session, by_kind["sms"].id, customer_id=customer.id, order_id=order.id
    )
    assert sms.text.startswith("Кафе «Ромашка», ваш заказ № ")
    assert count_segments(sms.text).count <= 2
    telegram = await render_template(session, by_kind["telegram"].id, customer_id=customer.id)
    assert "Кафе «Ромашка»" in telegram.text and "/catalog" in telegram.text
