"""The bot's short-lived caches: browsing skips the identity and price-kind queries,
a change made elsewhere shows within the TTL, and at once in every update that acts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from bot.cache import IDENTITY_TTL, TtlCache
from bot.middlewares import identity_may_be_cached
from crm_core.catalog.groups import create_price_kind
from crm_core.catalog.service import update_product
from crm_core.customers.service import create_customer
from tests.factories.commerce import make_order


class Statements:
    """Counts the SQL statements the bot's engine runs."""

    def __init__(self, engine) -> None:
        self.n = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)
        self.engine = engine

    def _count(self, *_args) -> None:
        self.n += 1

    def close(self) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._count)


def shown(call) -> str:
    """A message's text and its buttons' labels."""
    return "\n".join([call.text, *(b["text"] for b in call.buttons())])


@pytest.fixture
def statements(engine):
    counter = Statements(engine)
    yield counter
    counter.close()


async def test_browsing_reuses_who_is_writing(telegram, fake_tg, ivan, shop, statements):
    await telegram.feed(ivan.says("/catalog"))
    first = statements.n
    await telegram.feed(ivan.says("/catalog"))
    second = statements.n - first
    assert second == first - 1  # the same reads but the identity query
    assert fake_tg.last("sendMessage", ivan.id).text == "Каталог: выберите раздел."


async def test_a_link_made_elsewhere_shows_within_the_ttl_and_at_once_when_acting(
    telegram, fake_tg, ivan, uow, clock
):
    await telegram.feed(ivan.says("/orders"))
    assert fake_tg.last("sendMessage", ivan.id).text == "Заказов пока нет."
    async with uow() as s:  # the back office links Ivan meanwhile
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer)

    await telegram.feed(ivan.says("/orders"))  # browsing: the cached "nobody"
    assert fake_tg.last("sendMessage", ivan.id).text == "Заказов пока нет."
    clock.advance(timedelta(seconds=IDENTITY_TTL + 1))
    await telegram.feed(ivan.says("/orders"))
    assert order.number in shown(fake_tg.last("sendMessage", ivan.id))


async def test_an_update_that_links_the_user_drops_the_cached_entry(telegram, fake_tg, ivan, uow):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", phones=["+79161234567"])
        order = await make_order(s, customer=customer)
    await telegram.feed(ivan.says("/orders"))  # "nobody", cached
    assert fake_tg.last("sendMessage", ivan.id).text == "Заказов пока нет."
    await telegram.feed(ivan.shares("79161234567"))  # links Ivan to the customer
    await telegram.feed(ivan.says("/orders"))  # right away, no clock moved
    assert order.number in shown(fake_tg.last("sendMessage", ivan.id))


async def test_another_users_cache_entry_is_never_used(telegram, fake_tg, ivan, mallory, uow):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer)
    await telegram.feed(ivan.says("/orders"))
    assert order.number in shown(fake_tg.last("sendMessage", ivan.id))
    await telegram.feed(mallory.says("/orders"))
    await telegram.feed(mallory.taps(f"o:{order.id}:card"))
    mallory_saw = fake_tg.replies(mallory.id)
    assert mallory_saw
    assert all(order.number not in shown(c) for c in mallory_saw)


async def test_a_managers_price_stock_and_default_kind_show_at_once(
    telegram, fake_tg, ivan, shop, uow
):
    """Nothing of the catalog is cached: no clock moves between the change and the update."""
    await telegram.feed(ivan.taps(f"p:{shop['drill']}"))
    card = fake_tg.last("sendMessage", ivan.id).text
    assert "4 990.00 ₽" in card
    async with uow() as s:
        await update_product(s, shop["drill"], prices={"retail": Decimal("4500.00")}, stock=3)
    await telegram.feed(ivan.taps(f"p:{shop['drill']}"))
    card = fake_tg.last("sendMessage", ivan.id).text
    assert "4 500.00 ₽" in card and "В наличии: 3 шт" in card
    async with uow() as s:
        await create_price_kind(s, code="promo", name="Акция", is_default=True)
        await update_product(s, shop["drill"], prices={"promo": Decimal("3990.00")})
    await telegram.feed(ivan.taps(f"p:{shop['drill']}"))
    assert "3 990.00 ₽" in fake_tg.last("sendMessage", ivan.id).text
    await telegram.feed(ivan.taps(f"g:{shop['tools']}:0"))
    assert "3 990.00 ₽" in shown(fake_tg.last("editMessageText", ivan.id))


def test_which_updates_may_use_the_cached_identity(fake_tg, ivan):
    from aiogram.types import Update

    def update(raw: dict) -> Update:
        return Update.model_validate(raw)

    assert identity_may_be_cached(update(ivan.says("/catalog")))
    assert identity_may_be_cached(update(ivan.taps("p:5")))
    assert identity_may_be_cached(update(ivan.taps("ca:5:1:p")))
    assert identity_may_be_cached(update(ivan.taps("ca:5:-1:c")))
    assert not identity_may_be_cached(update(ivan.taps("ca:5:7:p")))  # forged delta
    assert not identity_may_be_cached(update(ivan.taps("ca:5:1:p:extra")))
    assert not identity_may_be_cached(update(ivan.says("/start")))
    assert not identity_may_be_cached(update(ivan.says("hello")))
    assert not identity_may_be_cached(update(ivan.shares("+79161234567")))
    assert not identity_may_be_cached(update(ivan.taps("c:checkout")))
    assert not identity_may_be_cached(update(ivan.pre_checkout("order:1", 100)))


def test_the_cache_expires_and_stays_bounded():
    now = [0.0]
    cache: TtlCache[int, str] = TtlCache(10, now=lambda: now[0], max_entries=3)
    cache.put(1, "a")
    now[0] = 9.9
    assert cache.get(1) == "a"
    now[0] = 10.0
    assert cache.get(1) is None
    for key in range(5):
        cache.put(key, str(key))
    assert [cache.get(k) for k in range(5)] == [None, None, "2", "3", "4"]
    cache.drop(3)
    assert cache.get(3) is None
