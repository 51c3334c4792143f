"""Web form submissions/s under 50 concurrent clients, beside GET /healthz.

A program, not a test: ``.venv/bin/python bench/forms.py [--backends sqlite,postgresql]``.
Firma runs under one uvicorn worker in a child process (so the load generator does
not share its CPU and GIL); 50 clients post JSON with unique contacts as fast as
they are answered, after the same clients have measured /healthz for the same time.
PostgreSQL: database ``firma_h5_bench`` (``FIRMA_BENCH_DATABASE_URL`` overrides).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h5_bench"
)

import httpx

from bench.common import fresh_engine, p50, p99, table
from crm_core.db import session_factory, unit_of_work
from crm_core.forms import create_form

FIELDS = [
    {"name": "name", "type": "name", "label": "Имя"},
    {"name": "phone", "type": "phone", "label": "Телефон"},
    {"name": "email", "type": "email", "label": "Email"},
    {"name": "message", "type": "textarea", "label": "Вопрос"},
]


def serve(url: str, port: int) -> None:
    """Child process: the whole Firma app (worker off) with limits out of the way."""
    import uvicorn

    from firma.app import Runtime, create_app
    from firma.settings import Settings

    runtime = Runtime.from_settings(Settings(database_url=url, port=port))
    app = create_app(runtime)
    forms = next(r.app.state.webforms for r in app.routes if getattr(r, "path", "") == "/forms")
    forms.config.per_ip_limit = forms.config.per_form_limit = 10**9
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)


async def load(base: str, clients: int, seconds: float, request) -> tuple[int, list[float]]:
    """``clients`` loops calling ``request(client, n)`` until time is up."""
    latencies: list[float] = []
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await request(client, next(counter))
                latencies.append(time.perf_counter() - start)
                assert response.status_code in (200, 201), response.text

        await asyncio.gather(*(one() for _ in range(clients)))
    return len(latencies), latencies


async def bench(backend: str, clients: int, seconds: float, port: int) -> list[object]:
    engine = await fresh_engine(backend)
    url = engine.url.render_as_string(hide_password=False)
    async with unit_of_work(session_factory(engine)) as session:
        await create_form(session, slug="bench", title="Bench", fields=FIELDS, consent_text="Да")
    await engine.dispose()
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", url, str(port)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as c:
            for _ in range(100):
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            token = (await c.get("/forms/bench/token")).json()["token"]
        await asyncio.sleep(2.2)  # the token's minimum fill time, in real time here

        async def health(client, _n):
            return await client.get("/healthz")

        async def submit(client, n):
            body = {
                "name": f"Клиент {n}",
                "phone": f"+7916{n:07d}",
                "email": f"client{n}@example.ru",
                "message": "Перезвоните, пожалуйста",
                "consent": True,
                "_token": token,
                "_idempotency_key": f"bench-{n}",
                "utm_source": "bench",
            }
            return await client.post("/forms/bench", json=body)

        await load(base, clients, 1, health)  # warm-up
        h_count, h_lat = await load(base, clients, seconds, health)
        s_count, s_lat = await load(base, clients, seconds, submit)
    finally:
        child.terminate()
        await asyncio.wait_for(child.wait(), 10)
    h_rps, s_rps = h_count / seconds, s_count / seconds
    return [
        backend,
        clients,
        f"{h_rps:.0f}",
        f"{s_rps:.0f}",
        f"{s_rps / h_rps:.2f}",
        f"{p50(s_lat) * 1000:.1f}",
        f"{p99(s_lat) * 1000:.1f}",
        f"{p99(h_lat) * 1000:.1f}",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    print(
        f"Firma web forms benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores"
    )
    rows = [await bench(b, args.clients, args.seconds, args.port) for b in args.backends.split(",")]
    header = ["db", "clients", "healthz/s", "submissions/s", "ratio", "p50 ms", "p99 ms"]
    print(
        table(
            "POST /forms/{slug} (JSON, unique contacts, 1 uvicorn worker)",
            [*header, "healthz p99 ms"],
            rows,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        asyncio.run(main())
