"""Telegram updates/s end to end, beside a bare aiogram echo bot on the same path.

A program, not a test: ``.venv/bin/python bench/bot.py [--backends sqlite,postgresql]``.
Path measured: webhook POST → aiogram → handler → DB → the reply at a fake Bot API
server (the webhook answers after the reply is sent, so the POST's round trip is
"update to reply"). The bot runs under one uvicorn worker in a child process; the
load generator and the fake Telegram server share the parent. 1,000 distinct users,
each: /catalog, a group, a product card, "add", "+", /cart. Two runs per bot:
closed loop (20 users in flight: the most it does) and open loop at 200 updates/s
(p99 at that rate). PostgreSQL: database ``firma_h2_bench`` (``FIRMA_BENCH_DATABASE_URL``).
Beside the rates, the closed loop's p50/p99 per step (printed before the table), the bot
process's CPU per update in the closed loop (``/proc``) and its ratio echo ÷ Firma: on a
machine shared with other work the rates move with the neighbours, the CPU an update
costs far less.

``--profile [--users N]``: no HTTP server, no load: the same scripts fed one update at
a time to the bot in this process (the webhook's ``feed``), under cProfile; prints the
database round trips per update (statements, connection checkouts and commits), the
Bot API requests per update, and the top of the profile. Counts are exact whatever the
machine's load; times are not. ``--pre-ping``: the same with SQLAlchemy's ping of
every checkout (``crm_core.db`` pings only connections idle for a while).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h2_bench"
)

import aiohttp  # noqa: E402 - after the sys.path set-up above

from bench.common import fresh_engine, p50, p99, table  # noqa: E402
from crm_core.catalog.service import create_group, create_product  # noqa: E402
from crm_core.db import session_factory, unit_of_work  # noqa: E402
from tests.bot.fake_telegram import FakeTelegram  # noqa: E402
from tests.bot.people import TgUser  # noqa: E402

SECRET = "bench-secret"
USERS = 1000
IN_FLIGHT = 20
RATE = 200
RATE_SECONDS = 10


def serve(mode: str, db_url: str, api_url: str, port: int) -> None:
    """The child: Firma's bot (or the echo bot) behind ``POST /telegram/webhook``."""
    import logging

    import uvicorn
    from aiogram import Dispatcher, F
    from fastapi import FastAPI

    from bot.config import BotConfig
    from bot.runtime import BotRuntime, create_bot
    from bot.webhook import webhook_router
    from crm_core.db import create_engine

    logging.basicConfig(level=logging.WARNING)
    config = BotConfig(token=FakeTelegram.token, api_url=api_url, webhook_secret=SECRET)
    sessions = session_factory(create_engine(db_url, pool_size=IN_FLIGHT))
    if mode == "firma":
        runtime = BotRuntime.build(config, sessions)
    else:
        echo = Dispatcher()

        @echo.message(F.text)
        async def _echo(message) -> None:
            await message.answer(message.text)

        @echo.callback_query()
        async def _tap(query) -> None:
            await query.answer()

        bot, limits = create_bot(config)
        runtime = BotRuntime(config, bot, echo, limits)
    app = FastAPI()
    app.include_router(webhook_router(runtime))
    # As ``firma serve`` does at start-up (firma/app.py): the start-up heap (aiogram's
    # types, pydantic's schemas) frozen, so full collections do not walk it.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def seed(sessions) -> tuple[list[int], list[int]]:
    groups, products = [], []
    async with unit_of_work(sessions) as s:
        for g in range(4):
            group = await create_group(s, name=f"Раздел {g + 1}")
            groups.append(group.id)
            for p in range(20):
                product = await create_product(
                    s,
                    name=f"Товар {g + 1}-{p + 1:02d}",
                    sku=f"B-{g}-{p}",
                    group_id=group.id,
                    description="Описание товара для витрины в Telegram",
                    prices={"retail": Decimal(100 + p)},
                    stock=Decimal(50),
                )
                products.append(product.id)
    return groups, products


STEPS = ("/catalog", "group", "card", "add", "+", "/cart")


def script(fake: FakeTelegram, n: int, groups: list[int], products: list[int]) -> list[dict]:
    user = TgUser(fake, 800_000 + n, f"User{n}")
    product = products[n % len(products)]
    return [
        user.says("/catalog"),
        user.taps(f"g:{groups[n % len(groups)]}:0"),
        user.taps(f"p:{product}"),
        user.taps(f"ca:{product}:1:p"),
        user.taps(f"ca:{product}:1:p"),
        user.says("/cart"),
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (Linux ``/proc``): a figure the other
    processes on a shared machine move far less than they move wall-clock rates."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def post(http: aiohttp.ClientSession, url: str, update: dict, latencies: list) -> None:
    start = time.perf_counter()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(url, json=update, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}")
    latencies.append(time.perf_counter() - start)


async def closed_loop(
    url: str, scripts: list[list[dict]], by_step: list[list[float]] | None = None
) -> tuple[float, list[float]]:
    """IN_FLIGHT users at a time, each user's updates in order (as Telegram sends them).
    ``by_step`` gets each step's latencies (the steps of ``STEPS``)."""
    latencies: list[float] = []
    queue: asyncio.Queue = asyncio.Queue()
    for s in scripts:
        queue.put_nowait(s)

    async def worker(http) -> None:
        while not queue.empty():
            for step, update in enumerate(queue.get_nowait()):
                await post(http, url, update, latencies)
                if by_step is not None:
                    by_step[step].append(latencies[-1])

    connector = aiohttp.TCPConnector(limit=IN_FLIGHT * 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies


async def open_loop(url: str, updates: list[dict]) -> tuple[float, list[float]]:
    """Updates sent at RATE per second whatever the answers (users do not wait)."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        tasks = []
        for i, update in enumerate(updates):
            delay = start + i / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(http, url, update, latencies)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies


async def run_backend(backend: str, port: int) -> list[list[object]]:
    fake = await FakeTelegram().start()
    engine = await fresh_engine(backend)
    groups, products = await seed(session_factory(engine))
    db_url = engine.url.render_as_string(hide_password=False)
    await engine.dispose()
    rows = []
    results, cpus = {}, {}
    for mode in ("echo", "firma"):
        child = await asyncio.create_subprocess_exec(
            *[
                sys.executable,
                __file__,
                "--serve",
                mode,
                "--db",
                db_url,
                "--api",
                fake.url,
                "--port",
                str(port),
            ],
            cwd=ROOT,
        )
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        try:
            await wait_up(url)
            scripts = [script(fake, n, groups, products) for n in range(USERS)]
            cpu_start = cpu_seconds(child.pid)
            by_step: list[list[float]] = [[] for _ in STEPS]
            rate, lat = await closed_loop(url, scripts, by_step)
            cpu = (cpu_seconds(child.pid) - cpu_start) / len(lat)
            paced = [u for n in range(USERS) for u in script(fake, USERS + n, groups, products)]
            _, paced_lat = await open_loop(url, paced[: RATE * RATE_SECONDS])
            results[mode] = rate
            cpus[mode] = cpu
            steps = ", ".join(
                f"{name} {p50(t) * 1000:.0f}/{p99(t) * 1000:.0f}"
                for name, t in zip(STEPS, by_step, strict=True)
            )
            print(f"{backend} {mode}, closed loop p50/p99 ms by step: {steps}", flush=True)
            rows.append(
                [
                    backend,
                    mode,
                    f"{rate:.0f}",
                    f"{p50(lat) * 1000:.1f}",
                    f"{p99(lat) * 1000:.1f}",
                    f"{p99(paced_lat) * 1000:.1f}",
                    f"{cpu * 1000:.2f}",
                ]
            )
        finally:
            child.terminate()
            await child.wait()
    rows[-1] += [f"{results['firma'] / results['echo']:.2f}", f"{cpus['echo'] / cpus['firma']:.2f}"]
    rows[0] += ["", ""]
    await fake.stop()
    return rows


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(1200):  # a loaded machine imports slowly: up to a minute
            try:
                async with http.post(url, json={}) as response:
                    if response.status == 401:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the bot did not start")


def _count_round_trips(sync, counts) -> None:
    from sqlalchemy import event

    @event.listens_for(sync, "before_cursor_execute")
    def _statement(conn, cursor, statement, params, context, executemany):
        counts["statements"] += 1
        counts[f"sql {statement.split(None, 1)[0].upper()}"] += 1

    @event.listens_for(sync.pool, "checkout")
    def _checkout(*_args):
        counts["checkouts"] += 1

    @event.listens_for(sync, "commit")
    def _commit(conn):
        counts["commits"] += 1


async def profile(backends: list[str], users: int, top: int, pre_ping: bool) -> None:
    """One update at a time through the bot, counted and profiled (see the docstring)."""
    for backend in backends:
        await profile_backend(backend, users, top, pre_ping)


async def profile_backend(backend: str, users: int, top: int, pre_ping: bool) -> None:
    import cProfile
    import pstats
    from collections import Counter

    from bot.config import BotConfig
    from bot.runtime import BotRuntime

    fake = await FakeTelegram().start()
    engine = await fresh_engine(backend)
    sessions = session_factory(engine)
    groups, products = await seed(sessions)
    counts: Counter = Counter()
    _count_round_trips(engine.sync_engine, counts)
    if pre_ping:
        # ``--pre-ping``: SQLAlchemy's ping of every checkout, as before crm_core.db
        # pinged only connections idle for a while.
        engine.sync_engine.pool._pre_ping = True

    config = BotConfig(token=fake.token, api_url=fake.url, webhook_secret=SECRET)
    runtime = BotRuntime.build(config, sessions)
    scripts = [script(fake, n, groups, products) for n in range(users)]
    warm = [script(fake, 10_000 + n, groups, products) for n in range(20)]
    for update in (u for s in warm for u in s):
        await runtime.feed(update, in_response=True)
    gc.collect()
    gc.freeze()  # as ``firma serve`` and the served bot above do
    gc_time = [0.0, 0.0, 0.0]
    gc_runs = [0, 0, 0]
    gc_started: dict[int, float] = {}

    def on_gc(phase: str, info: dict) -> None:
        generation = info["generation"]
        if phase == "start":
            gc_started[generation] = time.perf_counter()
        elif generation in gc_started:
            gc_runs[generation] += 1
            gc_time[generation] += time.perf_counter() - gc_started.pop(generation)

    gc.callbacks.append(on_gc)
    counts.clear()
    calls_before = len(fake.calls)
    kinds: Counter = Counter()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    by_step: list[Counter] = [Counter() for _ in STEPS]
    for s in scripts:
        for step, update in enumerate(s):
            before = Counter(counts)
            await runtime.feed(update, in_response=True)
            by_step[step].update(Counter(counts) - before)
    profiler.disable()
    elapsed = time.perf_counter() - start
    gc.callbacks.remove(on_gc)
    n = users * len(scripts[0])
    for call in fake.calls[calls_before:]:
        kinds[call.method] += 1
    print(f"\n== {backend}: {n} updates one at a time, {n / elapsed:.0f} updates/s")
    per = {k: f"{v / n:.2f}" for k, v in sorted(counts.items())}
    print("per update, database:", per)
    print(
        "per update, Bot API requests:",
        f"{(len(fake.calls) - calls_before) / n:.2f}",
        {k: f"{v / n:.2f}" for k, v in sorted(kinds.items())},
    )
    print(
        "garbage collections per generation:",
        gc_runs,
        f"{sum(gc_time) / elapsed:.0%} of the wall time",
        [f"{t * 1000 / max(r, 1):.1f} ms each" for t, r in zip(gc_time, gc_runs, strict=True)],
    )
    for name, c in zip(STEPS, by_step, strict=True):
        print(f"  {name:>10}:", {k: f"{v / users:.2f}" for k, v in sorted(c.items())})
    profiler.dump_stats(f"/tmp/firma-bot-{backend}.prof")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    await runtime.close()
    await engine.dispose()
    await fake.stop()
    gc.unfreeze()


async def main(backends: list[str]) -> None:
    rows = []
    for i, backend in enumerate(backends):
        rows += await run_backend(backend, 18_700 + i)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        "db",
        "bot",
        "updates/s",
        "p50 ms",
        "p99 ms",
        f"p99 ms @{RATE}/s",
        "CPU ms/update",
        "ratio",
        "CPU ratio",
    ]
    print(table(f"Firma bot benchmark, {when}, {os.cpu_count()} cores:", header, rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--serve")
    parser.add_argument("--db")
    parser.add_argument("--api")
    parser.add_argument("--port", type=int)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--pre-ping", action="store_true")
    args = parser.parse_args()
    if args.profile:
        asyncio.run(profile(args.backends.split(","), args.users, args.top, args.pre_ping))
    elif args.serve:
        serve(args.serve, args.db, args.api, args.port)
    else:
        asyncio.run(main(args.backends.split(",")))
