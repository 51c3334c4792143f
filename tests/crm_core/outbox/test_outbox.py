"""The outbox hands every event to exactly one worker, retries, and gives up loudly."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.models import OutboxEvent, OutboxStatus
from crm_core.outbox import OutboxRelay, claim, complete, emit, fail, purge_done, stats


async def _emit_many(uow, n: int) -> None:
    async with uow() as s:
        for i in range(n):
            emit(s, "test.ping", {"i": i})


async def test_event_exists_only_if_the_change_commits(uow, sessions):
    with pytest.raises(RuntimeError):
        async with uow() as s:
            emit(s, "test.ping", {"i": 1})
            raise RuntimeError("use case failed")
    async with sessions() as s:
        assert (await s.scalars(select(OutboxEvent))).all() == []


async def test_claim_complete_cycle(uow, clock):
    await _emit_many(uow, 3)
    async with uow() as s:
        batch = await claim(s, worker="w1", limit=2)
    assert [e.payload["i"] for e in batch] == [0, 1]
    async with uow() as s:
        rest = await claim(s, worker="w2", limit=10)
    assert [e.payload["i"] for e in rest] == [2]
    async with uow() as s:
        # A worker can only settle its own lease.
        assert await complete(s, [batch[0].id], worker="w2") == 0
        assert await complete(s, [e.id for e in batch], worker="w1") == 2
        assert await complete(s, [rest[0].id], worker="w2") == 1
        assert await stats(s) == {"pending": 0, "processing": 0, "done": 3, "dead": 0}


async def test_expired_lease_is_claimed_again(uow, clock):
    await _emit_many(uow, 1)
    async with uow() as s:
        first = await claim(s, worker="dead-worker", lease=timedelta(seconds=30))
    async with uow() as s:
        assert await claim(s, worker="w2") == []
    clock.advance(timedelta(seconds=31))
    async with uow() as s:
        again = await claim(s, worker="w2")
    assert [e.id for e in again] == [first[0].id]
    assert again[0].attempts == 2
    async with uow() as s:
        # The dead worker's late completion no longer counts.
        assert await complete(s, [first[0].id], worker="dead-worker") == 0


async def test_failures_back_off_then_go_dead(uow, clock):
    await _emit_many(uow, 1)
    statuses = []
    for _ in range(3):
        async with uow() as s:
            (event,) = await claim(s, worker="w")
            statuses.append(await fail(s, event.id, worker="w", error="boom", max_attempts=3))
        async with uow() as s:
            assert await claim(s, worker="w") == []  # backing off
        clock.advance(timedelta(hours=2))
    assert statuses == [OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.DEAD]
    async with uow() as s:
        row = (await s.scalars(select(OutboxEvent))).one()
        assert row.status == OutboxStatus.DEAD and row.last_error == "boom"


async def test_purge_keeps_recent_and_undelivered(uow, clock):
    await _emit_many(uow, 2)
    async with uow() as s:
        batch = await claim(s, worker="w", limit=1)
        await complete(s, [batch[0].id], worker="w")
    clock.advance(timedelta(days=8))
    async with uow() as s:
        assert await purge_done(s, older_than=timedelta(days=7)) == 1
        assert (await stats(s))["pending"] == 1


async def test_relay_delivers_to_topic_and_wildcard_subscribers(uow, sessions, clock):
    await _emit_many(uow, 2)
    seen: list[tuple[str, int]] = []

    async def on_ping(event):
        seen.append(("ping", event.payload["i"]))

    async def on_any(event):
        seen.append(("any", event.payload["i"]))

    relay = OutboxRelay(sessions, {"test.ping": [on_ping], "*": [on_any]}, clock=clock)
    assert await relay.run_once() == 2
    assert await relay.run_once() == 0
    assert seen == [("ping", 0), ("any", 0), ("ping", 1), ("any", 1)]


async def test_relay_retries_a_failing_subscriber_without_blocking_others(uow, sessions, clock):
    await _emit_many(uow, 2)
    calls: list[int] = []

    async def flaky(event):
        calls.append(event.payload["i"])
        if event.payload["i"] == 0 and calls.count(0) == 1:
            raise ConnectionError("network down")

    relay = OutboxRelay(sessions, {"test.ping": [flaky]}, clock=clock)
    await relay.run_once()
    async with sessions() as s:
        assert (await stats(s)) == {"pending": 1, "processing": 0, "done": 1, "dead": 0}
    clock.advance(timedelta(minutes=5))
    await relay.run_once()
    async with sessions() as s:
        assert (await stats(s))["done"] == 2
    assert calls == [0, 1, 0]


async def test_concurrent_claimers_never_share_an_event(uow, sessions, clock, db_backend):
    """N relays draining one outbox: every event handled exactly once."""
    total = 400
    async with uow() as s:
        for i in range(total):
            emit(s, "test.ping", {"i": i})
    handled: list[int] = []

    async def record(event):
        handled.append(event.payload["i"])
        await asyncio.sleep(0)

    relays = [
        OutboxRelay(
            sessions, {"test.ping": [record]}, clock=clock, batch_size=25, worker_id=f"w{n}"
        )
        for n in range(4)
    ]

    async def drain(relay):
        while await relay.run_once():
            pass

    await asyncio.gather(*(drain(r) for r in relays))
    assert sorted(handled) == list(range(total))
    async with sessions() as s:
        assert (await stats(s))["done"] == total
