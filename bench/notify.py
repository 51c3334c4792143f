"""Managers' notifications: latency from a committed domain event to the manager's
``sendMessage``, and how fast a minute's worth of reminders drains through the limit.

A program, not a test: ``.venv/bin/python bench/notify.py [--events 1000] [--rate 50]
[--reminders 10000] [--parts latency,reminders]``.

- Latency: ``--events`` new leads committed one per transaction at ``--rate``/s (open
  loop) by this process; one or two real ``firma worker`` processes on PostgreSQL
  (outbox relay → staff queue → staff sender) deliver each to one bound manager at a
  fake Bot API server in this process, which stamps the arrival. Latency = arrival −
  commit, same clock. Baseline in the same run: one bare ``sendMessage`` round trip
  to the same fake server. The staff send rate is lifted to 1,000/s for this part
  (``FIRMA_TELEGRAM_SEND_RATE``): 50 events/s to one bot is above Telegram's ~25/s,
  and with the limit the queue grows by design.
- Reminders: ``--reminders`` tasks due in the same minute; one ``firma worker`` at the
  default 25 msg/s. Reported: seconds from the minute until the last reminder arrived,
  against the floor the limit sets (N / 25 s).

PostgreSQL database ``firma_h3_bench`` (``FIRMA_BENCH_DATABASE_URL`` overrides).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h3_bench"
)

from aiohttp import web  # noqa: E402 - after the sys.path set-up above
from sqlalchemy import update  # noqa: E402

from bench.common import PG_URL, fresh_engine, p50, p99, table  # noqa: E402
from crm_core.db import session_factory, unit_of_work  # noqa: E402
from crm_core.employees.service import create_employee  # noqa: E402
from crm_core.leads.service import intake_lead  # noqa: E402
from crm_core.models import Employee, Task  # noqa: E402
from crm_core.tasks.service import create_task  # noqa: E402
from tests.bot.fake_telegram import FakeTelegram  # noqa: E402

MANAGER_CHAT = 900001


class StampingTelegram(FakeTelegram):
    """The fake Bot API, stamping when each message to the manager arrives."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrived: dict[str, list[float]] = {}

    async def _handle(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        response = await super()._handle(request)
        call = self.calls[-1] if self.calls else None
        if call is not None and call.method == "sendMessage" and call.chat_id == MANAGER_CHAT:
            lines = call.text.splitlines()
            key = lines[1] if call.text.startswith("🆕") and len(lines) > 1 else lines[0]
            self.arrived.setdefault(key, []).append(at)
        # Keep memory flat over 10,000 messages: the stamps are what is read.
        self.calls.clear()
        return response


async def seed_manager(sessions) -> int:
    async with unit_of_work(sessions) as s:
        employee = await create_employee(s, name="Bench Manager", email="bench@firm.ru")
        await s.execute(
            update(Employee).where(Employee.id == employee.id).values(telegram_user_id=MANAGER_CHAT)
        )
    return employee.id


def start_worker(fake: FakeTelegram, *, rate: float) -> asyncio.Future:
    env = {
        **os.environ,
        "FIRMA_DATABASE_URL": PG_URL,
        "FIRMA_TELEGRAM_BOT_TOKEN": fake.token,
        "FIRMA_TELEGRAM_API_URL": fake.url,
        "FIRMA_PUBLIC_URL": "https://crm.example.ru",
        "FIRMA_TELEGRAM_SEND_RATE": str(rate),
    }
    env.pop("FIRMA_REDIS_URL", None)
    return asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "firma",
        "worker",
        env=env,
        cwd=tempfile.mkdtemp(prefix="firma-notify-"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop(workers) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            await asyncio.wait_for(worker.wait(), timeout=20)
        except TimeoutError:
            worker.kill()
            await worker.wait()


async def wait_for(fake: StampingTelegram, keys: list[str], seconds: float) -> bool:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if all(k in fake.arrived for k in keys):
            return True
        await asyncio.sleep(0.05)
    return False


async def lead(sessions, name: str, n: int) -> float:
    async with unit_of_work(sessions) as s:
        await intake_lead(s, name=name, phones=[f"+7915{n:07d}"], source="api")
    return time.perf_counter()


async def baseline(fake: FakeTelegram) -> list[float]:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    times = []
    try:
        for i in range(200):
            start = time.perf_counter()
            await bot.send_message(MANAGER_CHAT, f"baseline\n{i}")
            times.append(time.perf_counter() - start)
    finally:
        await bot.session.close()
    return times


async def latency(workers_count: int, events: int, rate: float) -> list[object]:
    engine = await fresh_engine("postgresql")
    sessions = session_factory(engine)
    fake = await StampingTelegram().start()
    workers = []
    try:
        await seed_manager(sessions)
        workers = [await start_worker(fake, rate=1000) for _ in range(workers_count)]
        await lead(sessions, "warm-up", 9_999_999)
        if not await wait_for(fake, ["warm-up"], seconds=120):
            raise SystemExit("the workers did not start")
        committed: dict[str, float] = {}
        start = time.perf_counter()

        # Open loop, but never more than 8 commits in flight: a producer that falls
        # behind its schedule (a busy machine) commits late, and latency counts from
        # each commit.
        in_flight = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            name = f"Bench {i:05d}"
            async with in_flight:
                committed[name] = await lead(sessions, name, i)

        await asyncio.gather(*(one(i) for i in range(events)))
        produced = time.perf_counter() - start
        await wait_for(fake, list(committed), seconds=120)
        got = {k: v for k, v in fake.arrived.items() if k in committed}
        lat = [(v[0] - committed[k]) * 1000 for k, v in got.items()]
        doubled = sum(len(v) - 1 for v in got.values())
        base = [t * 1000 for t in await baseline(fake)]
        return [
            workers_count,
            events,
            f"{events / produced:.1f}",
            f"{p50(lat):.0f}",
            f"{p99(lat):.0f}",
            f"{max(lat):.0f}",
            events - len(got),
            doubled,
            f"{p50(base):.1f} / {p99(base):.1f}",
        ]
    finally:
        await stop(workers)
        await fake.stop()
        await engine.dispose()


async def reminders(count: int) -> list[object]:
    engine = await fresh_engine("postgresql")
    sessions = session_factory(engine)
    fake = await StampingTelegram().start()
    worker = None
    try:
        employee_id = await seed_manager(sessions)
        later = datetime.now(UTC) + timedelta(days=1)
        for chunk in range(0, count, 1000):
            async with unit_of_work(sessions) as s:
                for i in range(chunk, min(chunk + 1000, count)):
                    await create_task(
                        s,
                        subject=f"R{i:05d}",
                        assignee_id=employee_id,
                        due_at=later + timedelta(hours=1),
                        remind_at=later,
                    )
        # All due at one moment a few seconds from now (after the worker has started).
        due = datetime.now(UTC) + timedelta(seconds=5)
        async with unit_of_work(sessions) as s:
            await s.execute(update(Task).values(remind_at=due))
        worker = await start_worker(fake, rate=25)
        wait = (due - datetime.now(UTC)).total_seconds()
        print(f"seeded {count} reminders due at {due:%H:%M:%S} (in {wait:.0f} s)", flush=True)
        await asyncio.sleep(max(0.0, wait))
        at_due = time.perf_counter()
        keys = [f"R{i:05d}" for i in range(count)]

        def arrived() -> dict[str, list[float]]:
            found = {}
            for key, stamps in fake.arrived.items():
                if "R" in key:
                    subject = key.split(": ", 1)[-1]
                    found.setdefault(subject, []).extend(stamps)
            return found

        deadline = at_due + count / 25 * 2 + 120
        while time.perf_counter() < deadline:
            if len(arrived()) >= count:
                break
            await asyncio.sleep(0.5)
        got = arrived()
        last = max(max(v) for v in got.values()) - at_due if got else float("nan")
        floor = count / 25
        doubled = sum(len(v) - 1 for v in got.values())
        return [
            count,
            f"{last:.1f}",
            f"{floor:.0f}",
            f"{last / floor:.3f}",
            count - len(set(got) & set(keys)),
            doubled,
        ]
    finally:
        if worker is not None:
            await stop([worker])
        await fake.stop()
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--parts", default="latency,reminders")
    args = parser.parse_args()
    parts = args.parts.split(",")
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    if "latency" in parts:
        rows = [await latency(n, args.events, args.rate) for n in (1, 2)]
        print(
            table(
                f"Event → manager's sendMessage, PostgreSQL, {stamp}",
                [
                    "workers",
                    "events",
                    "events/s",
                    "p50 ms",
                    "p99 ms",
                    "max ms",
                    "missing",
                    "doubled",
                    "bare sendMessage p50/p99 ms",
                ],
                rows,
            ),
            flush=True,
        )
    if "reminders" in parts:
        row = await reminders(args.reminders)
        print(
            table(
                f"Reminders due in one minute, 25 msg/s, PostgreSQL, {stamp}",
                ["reminders", "last sent after s", "floor s", "ratio", "missing", "doubled"],
                [row],
            ),
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
