"""No update goes through a thread on its way to its handler.

aiogram runs a filter or handler that is not a coroutine function (a bare ``F`` rule, a
plain ``def``) through ``asyncio.to_thread``; ``bot/filters.py`` says why that cost
the bot most of a core. The first test reads aiogram's own decision for every handler
and filter of the dispatcher; the second counts what reaches the loop's default
executor while customers and a manager talk to the bot.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aiogram import Router
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.runtime import create_dispatcher
from crm_core.customers.service import create_customer
from tests.bot.conftest import bot_config
from tests.factories.commerce import make_order


def _routers(router: Router):
    yield router
    for child in router.sub_routers:
        yield from _routers(child)


def test_every_handler_and_filter_of_the_dispatcher_is_awaited_on_the_loop(fake_tg):
    dispatcher = create_dispatcher(bot_config(fake_tg), async_sessionmaker())
    checked, on_threads = 0, []
    for router in _routers(dispatcher):
        for name, observer in router.observers.items():
            # The observer's own filters (``router.message.filter(...)``) sit on a
            # placeholder handler that is never called.
            items = list(observer._handler.filters or [])
            for handler in observer.handlers:
                items += [handler, *(handler.filters or [])]
            for item in items:
                checked += 1
                if not item.awaitable:
                    on_threads.append(f"{router.name}.{name}: {item.callback!r}")
    assert checked > 60  # the walk saw the routers (customer and staff)
    assert on_threads == []


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.submitted: list[str] = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(repr(fn))
        return super().submit(fn, *args, **kwargs)


async def test_a_conversation_hands_nothing_to_the_default_executor(
    telegram, fake_tg, ivan, mallory, shop, uow
):
    async with uow() as s:
        customer = await create_customer(s, name="Иван", telegram_id=ivan.id)
        order = await make_order(s, customer=customer, total="990.00")
    await telegram.feed(ivan.says("/help"))  # the HTTP connection to the Bot API is open
    executor = CountingExecutor()
    loop = asyncio.get_running_loop()
    # The loop is shared with later tests: its executor is put back (there is no public
    # getter; ``None`` lets the loop make a fresh one when next needed).
    previous = loop._default_executor
    loop.set_default_executor(executor)
    updates = [
        ivan.says("/catalog"),
        ivan.taps(f"g:{shop['tools']}:0"),
        ivan.taps(f"p:{shop['drill']}"),
        ivan.taps(f"ca:{shop['drill']}:1:p"),
        ivan.taps(f"ca:{shop['drill']}:1:p"),
        ivan.says("/cart"),
        ivan.says("/orders"),
        ivan.taps(f"o:{order.id}:card"),
        ivan.says("Здравствуйте, когда доставка?"),
        mallory.says("/start"),
        mallory.says("/catalog"),
    ]
    try:
        for update in updates:
            await telegram.feed(update)
    finally:
        loop._default_executor = previous
        executor.shutdown()
    assert executor.submitted == []
    assert len(fake_tg.of("answerCallbackQuery")) == 5
