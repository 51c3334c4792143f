"""Send slots: in this process, and shared through the real Redis on 127.0.0.1:6379
(skipped, saying so, when it does not answer). Each Redis test has its own prefix."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import socket

import pytest

from crm_core.rate import (
    Limit,
    LocalSlots,
    Rate,
    RedisSlots,
    campaign_limit,
    create_slots,
    telegram_limit,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now = max(self.now, self.now + seconds)


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable on 127.0.0.1:6379")


@pytest.fixture
async def redis_prefix():
    prefix = f"firma-test:{secrets.token_hex(6)}:"
    yield prefix
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def test_limits_refuse_nonsense() -> None:
    for bad in (0, -1, float("inf"), float("nan"), 2_000_000):
        with pytest.raises(ValueError):
            Limit("k", bad)
    for key in ("", "k" * 201):
        with pytest.raises(ValueError):
            Limit(key, 1)
    # The bot's budget is keyed by its public id, never by the token's secret part.
    assert telegram_limit("123456:SECRET-part", 25).key == "telegram:send-slot:123456"
    assert campaign_limit(7, 10).key == "campaign:7:send-slot"


async def test_local_slots_are_spaced_and_idle_banks_no_burst() -> None:
    t = FakeTime()
    slots = LocalSlots(monotonic=t.monotonic, sleep=t.sleep)
    ten = Limit("a", 10)
    starts = []
    for _ in range(5):
        await slots.wait(ten)
        starts.append(t.now)
    assert [round(s - starts[0], 6) for s in starts] == [0, 0.1, 0.2, 0.3, 0.4]
    t.now += 60  # a minute idle: the next send goes at once, then the pace again
    t.slept.clear()
    await slots.wait(ten)
    await slots.wait(ten)
    assert t.slept == [pytest.approx(0.1)]


async def test_a_slot_under_two_limits_is_taken_from_both() -> None:
    """A fast campaign on Telegram is held to the bot's rate, and a second campaign on
    the same bot shares it."""
    t = FakeTime()
    slots = LocalSlots(monotonic=t.monotonic, sleep=t.sleep)
    bot = Limit("bot", 25)
    fast, other = Rate(slots, Limit("c1", 1000), bot), Rate(slots, Limit("c2", 1000), bot)
    start = t.now
    for _ in range(50):
        await fast.wait()
        await other.wait()
    assert t.now - start == pytest.approx(99 / 25)


async def test_hold_pushes_every_later_slot_back() -> None:
    t = FakeTime()
    slots = LocalSlots(monotonic=t.monotonic, sleep=t.sleep)
    lim = Limit("a", 100)
    await slots.wait(lim)
    await slots.hold(3.0, lim)
    start = t.now
    await slots.wait(lim)
    assert t.now - start == pytest.approx(3.0)


@needs_redis
async def test_redis_slots_are_shared_by_processes(redis_prefix) -> None:
    """Two clients (two workers of 8 senders) reserving at once under one 50/s limit
    get distinct slots 20 ms apart on Redis's clock: together they keep the rate."""
    # A generous timeout: this test is about sharing, not about a loaded machine.
    a = RedisSlots(REDIS_URL, prefix=redis_prefix, timeout=3.0)
    b = RedisSlots(REDIS_URL, prefix=redis_prefix, timeout=3.0)
    lim = Limit("campaign:1", 50)

    async def sender(slots: RedisSlots) -> list[int]:  # one of a worker's 8 senders
        return [(await slots.reserve_shared([lim]))[0] for _ in range(10)]

    try:
        slots = await asyncio.gather(*(sender(s) for s in [a, b] * 8))
        assert a.shared and b.shared
    finally:
        await a.close()
        await b.close()
    # 160 slots (µs of Redis's clock) taken faster than 50/s: each 20 ms after the
    # previous one, whichever client took it.
    ordered = sorted(s for ss in slots for s in ss)
    assert len(set(ordered)) == 160
    assert {y - x for x, y in itertools.pairwise(ordered)} == {20_000}


@needs_redis
async def test_redis_slots_on_an_injected_clock_and_a_hold(redis_prefix) -> None:
    t = FakeTime()
    a = RedisSlots(REDIS_URL, prefix=redis_prefix, clock=t.monotonic, sleep=t.sleep)
    b = RedisSlots(REDIS_URL, prefix=redis_prefix, clock=t.monotonic, sleep=t.sleep)
    lim, bot = Limit("campaign:1", 10), Limit("telegram:send-slot:1", 5)
    try:
        start = t.now
        for _ in range(10):
            await a.wait(lim)
            await b.wait(lim)
        assert t.now - start == pytest.approx(1.9)
        await a.hold(2.0, lim)
        before = t.now
        await b.wait(lim)
        assert t.now - before == pytest.approx(2.0)
        before = t.now
        for _ in range(3):
            await a.wait(lim, bot)  # the slower limit rules
        assert t.now - before == pytest.approx(0.1 + 2 * 0.2)
    finally:
        await a.close()
        await b.close()


async def test_redis_away_falls_back_to_this_process_and_logs(caplog) -> None:
    """Nothing listens on the port: within the timeout the process paces itself,
    then tries Redis again after ``retry_after``."""
    t = FakeTime()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slots = RedisSlots(
        f"redis://:hunter2@127.0.0.1:{port}/0",
        prefix="x:",
        timeout=0.2,
        retry_after=5.0,
        monotonic=t.monotonic,
        sleep=t.sleep,
    )
    lim = Limit("a", 10)
    try:
        with caplog.at_level(logging.WARNING, logger="crm_core.rate"):
            start = t.now
            for _ in range(5):
                await slots.wait(lim)
        assert t.now - start == pytest.approx(0.4)  # paced in process meanwhile
        assert not slots.shared
        warnings = [r.getMessage() for r in caplog.records if r.name == "crm_core.rate"]
        assert len(warnings) == 1 and "pacing in this process" in warnings[0]
        assert "hunter2" not in warnings[0]  # the password stays out of logs
        t.now += 5.0
        assert slots.shared  # tried again (and logs again if still away)
        await slots.wait(lim)
        assert len([r for r in caplog.records if r.name == "crm_core.rate"]) == 2
    finally:
        await slots.close()


@needs_redis
async def test_a_silent_redis_falls_back_within_the_timeout(redis_prefix) -> None:
    """A server that accepts and never answers (a hung Redis): the wait is bounded."""

    async def mute(reader, writer):
        await asyncio.sleep(10)
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    slots = RedisSlots(f"redis://127.0.0.1:{port}/0", prefix=redis_prefix, timeout=0.2)
    loop = asyncio.get_running_loop()
    try:
        began = loop.time()
        delay = await slots.reserve([Limit("a", 10)])
        assert delay == 0 and loop.time() - began < 1.0 and not slots.shared
    finally:
        await slots.close()
        server.close()


def test_create_slots_by_configuration() -> None:
    assert isinstance(create_slots(None), LocalSlots)
    assert isinstance(create_slots(""), LocalSlots)
    assert isinstance(create_slots(REDIS_URL), RedisSlots)
