"""Order status pushes through the real outbox relay: one message per (event, chat),
also when a worker dies before marking its batch done and another one takes it over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.notify import bot_subscribers
from bot.runtime import close_bot
from crm_core.cart.pushes import push_statuses
from crm_core.customers.service import create_customer
from crm_core.models import OutboxEvent
from crm_core.orders.service import change_order_state
from crm_core.outbox import OutboxRelay
from crm_core.outbox.service import DEFAULT_LEASE
from firma.app import Runtime
from firma.settings import Settings
from firma.worker import build_relay
from tests.factories.commerce import make_order


def relay(telegram, sessions, clock) -> OutboxRelay:
    """A worker process: the relay with the bot's subscribers."""
    subs = bot_subscribers(telegram.bot, sessions, clock=clock)
    return OutboxRelay(sessions, subs, clock=clock)


async def _moved_order(uow, ivan) -> int:
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer)
    async with uow() as s:
        await change_order_state(s, order.id, state_code="in_work")
    async with uow() as s:
        return await s.scalar(
            select(OutboxEvent.id).where(OutboxEvent.topic == "order.state_changed")
        )


class Killed(BaseException):
    """The process dies (SIGKILL) right after the push went out."""


async def test_a_restarted_worker_does_not_push_twice(
    telegram, fake_tg, ivan, uow, sessions, clock
):
    event_id = await _moved_order(uow, ivan)
    subs = bot_subscribers(telegram.bot, sessions, clock=clock)

    async def die(_event) -> None:
        raise Killed

    first = OutboxRelay(
        sessions, {"order.state_changed": [*subs["order.state_changed"], die]}, clock=clock
    )
    with pytest.raises(Killed):
        await first.run_once()  # pushed, then died before marking the event done
    assert len(fake_tg.of("sendMessage", ivan.id)) == 1

    clock.advance(DEFAULT_LEASE + timedelta(seconds=1))  # its lease runs out
    second = relay(telegram, sessions, clock)
    assert await second.run_once() > 0  # the event is handed over again...
    assert len(fake_tg.of("sendMessage", ivan.id)) == 1  # ...and pushes nothing twice
    assert "новый статус — В работе" in fake_tg.last("sendMessage", ivan.id).text
    async with uow() as s:
        assert await push_statuses(s, event_id) == {ivan.id: "sent"}
        event = await s.get(OutboxEvent, event_id)
        assert (event.status, event.attempts) == ("done", 2)


async def test_a_failed_send_is_retried_with_the_event(
    telegram, fake_tg, ivan, uow, sessions, clock
):
    event_id = await _moved_order(uow, ivan)
    fake_tg.fail("sendMessage", status=500, chat_id=ivan.id)
    worker = relay(telegram, sessions, clock)
    await worker.run_once()
    await worker.run_once()  # settles the failure: retried later
    assert not fake_tg.of("sendMessage", ivan.id)
    clock.advance(timedelta(minutes=10))
    while await worker.run_once():
        pass
    assert len(fake_tg.of("sendMessage", ivan.id)) == 1
    async with uow() as s:
        assert await push_statuses(s, event_id) == {ivan.id: "sent"}


async def test_a_blocked_chat_is_not_retried(telegram, fake_tg, ivan, uow, sessions, clock):
    event_id = await _moved_order(uow, ivan)
    fake_tg.fail("sendMessage", status=403, chat_id=ivan.id, times=5)
    worker = relay(telegram, sessions, clock)
    while await worker.run_once():
        pass
    await telegram.limits.drain()
    attempts = [c for c in fake_tg.calls if c.method == "sendMessage"]
    assert len(attempts) == 1 and attempts[0].status == 403
    async with uow() as s:
        assert await push_statuses(s, event_id) == {ivan.id: "blocked"}


async def test_the_worker_closes_its_bot_sessions(engine, sessions, clock, fake_tg, ivan, uow):
    """``firma worker`` stopping: the bots it opened for pushes end their HTTP sessions."""
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        telegram_bot_token=fake_tg.token,
        telegram_api_url=fake_tg.url,
    )
    runtime = Runtime(settings=settings, engine=engine, sessions=sessions, clock=clock)
    await _moved_order(uow, ivan)
    worker = build_relay(runtime)
    while await worker.run_once():
        pass
    assert len(fake_tg.of("sendMessage", ivan.id)) == 1  # the push went over HTTP
    bots = [c.args[0] for c in runtime.closers if getattr(c, "func", None) is close_bot]
    assert bots and all(b.session._session is not None for b in bots[:1])
    await runtime.aclose()
    assert not runtime.closers
    assert all(b.session._session is None or b.session._session.closed for b in bots)
