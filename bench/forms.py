"""Web form submissions/s under 50 concurrent clients, beside GET /healthz.

A program, not a test: ``.venv/bin/python bench/forms.py [--backends sqlite,postgresql]``.
Firma runs under one uvicorn worker in a child process, with the whole app mounted
(worker off, rate limits out of the way). The load generator is a minimal HTTP/1.1
keep-alive client written here (httpx costs several times more CPU per request, and
the generator shares the machine's cores with the server).

Two kinds of load, each for ``--seconds``:
- **closed loop**: 50 clients, each sending its next request when the last is answered —
  the throughput figure (submissions/s beside healthz/s, the framework's ceiling),
  measured in ``--rounds`` alternating slices so both see the same (shared, noisy)
  machine. Latency here is set by Little's law: 50 in flight / throughput. The server
  process's own CPU time per request is read from ``/proc`` around each slice: a figure
  the neighbours' load barely moves (the PostgreSQL server's CPU is not in it).
- **open loop**: requests arrive at a fixed rate (a share of the measured capacity),
  at most 50 in flight; latency counts from the moment a request was due, so time spent
  waiting for a free connection is included — what a visitor sees at that traffic.

Every submission is JSON with unique contacts and its own signed form token (a token
makes one submission). PostgreSQL: database ``firma_h1_bench`` (``FIRMA_BENCH_DATABASE_URL``
overrides).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault(
    "FIRMA_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/firma_h1_bench"
)

from bench.common import fresh_engine, p50, p99, table
from crm_core.db import session_factory, unit_of_work
from crm_core.forms import create_form
from firma.settings import Settings
from webforms.tokens import issue_token

FIELDS = [
    {"name": "name", "type": "name", "label": "Имя"},
    {"name": "phone", "type": "phone", "label": "Телефон"},
    {"name": "email", "type": "email", "label": "Email"},
    {"name": "message", "type": "textarea", "label": "Вопрос"},
]
Request = Callable[[int], bytes]


def serve(url: str, port: int) -> None:
    """Child process: the whole Firma app (worker off) with limits out of the way."""
    import uvicorn

    from firma.app import Runtime, create_app

    runtime = Runtime.from_settings(Settings(database_url=url, port=port))
    app = create_app(runtime, with_bot=False)
    forms = next(r.app.state.webforms for r in app.routes if getattr(r, "path", "") == "/forms")
    forms.config.per_ip_limit = forms.config.per_form_limit = 10**9
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read one response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, port: int) -> Connection:
        conn = cls(port)
        conn.reader, conn.writer = await asyncio.open_connection("127.0.0.1", port)
        return conn

    async def call(self, request: bytes) -> tuple[int, bytes]:
        try:
            return await self._call(request)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            # The server closed a connection left idle past its keep-alive timeout
            # before reading the request: open a new one and send it again.
            self.close()
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            return await self._call(request)

    async def _call(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        self.writer.close()


def get(path: str) -> Request:
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    return lambda _n: raw


def submission(form_id: int, consent_id: int, secret: str) -> Request:
    """A unique submission with its own token, issued 3 s back (the minimum fill time)."""

    def build(n: int) -> bytes:
        issued = datetime.now(UTC) - timedelta(seconds=3)
        body = json.dumps(
            {
                "name": f"Клиент {n}",
                "phone": f"+7916{n:07d}",
                "email": f"client{n}@example.ru",
                "message": "Перезвоните, пожалуйста",
                "consent": True,
                "_token": issue_token(secret, form_id, consent_id, None, issued),
                "_idempotency_key": f"bench-{n}",
                "utm_source": "bench",
            },
            ensure_ascii=False,
        ).encode()
        head = (
            "POST /forms/bench HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return build


async def closed_loop(
    port: int, clients: int, seconds: float, request: Request, counter: itertools.count
) -> tuple[float, list[float]]:
    """``clients`` connections, each sending its next request when answered."""
    conns = [await Connection.open(port) for _ in range(clients)]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            raw = request(next(counter))
            start = time.perf_counter()
            status, body = await conn.call(raw)
            latencies.append(time.perf_counter() - start)
            assert status in (200, 201), (status, body[:300])

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in conns))
    elapsed = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return len(latencies) / elapsed, latencies


async def open_loop(
    port: int, clients: int, seconds: float, rate: float, request: Request, counter
) -> tuple[float, list[float]]:
    """Requests due every 1/rate s; at most ``clients`` in flight; latency from due time."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(clients):
        pool.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    tasks = []

    async def one(due: float) -> None:
        raw = request(next(counter))
        conn = await pool.get()
        try:
            status, body = await conn.call(raw)
        finally:
            pool.put_nowait(conn)
        latencies.append(time.perf_counter() - due)
        assert status in (200, 201), (status, body[:300])

    start = time.perf_counter()
    total = int(seconds * rate)
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return len(latencies) / elapsed, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(values: list[float], pick) -> str:
    return f"{pick(values) * 1000:.0f}"


async def bench(
    backend: str, clients: int, seconds: float, port: int, rounds: int, rates: list[float]
) -> dict[str, list]:
    engine = await fresh_engine(backend)
    url = engine.url.render_as_string(hide_password=False)
    async with unit_of_work(session_factory(engine)) as session:
        form = await create_form(
            session, slug="bench", title="Bench", fields=FIELDS, consent_text="Да"
        )
    await engine.dispose()
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", url, str(port)
    )
    health = get("/healthz")
    submit = submission(form.id, form.consent_text_id, Settings().secret_key)
    counter = itertools.count()
    try:
        for _ in range(1200):  # importing the whole app takes a while on a busy machine
            try:
                conn = await Connection.open(port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the server did not start within 120 s")
        assert (await conn.call(health(0)))[0] == 200
        conn.close()
        await closed_loop(port, clients, 1, health, counter)  # warm-up
        await closed_loop(port, clients, 1, submit, counter)
        # Alternate short slices so both see the same (noisy) machine.
        h_lat: list[float] = []
        s_lat: list[float] = []
        h_time = s_time = h_cpu = s_cpu = 0.0
        for _ in range(rounds):
            cpu = cpu_seconds(child.pid)
            rps, lat = await closed_loop(port, clients, seconds / rounds, health, counter)
            h_cpu += cpu_seconds(child.pid) - cpu
            h_lat += lat
            h_time += len(lat) / rps
            cpu = cpu_seconds(child.pid)
            rps, lat = await closed_loop(port, clients, seconds / rounds, submit, counter)
            s_cpu += cpu_seconds(child.pid) - cpu
            s_lat += lat
            s_time += len(lat) / rps
        h_rps, s_rps = len(h_lat) / h_time, len(s_lat) / s_time
        closed = [
            backend,
            clients,
            f"{h_rps:.0f}",
            f"{s_rps:.0f}",
            f"{s_rps / h_rps:.2f}",
            ms(s_lat, p50),
            ms(s_lat, p99),
            ms(h_lat, p50),
            ms(h_lat, p99),
            f"{h_cpu / len(h_lat) * 1000:.2f}",
            f"{s_cpu / len(s_lat) * 1000:.2f}",
        ]
        opened = []
        loads = [(f"{share:.2f}", max(1.0, round(s_rps * share))) for share in (0.25, 0.5)]
        loads += [("fixed", rate) for rate in rates]  # (the same for two versions)
        for share, rate in loads:
            got, lat = await open_loop(port, clients, seconds, rate, submit, counter)
            opened.append([backend, share, f"{rate:.0f}", f"{got:.0f}"])
            opened[-1] += [ms(lat, p50), ms(lat, p99), ms(lat, max)]
    finally:
        child.terminate()
        await asyncio.wait_for(child.wait(), 10)
    return {"closed": closed, "open": opened}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rounds", type=int, default=5, help="alternating slices")
    parser.add_argument(
        "--open-rates", default="", help="comma list of fixed open-loop rates (submissions/s)"
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.open_rates.split(",") if r]
    print(
        f"Firma web forms benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores"
    )
    results = [
        await bench(b, args.clients, args.seconds, args.port, args.rounds, rates)
        for b in args.backends.split(",")
    ]
    print(
        table(
            "Closed loop: POST /forms/{slug} (JSON, unique contacts, 1 uvicorn worker) "
            "beside GET /healthz",
            [
                "db",
                "clients",
                "healthz/s",
                "submissions/s",
                "ratio",
                "p50 ms",
                "p99 ms",
                "healthz p50 ms",
                "healthz p99 ms",
                "server CPU ms/healthz",
                "/submission",
            ],
            [r["closed"] for r in results],
        )
    )
    print(
        table(
            f"Open loop: submissions arriving at a fixed rate, ≤ {args.clients} in flight",
            ["db", "share of capacity", "offered/s", "done/s", "p50 ms", "p99 ms", "max ms"],
            [row for r in results for row in r["open"]],
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        asyncio.run(main())
