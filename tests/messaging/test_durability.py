"""Nothing lost, nothing doubled: a worker process killed mid-campaign and restarted,
pause/resume cycles, the rate a campaign is given."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from crm_core.models import Campaign, Channel, Delivery
from messaging.campaigns import (
    create_campaign,
    delivery_counts,
    get_campaign,
    pause_campaign,
    start_campaign,
)
from messaging.config import MessagingConfig
from messaging.outcome import SendResult
from messaging.pacing import ClockTimer, RealTimer
from messaging.runner import CampaignRunner, campaign_message_id
from messaging.templates import create_template
from tests.messaging.bulk import address, bulk_customers

ROOT = Path(__file__).resolve().parents[2]
CONFIG = MessagingConfig(
    mail_from="Firma <shop@firma.example>",
    secret_key="test-secret",
    public_url="https://crm.firma.example",
)
BODY = "<p>{{ customer.name }}</p><a href='{{ unsubscribe_url }}'>Отписаться</a>"


class RecordingTransport:
    """An in-process email transport that notes when each message left."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str, str]] = []  # (monotonic, to, message_id)

    async def send(self, email) -> SendResult:
        await asyncio.sleep(0.002)  # a little network time, so sends overlap
        self.sent.append((time.monotonic(), email.to, email.message_id))
        return SendResult(True, email.message_id, "250 OK")

    async def close(self) -> None:
        return None


async def _campaign(uow, clock, n: int, *, rate: int, without: frozenset[int] = frozenset()):
    async with uow() as s:
        ids = await bulk_customers(s, n, Channel.EMAIL, at=clock.now(), without_consent=without)
        template = await create_template(s, kind="letter", name="L", subject="Hi", body=BODY)
        campaign = await create_campaign(
            s,
            name="Big",
            channel="email",
            template_id=template.id,
            segment={"tags": ["bulk"]},
            rate_per_second=rate,
        )
        await start_campaign(s, campaign.id)
    return ids, campaign.id


async def _rate(uow, campaign_id: int, per_second: int) -> None:
    """A new rate, which a worker takes up at its next claim."""
    async with uow() as s:
        await s.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(rate_per_second=per_second)
        )


async def _state(uow, campaign_id: int) -> str:
    async with uow() as s:
        return (await get_campaign(s, campaign_id)).state


async def test_worker_killed_mid_campaign_and_restarted(engine, uow, clock, smtp_sink) -> None:
    """2,000 recipients (100 without consent); the worker process gets SIGKILL at a
    random point, a new one finishes while the campaign is paused and resumed 20
    times. Everyone consenting got the letter, nobody else; copies are at most the
    worker's concurrency, and a copy carries its original's Message-ID."""
    sink, port = smtp_sink
    n, concurrency = 2000, 8
    without = frozenset(range(0, n, 20))
    # 400/s up to the kill, 80/s through the 20 pause/resume cycles: after the kill at
    # least 700 letters are left, and a cycle sends for at most its 0.05 s plus the
    # 0.25 s a worker takes to see a pause, so the cycles (≤ 6 s, ≤ 480 letters) always
    # meet a campaign still sending, however slow or loaded the machine. Then 400/s.
    # (At 400/s throughout, a pause was often not seen before the resume: on a loaded
    # machine the campaign finished during the cycles.)
    ids, campaign_id = await _campaign(uow, clock, n, rate=400, without=without)
    url = engine.url.render_as_string(hide_password=False)
    seed = random.randrange(1_000_000)
    kill_at = random.Random(seed).randint(200, 1200)

    def spawn() -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.messaging.campaign_worker",
                url,
                str(port),
                str(concurrency),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.stdout.readline().strip() == b"ready"
        return proc

    worker = spawn()
    try:
        deadline = time.monotonic() + 120
        while len(sink.messages) < kill_at:
            assert time.monotonic() < deadline and worker.poll() is None, "worker too slow"
            await asyncio.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = len(sink.messages)
        await _rate(uow, campaign_id, 80)
        worker = spawn()
        for _ in range(20):  # pause/resume while the new worker sends
            await asyncio.sleep(0.05)
            async with uow() as s:
                await pause_campaign(s, campaign_id)
            await asyncio.sleep(0.3)  # long enough for the worker to see it
            async with uow() as s:
                await start_campaign(s, campaign_id)
        await _rate(uow, campaign_id, 400)
        while await _state(uow, campaign_id) != "finished":
            assert time.monotonic() < deadline and worker.poll() is None, "campaign unfinished"
            await asyncio.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(10)
    ids_by_address: dict[str, set[str]] = defaultdict(set)
    for message in sink.messages:
        ids_by_address[message["To"]].add(message["Message-ID"])
    per_address = Counter(message["To"] for message in sink.messages)
    consenting = {address(Channel.EMAIL, i) for i in range(n) if i not in without}
    assert set(per_address) == consenting, f"seed {seed}"
    duplicates = sum(c - 1 for c in per_address.values())
    assert duplicates <= concurrency, f"seed {seed}: {duplicates} copies"
    assert all(len(v) == 1 for v in ids_by_address.values())  # a copy keeps its id
    for i in (1, 2, n - 1):
        to = address(Channel.EMAIL, i)
        assert ids_by_address[to] == {campaign_message_id(CONFIG, campaign_id, ids[i])}
    async with uow() as s:
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
    assert counts["sent"] == n - len(without) and counts["skipped"] == len(without)
    assert 0 < killed_at < len(sink.messages)
    print(f"seed {seed}: killed after {killed_at} messages, {duplicates} copies")


async def test_pause_takes_effect_within_a_second_and_cycles_lose_nothing(
    uow, sessions, clock
) -> None:
    n = 1000  # about 6.7 s of sending: longer than the 20 cycles' sending windows
    _ids, campaign_id = await _campaign(uow, clock, n, rate=150)
    transport = RecordingTransport()
    runner = CampaignRunner(
        sessions, transport, CONFIG, clock=clock, timer=RealTimer(), idle_sleep=0.02
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop))
    try:
        for cycle in range(20):
            await asyncio.sleep(0.04)
            async with uow() as s:
                await pause_campaign(s, campaign_id)
            paused_at = time.monotonic()
            # Three cycles watch for a second: nothing may start after it.
            await asyncio.sleep(1.1 if cycle < 3 else 0.03)
            if cycle < 3:
                late = [t for t, _to, _mid in transport.sent if t > paused_at + 1.0]
                assert late == [], f"sent {len(late)} after the pause"
            async with uow() as s:
                await start_campaign(s, campaign_id)
        deadline = time.monotonic() + 60
        while await _state(uow, campaign_id) != "finished":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    per_address = Counter(to for _t, to, _mid in transport.sent)
    assert len(per_address) == n and set(per_address.values()) == {1}
    async with uow() as s:
        sent = await s.scalar(
            select(func.count()).where(
                Delivery.campaign_id == campaign_id, Delivery.status == "sent"
            )
        )
    assert sent == n


async def test_rate_holds_within_five_percent_over_a_minute(uow, sessions, clock) -> None:
    """A minute of the injected clock (the pacer sleeps by moving it): the rows'
    sent_at, which the database takes from the same clock, show the rate."""
    rate, n = 20, 1600
    _ids, campaign_id = await _campaign(uow, clock, n, rate=rate)
    runner = CampaignRunner(
        sessions, RecordingTransport(), CONFIG, clock=clock, timer=ClockTimer(clock), concurrency=4
    )
    while await runner.run_once():
        pass
    async with uow() as s:
        times = sorted(
            await s.scalars(select(Delivery.sent_at).where(Delivery.campaign_id == campaign_id))
        )
    start = times[0] + timedelta(seconds=5)  # a measured minute inside the run
    in_minute = sum(1 for t in times if start <= t < start + timedelta(seconds=60))
    assert abs(in_minute - rate * 60) <= 0.05 * rate * 60, in_minute
    total = (times[-1] - times[0]).total_seconds()
    assert abs((n - 1) / total - rate) <= 0.05 * rate


async def test_rate_holds_in_real_time_too(uow, sessions, clock) -> None:
    """A shorter window on the real clock: 40/s for five seconds."""
    rate = 40
    await _campaign(uow, clock, 240, rate=rate)
    transport = RecordingTransport()
    runner = CampaignRunner(sessions, transport, CONFIG, clock=clock, timer=RealTimer())
    while await runner.run_once():
        pass
    times = sorted(t for t, _to, _mid in transport.sent)
    start = times[0] + 0.5
    in_window = sum(1 for t in times if start <= t < start + 5.0)
    # Never over the rate; under it only by what a busy machine's scheduler steals (the
    # ±5 % of the issue is held on the injected clock above, where nothing is stolen).
    assert rate * 5 * 0.8 <= in_window <= rate * 5 * 1.05, in_window


async def test_cancel_takes_effect_within_a_second_and_leaves_nothing_pending(
    uow, sessions, clock
) -> None:
    from messaging.campaigns import cancel_campaign

    n = 400
    _ids, campaign_id = await _campaign(uow, clock, n, rate=100)
    transport = RecordingTransport()
    runner = CampaignRunner(
        sessions, transport, CONFIG, clock=clock, timer=RealTimer(), idle_sleep=0.02
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop))
    try:
        for _ in range(1500):  # until some have gone out
            if len(transport.sent) >= 50:
                break
            await asyncio.sleep(0.02)
        async with uow() as s:
            await cancel_campaign(s, campaign_id)
        cancelled_at = time.monotonic()
        await asyncio.sleep(1.3)
    finally:
        stop.set()
        await task
    assert [t for t, _to, _mid in transport.sent if t > cancelled_at + 1.0] == []
    async with uow() as s:
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
        assert (await get_campaign(s, campaign_id)).state == "cancelled"
    assert counts["pending"] == counts["sending"] == 0
    assert counts["sent"] == len(transport.sent) < n
    assert counts["sent"] + counts["skipped"] == n
