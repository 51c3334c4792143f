"""Fixtures of the bot tests: the fake Bot API server, the real bot pointed at it,
catalog data made through the core's services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.config import BotConfig
from bot.runtime import BotRuntime
from crm_core.catalog.service import create_group, create_product
from tests.bot.fake_telegram import FakeTelegram
from tests.bot.people import TgUser

SECRET = "s3cret-token"
PROVIDER = "284685063:TEST:provider"


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    yield fake
    await fake.stop()


@pytest.fixture
def sleeps(clock) -> list[float]:
    return []


def bot_config(fake: FakeTelegram, **overrides) -> BotConfig:
    values = {
        "token": fake.token,
        "api_url": fake.url,
        "webhook_secret": SECRET,
        "public_url": "http://127.0.0.1:9",
        "payment_provider_token": PROVIDER,
    }
    return BotConfig(**(values | overrides))


@pytest.fixture
async def telegram(fake_tg, sessions, clock, sleeps) -> AsyncIterator[BotRuntime]:
    """The real aiogram bot and dispatcher; 429 waits advance the test clock instead."""

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    runtime = BotRuntime.build(bot_config(fake_tg), sessions, clock=clock, sleep=sleep)
    yield runtime
    await runtime.close()


@pytest.fixture
def ivan(fake_tg) -> TgUser:
    return TgUser(fake_tg, 700001, "Иван")


@pytest.fixture
def mallory(fake_tg) -> TgUser:
    return TgUser(fake_tg, 700666, "Mallory", language_code="en")


@pytest.fixture
async def shop(uow) -> dict[str, int]:
    """A small catalog: two groups, three priced goods (one with a photo)."""
    async with uow() as s:
        tools = await create_group(s, name="Инструмент")
        paint = await create_group(s, name="Краска")
        drill = await create_product(
            s,
            name="Дрель",
            sku="DR-1",
            group_id=tools.id,
            description="Ударная дрель 800 Вт",
            prices={"retail": Decimal("4990.00")},
            stock=Decimal(7),
        )
        saw = await create_product(
            s,
            name="Пила",
            sku="SAW-1",
            group_id=tools.id,
            image_url="https://example.com/saw.jpg",
            prices={"retail": Decimal("1500.50")},
            stock=Decimal(3),
        )
        white = await create_product(
            s, name="Белая краска", sku="P-1", group_id=paint.id, prices={"retail": "350.00"}
        )
        return {
            "tools": tools.id,
            "paint": paint.id,
            "drill": drill.id,
            "saw": saw.id,
            "white": white.id,
        }
