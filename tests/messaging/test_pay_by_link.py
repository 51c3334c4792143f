"""Pay by link: a letter or SMS names the order's pending online payment link."""

from __future__ import annotations

from decimal import Decimal

from crm_core.online_payments.service import record_online_payment
from crm_core.orders.service import register_payment
from messaging.templates import create_template, render_template
from tests.factories.commerce import make_order
from tests.factories.people import make_customer

SMS = (
    "Заказ {{ order.number }}: к оплате {{ order.left_to_pay | money }}"
    "{% if order.payment_url %}, ссылка: {{ order.payment_url }}{% endif %}"
)


async def _render(session, template_id, order):
    rendered = await render_template(
        session, template_id, customer_id=order.customer_id, order_id=order.id
    )
    return rendered.text


async def test_sms_carries_the_pending_link_and_what_is_left(session) -> None:
    customer = await make_customer(session, name="Ирина", phones=["+79161234567"])
    order = await make_order(session, customer=customer, total="1500.00")
    template = await create_template(session, kind="sms", name="Оплата", body=SMS)
    assert await _render(session, template.id, order) == (
        f"Заказ {order.number}: к оплате 1 500,00 ₽"
    )  # no link made yet: the sentence reads without it
    await register_payment(session, order.id, amount=Decimal("500.00"), method="cash")
    for n, status in ((1, "canceled"), (2, "pending")):
        await record_online_payment(
            session,
            provider="yookassa",
            payment_id=f"pay-{n}",
            order_id=order.id,
            amount=Decimal("1000.00"),
            currency="RUB",
            status=status,
            confirmation_url=f"https://yoomoney.ru/checkout/payments/v2/contract?orderId=pay-{n}",
            idempotence_key=f"k-{n}",
        )
    text = await _render(session, template.id, order)
    assert text == (
        f"Заказ {order.number}: к оплате 1 000,00 ₽, ссылка: "
        "https://yoomoney.ru/checkout/payments/v2/contract?orderId=pay-2"
    )  # the pending link, never the cancelled one
