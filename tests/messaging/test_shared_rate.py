"""Two workers on one campaign keep its rate together through Redis (the real one on
127.0.0.1:6379; skipped, saying so, when it does not answer). The clock is injected:
both runners sleep on it, Redis hands out the slots on it, the rows' sent_at show it."""

from __future__ import annotations

import asyncio
import secrets
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.models import Delivery
from crm_core.rate import LocalSlots, RedisSlots
from messaging.pacing import ClockTimer
from messaging.runner import CampaignRunner
from tests.messaging.test_durability import CONFIG, RecordingTransport, _campaign

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
async def redis_prefix():
    if not _redis_up():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    prefix = f"firma-test:{secrets.token_hex(6)}:"
    yield prefix
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _two_workers(sessions, clock, slots_for) -> tuple[list[CampaignRunner], list]:
    timer = ClockTimer(clock)
    runners = [
        CampaignRunner(
            sessions,
            RecordingTransport(),
            CONFIG,
            clock=clock,
            timer=timer,
            concurrency=4,
            slots=slots_for(timer),
        )
        for _ in range(2)
    ]

    async def drain(runner: CampaignRunner) -> None:
        while await runner.run_once():
            pass

    try:
        await asyncio.gather(*(drain(r) for r in runners))
    finally:
        for runner in runners:
            await runner.close()
    return runners, [len(r.transport.sent) for r in runners]


async def _minute(uow, campaign_id: int) -> tuple[int, float]:
    """Sends in a minute measured inside the run, and the rate over the whole run."""
    async with uow() as s:
        times = sorted(
            await s.scalars(select(Delivery.sent_at).where(Delivery.campaign_id == campaign_id))
        )
    start = times[0] + timedelta(seconds=5)
    in_minute = sum(1 for t in times if start <= t < start + timedelta(seconds=60))
    return in_minute, (len(times) - 1) / (times[-1] - times[0]).total_seconds()


async def test_two_workers_on_one_campaign_keep_its_rate_together(
    uow, sessions, clock, redis_prefix
) -> None:
    rate, n = 20, 1600
    _ids, campaign_id = await _campaign(uow, clock, n, rate=rate)
    made: list[RedisSlots] = []

    def shared(timer: ClockTimer) -> RedisSlots:
        # A generous timeout: a loaded machine must not look like Redis being away.
        made.append(
            RedisSlots(
                REDIS_URL, prefix=redis_prefix, clock=timer.monotonic, sleep=timer.sleep, timeout=5
            )
        )
        return made[-1]

    _runners, sent = await _two_workers(sessions, clock, shared)
    assert all(s.shared for s in made)  # never fell back to pacing alone
    assert sum(sent) == n and min(sent) > n // 4  # both workers did their share
    in_minute, overall = await _minute(uow, campaign_id)
    assert abs(in_minute - rate * 60) <= 0.05 * rate * 60, in_minute
    assert abs(overall - rate) <= 0.05 * rate, overall


async def test_without_a_shared_rate_two_workers_go_over_it(uow, sessions, clock) -> None:
    """The control: each worker pacing alone (no Redis) goes over the campaign's rate
    (on the shared injected clock by less than twice: a worker waiting for the
    database lets the other's sleeps move the clock past its own slots)."""
    rate, n = 20, 800
    _ids, campaign_id = await _campaign(uow, clock, n, rate=rate)

    def alone(timer: ClockTimer) -> LocalSlots:
        return LocalSlots(monotonic=timer.monotonic, sleep=timer.sleep)

    _runners, sent = await _two_workers(sessions, clock, alone)
    assert sum(sent) == n
    _in_minute, overall = await _minute(uow, campaign_id)
    assert overall > 1.15 * rate, overall  # the ±5 % above would fail
