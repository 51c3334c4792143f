"""Refunds reach people: the customer linked to Telegram gets one short push per
(event, chat), the responsible manager a notification through the staff queue."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.notify import bot_subscribers
from bot.staff_orders import staff_order_subscribers
from crm_core.cart.pushes import push_statuses
from crm_core.cart.telegram import set_language
from crm_core.customers.service import create_customer
from crm_core.models import OutboxEvent
from crm_core.orders.payments import register_payment, register_refund
from crm_core.outbox import OutboxRelay
from crm_core.outbox.service import DEFAULT_LEASE
from firma.worker import merge_subscribers
from tests.bot.people import TgUser
from tests.bot.staff_helpers import OFFICE, bind_manager, drain, staff_sender
from tests.factories.commerce import make_order


def worker(telegram, sessions, clock, *extra) -> OutboxRelay:
    """The worker as ``firma/worker.py`` wires it: customer pushes and the staff queue."""
    subs = merge_subscribers(
        bot_subscribers(telegram.bot, sessions, clock=clock),
        staff_order_subscribers(sessions, office_url=OFFICE, clock=clock),
        *extra,
    )
    return OutboxRelay(sessions, subs, clock=clock)


async def paid_order(uow, *, telegram_id: int | None, responsible_id: int | None = None):
    async with uow() as s:
        customer = await create_customer(
            s, name="Иван Петров", telegram_id=telegram_id, responsible_id=responsible_id
        )
        order = await make_order(
            s, customer=customer, total="2000.00", responsible_id=responsible_id
        )
        await register_payment(s, order.id, amount=Decimal("2000.00"), method="card")
    return customer, order


async def refund_events(uow) -> list[int]:
    async with uow() as s:
        rows = await s.scalars(
            select(OutboxEvent.id).where(OutboxEvent.topic == "payment.refunded")
        )
        return list(rows)


async def test_a_refund_is_pushed_to_the_customer_and_told_to_the_manager(
    telegram, fake_tg, ivan, uow, sessions, clock
):
    anna, boris = TgUser(fake_tg, 800001, "Anna"), TgUser(fake_tg, 800002, "Boris")
    anna_id = await bind_manager(telegram, uow, anna, name="Anna", email="a@firm.ru", language="en")
    await bind_manager(telegram, uow, boris, name="Boris", email="b@firm.ru", language="en")
    _, order = await paid_order(uow, telegram_id=ivan.id, responsible_id=anna_id)
    relay, sender = worker(telegram, sessions, clock), staff_sender(telegram, sessions, clock)
    await drain(relay, sender)
    pushes_before = len(fake_tg.of("sendMessage", ivan.id))
    boris_before = len(fake_tg.of("sendMessage", boris.id))

    async with uow() as s:
        await register_refund(s, order.id, amount=Decimal("1250.00"), external_id="r-1")
        # The provider's notification again: the same refund, no second event.
        await register_refund(s, order.id, amount=Decimal("1250.00"), external_id="r-1")
    await drain(relay, sender)

    pushes = fake_tg.of("sendMessage", ivan.id)[pushes_before:]
    assert [p.text for p in pushes] == [f"Возврат 1 250.00 ₽ по заказу № {order.number}."]
    note = fake_tg.last("sendMessage", anna.id)
    assert f"↩️ Refund 1 250.00 ₽ for order {order.number}" in note.text
    assert "paid 37%" in note.text  # 750 of 2 000 left paid
    assert f"{OFFICE}/office/orders/{order.id}" in note.text
    # The responsible is reachable: the rest of the team is not bothered.
    assert len(fake_tg.of("sendMessage", boris.id)) == boris_before
    [event_id] = await refund_events(uow)
    async with uow() as s:
        assert await push_statuses(s, event_id) == {ivan.id: "sent"}


class Killed(BaseException):
    """The worker process dies right after the push went out."""


async def test_a_refund_handed_over_again_is_not_pushed_twice(
    telegram, fake_tg, ivan, uow, sessions, clock
):
    _, order = await paid_order(uow, telegram_id=ivan.id)
    await drain(worker(telegram, sessions, clock))
    async with uow() as s:
        await set_language(s, ivan.id, "en")  # /language en: the push follows it
        await register_refund(s, order.id, amount=Decimal("2000.00"))
    before = len(fake_tg.of("sendMessage", ivan.id))

    async def die(_event) -> None:
        raise Killed

    with pytest.raises(Killed):
        await worker(telegram, sessions, clock, {"payment.refunded": [die]}).run_once()
    assert len(fake_tg.of("sendMessage", ivan.id)) == before + 1
    clock.advance(DEFAULT_LEASE + timedelta(seconds=1))
    await drain(worker(telegram, sessions, clock))  # another worker takes the event over
    pushes = fake_tg.of("sendMessage", ivan.id)[before:]
    assert [p.text for p in pushes] == [f"Refund of 2 000.00 ₽ for order {order.number}."]


async def test_no_push_without_telegram_or_when_unreachable(
    telegram, fake_tg, ivan, mallory, uow, sessions, clock
):
    from crm_core.cart.telegram import set_telegram_unreachable

    _, silent = await paid_order(uow, telegram_id=None)
    _, blocked = await paid_order(uow, telegram_id=mallory.id)
    async with uow() as s:
        await set_telegram_unreachable(s, mallory.id)
        await register_refund(s, silent.id, amount=Decimal("10.00"))
        await register_refund(s, blocked.id, amount=Decimal("10.00"))
    relay = worker(telegram, sessions, clock)
    await drain(relay)
    assert not fake_tg.of("sendMessage")
    async with uow() as s:
        failed = await s.scalar(
            select(func.count()).where(
                OutboxEvent.topic == "payment.refunded", OutboxEvent.status != "done"
            )
        )
    assert failed == 0  # nothing to send is not a failure to retry


async def test_a_forged_refund_event_changes_nothing(telegram, fake_tg, ivan, uow, sessions, clock):
    """An event without a customer (or a customer id of nobody) pushes nothing, no crash."""
    from crm_core.outbox.service import emit

    await paid_order(uow, telegram_id=ivan.id)
    await drain(worker(telegram, sessions, clock))
    before = len(fake_tg.of("sendMessage", ivan.id))
    async with uow() as s:
        base = {"number": "ЗК-X", "amount": "1.00", "paid_percent": 0}
        emit(s, "payment.refunded", base | {"customer_id": None, "order_id": None})
        emit(s, "payment.refunded", base | {"customer_id": 987654, "order_id": None})
    await drain(worker(telegram, sessions, clock))
    assert len(fake_tg.of("sendMessage", ivan.id)) == before
    async with uow() as s:
        statuses = await s.scalars(
            select(OutboxEvent.status).where(OutboxEvent.topic == "payment.refunded")
        )
        assert set(statuses) == {"done"}
