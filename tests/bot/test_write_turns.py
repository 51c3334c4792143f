"""Writing updates take turns on SQLite (``bot/middlewares.py``): every one is served,
none waits on another's talk with Telegram, and a failed one gives its turn back."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal

import pytest

from bot.middlewares import CustomerContextMiddleware
from crm_core.cart.service import cart_items
from tests.bot.people import TgUser


def _middleware(telegram) -> CustomerContextMiddleware:
    return next(
        m
        for m in telegram.dispatcher.update.outer_middleware
        if isinstance(m, CustomerContextMiddleware)
    )


async def _until(predicate) -> None:
    for _ in range(500):  # waits for the other task, bounded; not a timing assertion
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_a_slow_send_does_not_hold_up_the_next_writer(
    telegram, fake_tg, ivan, mallory, shop, uow
):
    drill = shop["drill"]
    release = fake_tg.hold("editMessageReplyMarkup", ivan.id)
    first = asyncio.create_task(telegram.feed(ivan.taps(f"ca:{drill}:1:p")))
    await _until(lambda: fake_tg.of("editMessageReplyMarkup", ivan.id))
    # Ivan's update is still waiting for Telegram; its transaction is committed.
    await asyncio.wait_for(telegram.feed(mallory.taps(f"ca:{drill}:1:p")), timeout=20)
    assert not first.done()
    release.set()
    await first
    async with uow() as s:
        assert [i.quantity for i in await cart_items(s, ivan.id)] == [Decimal(1)]
        assert [i.quantity for i in await cart_items(s, mallory.id)] == [Decimal(1)]
    assert not _middleware(telegram).write_turns.locked()


async def test_a_burst_of_writers_all_count_and_failures_give_the_turn_back(
    telegram, fake_tg, shop, uow
):
    users = [TgUser(fake_tg, 710_000 + n, f"U{n}") for n in range(12)]
    drill = shop["drill"]
    fake_tg.fail("editMessageReplyMarkup", status=500, chat_id=users[0].id)  # raises after commit
    updates = []
    for user in users:
        updates += [user.taps(f"ca:{drill}:1:p"), user.taps("ca:999999:1:p")]  # one forged
    await asyncio.gather(*(telegram.feed(u) for u in updates))
    async with uow() as s:
        for user in users:
            assert [i.quantity for i in await cart_items(s, user.id)] == [Decimal(1)]
    assert not _middleware(telegram).write_turns.locked()
    await asyncio.wait_for(telegram.feed(users[1].taps(f"ca:{drill}:1:p")), timeout=20)
    async with uow() as s:
        assert [i.quantity for i in await cart_items(s, users[1].id)] == [Decimal(2)]


async def test_on_sqlite_a_writer_meeting_anothers_lock_waits_off_the_loop(
    telegram, fake_tg, ivan, shop, uow, engine
):
    """The bot's units run on the event loop (``crm_core.db.INLINE``); one that finds
    the database locked by another connection (the office, a worker process) waits for
    it on the connection's thread: the loop keeps serving, and the tap lands after."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's file lock and its waiting off the loop; PostgreSQL has neither")
    drill = shop["drill"]
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long import would hold it
    try:
        tap = asyncio.create_task(telegram.feed(ivan.taps(f"ca:{drill}:1:p")))
        ticks = 0
        for _ in range(20):  # the loop runs while the tap waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not tap.done()
        browsing = telegram.feed(ivan.says("/catalog"))  # a reader does not wait at all
        await asyncio.wait_for(browsing, timeout=5)
    finally:
        holder.execute("COMMIT")
        holder.close()
    await asyncio.wait_for(tap, timeout=20)
    async with uow() as s:
        assert [i.quantity for i in await cart_items(s, ivan.id)] == [Decimal(1)]
    assert not _middleware(telegram).write_turns.locked()
