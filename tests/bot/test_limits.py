"""Telegram's 429 and 403, the pay button without a provider, a cart that outlives
the process."""

from __future__ import annotations

from sqlalchemy import select

from bot.notify import bot_subscribers
from bot.runtime import BotRuntime
from crm_core.customers.service import create_customer
from crm_core.models import Customer
from crm_core.outbox import ClaimedEvent
from tests.bot.conftest import bot_config
from tests.factories.commerce import make_order


async def test_429_is_waited_out_and_retried(telegram, fake_tg, ivan, sleeps, clock):
    started = clock.now()
    fake_tg.fail("sendMessage", status=429, retry_after=3, times=2)
    await telegram.feed(ivan.says("/help"))
    attempts = [c.status for c in fake_tg.calls if c.method == "sendMessage"]
    assert attempts == [429, 429, 200]
    assert sleeps == [3, 3]
    assert (clock.now() - started).total_seconds() == 6


async def test_403_marks_the_customer_unreachable_once(telegram, fake_tg, ivan, uow, sessions):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
    fake_tg.fail("sendMessage", status=403, chat_id=ivan.id, times=5)
    await telegram.feed(ivan.says("/help"))  # answered with an error: no crash
    await telegram.limits.drain()
    assert [c.status for c in fake_tg.calls if c.method == "sendMessage"] == [403]
    async with uow() as s:
        assert (await s.get(Customer, customer.id)).telegram_unreachable is True

    # A status push to an unreachable customer is not even tried.
    subscribers = bot_subscribers(telegram.bot, sessions)
    payload = {"customer_id": customer.id, "number": "1", "to_state_name": "В работе"}
    event = ClaimedEvent(1, "order.state_changed", payload, 0, clock_now())
    await subscribers["order.state_changed"][0](event)
    assert len([c for c in fake_tg.calls if c.method == "sendMessage"]) == 1


def clock_now():
    from tests.conftest import START

    return START


async def test_no_pay_button_without_a_provider(fake_tg, sessions, clock, ivan, uow):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer)
    runtime = BotRuntime.build(
        bot_config(fake_tg, payment_provider_token=None), sessions, clock=clock
    )
    try:
        await runtime.feed(ivan.taps(f"o:{order.id}:card"))
        card = fake_tg.last("editMessageText", ivan.id)
        assert not [b for b in card.buttons() if b["text"].startswith("💳")]
        await runtime.feed(ivan.taps(f"o:{order.id}:pay"))
        assert not fake_tg.of("sendInvoice")
    finally:
        await runtime.close()


async def test_the_cart_survives_a_restart(fake_tg, sessions, clock, ivan, shop, uow):
    first = BotRuntime.build(bot_config(fake_tg), sessions, clock=clock)
    await first.feed(ivan.taps(f"ca:{shop['drill']}:1:p"))
    await first.feed(ivan.taps(f"ca:{shop['white']}:1:p"))
    await first.feed(ivan.taps(f"ca:{shop['white']}:-1:p"))
    await first.close()
    second = BotRuntime.build(bot_config(fake_tg), sessions, clock=clock)
    try:
        await second.feed(ivan.says("/cart"))
        text = fake_tg.last("sendMessage", ivan.id).text
    finally:
        await second.close()
    assert "Дрель × 1 = 4 990.00 ₽" in text and "краска" not in text
    async with uow() as s:
        assert not (await s.scalars(select(Customer))).all()  # browsing links nobody
