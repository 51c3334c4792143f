"""Telegram Payments edge cases: money Telegram took that the core cannot take is never
lost — kept once per charge, the customer told, the managers alerted via the outbox."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm_core.customers.service import create_customer
from crm_core.models import OutboxEvent, Payment, TelegramCharge
from crm_core.orders.service import change_order_state, get_order, paid_percent
from tests.factories.commerce import make_order


async def _order(uow, ivan, total: str = "1000.00"):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer, total=total)
    return customer.id, order.id


async def _charges(uow):
    async with uow() as s:
        charges = (await s.scalars(select(TelegramCharge).order_by(TelegramCharge.id))).all()
        alerts = (
            await s.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == "payment.needs_attention")
            )
        ).all()
        payments = (await s.scalars(select(Payment))).all()
    return charges, alerts, payments


async def test_a_charge_for_an_order_closed_after_the_invoice_is_kept(telegram, fake_tg, ivan, uow):
    customer_id, order_id = await _order(uow, ivan)
    payload = f"order:{order_id}"
    await telegram.feed(ivan.pre_checkout(payload, 100000))
    assert fake_tg.last("answerPreCheckoutQuery").params["ok"] is True
    async with uow() as s:  # a manager cancels it between pre-checkout and the charge
        await change_order_state(s, order_id, state_code="cancelled")

    await telegram.feed(ivan.paid(payload, 100000, "ch-closed"))
    await telegram.feed(ivan.paid(payload, 100000, "ch-closed"))  # redelivered: still once

    charges, alerts, payments = await _charges(uow)
    assert not payments
    assert [(c.charge_id, c.status, c.order_id, c.amount) for c in charges] == [
        ("ch-closed", "needs_attention", order_id, Decimal("1000.00"))
    ]
    assert "no longer payable" in charges[0].reason
    assert len(alerts) == 1
    alert = alerts[0].payload
    assert alert["order_id"] == order_id and alert["customer_id"] == customer_id
    assert alert["amount"] == "1000.00" and alert["telegram_id"] == ivan.id
    told = [c.text for c in fake_tg.of("sendMessage", ivan.id)]
    assert len(told) == 2 and all("менеджер разберётся" in t for t in told)


async def test_an_amount_that_no_longer_matches_is_not_registered(telegram, fake_tg, ivan, uow):
    _customer_id, order_id = await _order(uow, ivan, total="500.00")
    await telegram.feed(ivan.paid(f"order:{order_id}", 45000, "ch-short"))
    charges, alerts, payments = await _charges(uow)
    assert not payments
    assert charges[0].status == "needs_attention" and "450.00" in charges[0].reason
    assert alerts[0].payload["reason"] == charges[0].reason
    async with uow() as s:
        assert paid_percent(await get_order(s, order_id)) == 0


async def test_someone_elses_order_in_the_payload_is_kept_not_paid(
    telegram, fake_tg, ivan, mallory, uow
):
    _customer_id, order_id = await _order(uow, ivan)
    await telegram.feed(mallory.paid(f"order:{order_id}", 100000, "ch-foreign"))
    await telegram.feed(mallory.paid("garbage' OR 1=1", 100, "ch-garbage"))
    charges, alerts, payments = await _charges(uow)
    assert not payments
    assert [(c.charge_id, c.order_id, c.telegram_id) for c in charges] == [
        ("ch-foreign", None, mallory.id),
        ("ch-garbage", None, mallory.id),
    ]
    assert len(alerts) == 2
    assert "could not apply it" in fake_tg.last("sendMessage", mallory.id).text
    assert not fake_tg.of("sendMessage", ivan.id)


async def test_a_good_charge_is_registered_once_and_recorded(telegram, fake_tg, ivan, uow):
    _customer_id, order_id = await _order(uow, ivan)
    for _ in range(2):
        await telegram.feed(ivan.paid(f"order:{order_id}", 100000, "ch-good"))
    charges, alerts, payments = await _charges(uow)
    assert len(payments) == 1 and payments[0].external_id == "telegram:ch-good"
    assert [(c.status, c.payment_id) for c in charges] == [("registered", payments[0].id)]
    assert not alerts
    assert all("получена" in c.text for c in fake_tg.of("sendMessage", ivan.id))
