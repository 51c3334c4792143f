"""Rate limits shared through the real Redis at 127.0.0.1:6379 (a key prefix per test),
and intake going on when Redis is down."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from webforms.limits import RateLimiter, RedisRateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"
DOWN_URL = "redis://127.0.0.1:1/0"  # nothing listens there


@pytest.fixture
async def prefix():
    """A fresh key prefix, and its keys removed afterwards."""
    value = f"firma-test:{secrets.token_hex(6)}:"
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except OSError as exc:  # pragma: no cover - the machine runs Redis
        pytest.skip(f"Redis at {REDIS_URL} is not running: {exc}")
    yield value
    keys = [k async for k in client.scan_iter(match=f"{value}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_two_processes_share_one_count(prefix):
    a = RedisRateLimiter(REDIS_URL, prefix=prefix)
    b = RedisRateLimiter(REDIS_URL, prefix=prefix)
    now = 1_000_040.0  # 20 s into a minute window (1_000_020 is a multiple of 60)
    try:
        answers = [
            await limiter.hit("ip:1:f", limit=5, window=60, now=now) for limiter in (a, b) * 3
        ]
        assert answers[:5] == [None] * 5
        assert answers[5] == 40  # the rest of this window
        # Another key is counted apart.
        assert await a.hit("ip:2:f", limit=5, window=60, now=now) is None
        # The next window still carries most of this one (sliding), later it frees up.
        assert await b.hit("ip:1:f", limit=5, window=60, now=now + 45) is not None
        assert await b.hit("ip:1:f", limit=5, window=60, now=now + 100) is None
        client = aioredis.Redis.from_url(REDIS_URL)
        ttls = [await client.ttl(k) async for k in client.scan_iter(match=f"{prefix}*")]
        await client.aclose()
        assert ttls and all(0 < t <= 121 for t in ttls)  # counters expire on their own
    finally:
        await a.close()
        await b.close()


async def test_in_process_and_redis_limiters_agree(prefix):
    memory, shared = RateLimiter(), RedisRateLimiter(REDIS_URL, prefix=prefix)
    try:
        for step in range(40):
            now = 2_000_000.0 + step * 4.5  # 40 requests over three minutes
            expected = await memory.hit("k", limit=7, window=60, now=now)
            assert await shared.hit("k", limit=7, window=60, now=now) == expected, step
    finally:
        await shared.close()


async def test_redis_down_falls_back_and_logs(caplog):
    limiter = RedisRateLimiter(DOWN_URL)
    try:
        with caplog.at_level(logging.WARNING, logger="webforms.limits"):
            answers = [await limiter.hit("k", limit=2, window=60, now=10.0) for _ in range(3)]
        assert answers[:2] == [None, None] and answers[2] is not None  # still limited
        assert "counting in-process" in caplog.text
    finally:
        await limiter.close()


async def test_limits_hold_across_app_processes(client, make_form, webforms_state, prefix):
    await make_form()
    webforms_state.config.per_ip_limit = 3
    webforms_state.limiter = RedisRateLimiter(REDIS_URL, prefix=prefix)
    # Another process behind the balancer has already seen two from this IP.
    other = RedisRateLimiter(REDIS_URL, prefix=prefix)
    now = webforms_state.config.clock.now().timestamp()
    for _ in range(2):
        assert await other.hit("ip:127.0.0.1:callback", limit=3, window=60, now=now) is None
    body = {"name": "x"}
    try:
        assert (await client.post("/forms/callback", json=body)).status_code == 422
        r = await client.post("/forms/callback", json=body)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    finally:
        await other.close()
        await webforms_state.limiter.close()


async def test_intake_goes_on_when_redis_is_down(
    client, api, make_form, webforms_state, token_for, clock
):
    form = await make_form()
    webforms_state.limiter = RedisRateLimiter(DOWN_URL)
    try:
        token = await token_for()
        body = {"phone": "+79163330000", "consent": True, "_token": token}
        r = await client.post("/forms/callback", json=body)
        assert r.status_code == 201
        subs = (await api.get(f"/forms/{form['id']}/submissions")).json()["items"]
        assert subs[0]["status"] == "processed"
        clock.advance(timedelta(seconds=1))
    finally:
        await webforms_state.limiter.close()
