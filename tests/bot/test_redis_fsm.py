"""FSM storage in Redis (FIRMA_REDIS_URL): a checkout begun on one bot process goes on
on another, as behind a load balancer or after a restart. Needs Redis at 127.0.0.1:6379."""

from __future__ import annotations

import secrets

import pytest
import redis.asyncio as redis

from bot.runtime import BotRuntime
from crm_core.customers.service import create_customer
from crm_core.models import Order
from tests.bot.conftest import bot_config
from tests.bot.people import TgUser

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError):
        await client.aclose()
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield client
    await client.aclose()


async def test_a_checkout_survives_a_move_to_another_process(
    fake_tg, sessions, clock, shop, uow, redis_client
):
    # A fresh Telegram id per run: the keys of other runs (and people) are not touched.
    buyer = TgUser(fake_tg, 900_000_000 + secrets.randbelow(10**8), "Ольга")
    async with uow() as s:
        await create_customer(s, name="Ольга", telegram_id=buyer.id)
    config = bot_config(fake_tg, redis_url=REDIS_URL)

    first = BotRuntime.build(config, sessions, clock=clock)
    try:
        await first.feed(buyer.taps(f"ca:{shop['drill']}:1:p"))
        await first.feed(buyer.taps("c:checkout"))
        await first.feed(buyer.taps("co:delivery"))
        assert "адрес" in fake_tg.last("sendMessage", buyer.id).text
    finally:
        await first.close()
    keys = [k.decode() async for k in redis_client.scan_iter(f"fsm:*{buyer.id}*")]
    assert keys, "the FSM state is not in Redis"
    try:
        states = [await redis_client.get(k) for k in keys if k.endswith(":state")]
        assert states == [b"Checkout:address"]
        second = BotRuntime.build(config, sessions, clock=clock)
        try:
            await second.feed(buyer.says("Тверь, ул. Советская, 1"))
            assert "Комментарий" in fake_tg.last("sendMessage", buyer.id).text
            await second.feed(buyer.taps("co:skip_comment"))
            summary = fake_tg.last("sendMessage", buyer.id)
            assert "Тверь, ул. Советская, 1" in summary.text
            await second.feed(buyer.taps("co:confirm"))
        finally:
            await second.close()
        async with uow() as s:
            order = await s.scalar(
                Order.__table__.select().with_only_columns(Order.delivery_address)
            )
        assert order == "Тверь, ул. Советская, 1"
    finally:
        await redis_client.delete(*keys)
