"""Campaign throughput: N personalised emails (HTML + text, a personal unsubscribe
link each) through the real campaign runner to a local SMTP sink, beside — in the
same run, to the same kind of sink, over the same number of connections — a bare
aiosmtplib loop sending one prebuilt message N times (the ceiling).

    .venv/bin/python bench/campaign.py [--sizes 10000,100000] [--backend sqlite]
                                       [--connections 4] [--concurrency 32]
                                       [--compare-contexts] [--dkim] [--profile PATH]

The sink is aiosmtpd in its own process (Debian's postfix ``smtp-sink`` is used when
it is on PATH). Each Firma run is its own process too, so its peak RSS is its own;
recipients are streamed (claims of at most ``batch_size`` rows), so the peak should
not grow with N. The sink counts Message-IDs: duplicates must be zero. CPU µs a
message (the ceiling's own loop, the Firma process with its threads) compares the
two where the wall-clock rates swing with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BODY = """<h1>Здравствуйте, {{ customer.name }}!</h1>
<p>Весенняя распродажа в «{{ firm.name or 'Уютном доме' }}»: скидки до 30 % на мебель и свет.</p>
<ul>{% for tag in customer.tags %}<li>{{ tag }}</li>{% endfor %}</ul>
<p>Ваш менеджер: {{ employee.name if employee else 'отдел продаж' }}.</p>
<p><a href="{{ unsubscribe_url }}">Отписаться от рассылки</a></p>"""
TEXT = """Здравствуйте, {{ customer.name }}!
Весенняя распродажа: скидки до 30 %.
Отписаться: {{ unsubscribe_url }}"""
MID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# ---------------------------------------------------------------- the sink process


def run_sink(port_file: str) -> None:
    """aiosmtpd accepting everything; on SIGTERM prints the Message-ID counts."""
    from aiosmtpd.controller import Controller

    ids: Counter[bytes] = Counter()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            found = MID.search(envelope.original_content or envelope.content)
            ids[found.group(1) if found else b""] += 1
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    Path(port_file).write_text(str(port))
    done = False

    def stop(*_args) -> None:
        nonlocal done
        done = True

    signal.signal(signal.SIGTERM, stop)
    while not done:
        time.sleep(0.05)
    controller.stop()
    print(json.dumps({"messages": sum(ids.values()), "unique": len(ids)}), flush=True)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """postfix's ``smtp-sink`` (dumping every message to one file) when installed,
    else aiosmtpd in its own process; either way the Message-IDs are counted."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.postfix = shutil.which("smtp-sink") is not None

    def __enter__(self) -> Sink:
        if self.postfix:
            self.port = _free_port()
            self.dump = self.tmp / f"sink-{self.port}.dump"
            self.dump.unlink(missing_ok=True)
            self.proc = subprocess.Popen(
                ["smtp-sink", "-u", "nobody", "-D", str(self.dump), f"127.0.0.1:{self.port}", "512"]
            )
            import socket

            for _ in range(200):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                        break
                time.sleep(0.05)
            return self
        port_file = self.tmp / "sink.port"
        port_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(port_file)], stdout=subprocess.PIPE
        )
        while not port_file.exists() or not port_file.read_text():
            if self.proc.poll() is not None:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        return self

    def __exit__(self, *exc) -> None:
        if self.postfix:
            time.sleep(0.5)  # let the last dump writes land
            self.proc.terminate()
            self.proc.wait(30)
            ids: Counter[bytes] = Counter()
            with self.dump.open("rb") as fp:
                for line in fp:
                    if line[:11].lower() == b"message-id:":
                        ids[line[11:].strip()] += 1
            self.dump.unlink()
            self.result = {"messages": sum(ids.values()), "unique": len(ids)}
            return
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        self.result = json.loads(out.decode().strip().splitlines()[-1])


# ---------------------------------------------------------------- the ceiling


async def ceiling(port: int, n: int, connections: int) -> float:
    """One prebuilt message, N times, over ``connections`` reused connections."""
    import aiosmtplib

    from messaging.email import OutgoingEmail, build_message

    message = build_message(
        OutgoingEmail(
            to="client@example.com",
            subject="Весенняя распродажа",
            text="Здравствуйте! Скидки до 30 %.",
            html="<h1>Здравствуйте!</h1><p>Скидки до 30 %.</p>",
            message_id="<ceiling@firma.example>",
        ),
        mail_from="Firma <shop@firma.example>",
        reply_to=None,
    )
    raw = message.as_bytes()
    counter = iter(range(n))

    async def one_connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await client.connect()
        for _ in counter:
            await client.sendmail("shop@firma.example", ["client@example.com"], raw)
        await client.quit()

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    ceiling.cpu_us = (time.process_time() - cpu) / n * 1e6  # this process's CPU a message
    return n / (time.perf_counter() - start)


# ---------------------------------------------------------------- Firma, in its own process


async def firma_run(
    n: int,
    port: int,
    backend: str,
    connections: int,
    concurrency: int,
    orm: bool = False,
    dkim: bool = False,
    profile: str | None = None,
) -> dict:
    from bench.common import fresh_engine
    from crm_core.context import SYSTEM, SystemClock
    from crm_core.db import session_factory, unit_of_work
    from crm_core.models import Channel
    from messaging.campaigns import create_campaign, delivery_counts, get_campaign, start_campaign
    from messaging.config import MessagingConfig, SmtpConfig
    from messaging.email import SmtpTransport
    from messaging.runner import CampaignRunner
    from messaging.templates import create_template
    from tests.messaging.bulk import bulk_customers

    engine = await fresh_engine(backend)
    sessions = session_factory(engine)
    clock = SystemClock()
    async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as s:
        await bulk_customers(s, n, Channel.EMAIL, at=clock.now(), chunk=5000)
        template = await create_template(
            s,
            kind="letter",
            name="Весна",
            subject="{{ customer.name }}, скидки",
            body=BODY,
            text_body=TEXT,
        )
        campaign = await create_campaign(
            s,
            name="Весна",
            channel="email",
            template_id=template.id,
            segment={"tags": ["bulk"]},
            rate_per_second=10_000,
            max_errors=0,
        )
    if backend == "postgresql":  # fresh planner statistics, as a live database has
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as s:
        await start_campaign(s, campaign.id)  # the snapshot: INSERT … SELECT
    snapshot = time.perf_counter() - start
    config = MessagingConfig(
        mail_from="Firma <shop@firma.example>",
        smtp=SmtpConfig(host="127.0.0.1", port=port, pool_size=connections),
        secret_key="bench-secret",
        public_url="https://crm.firma.example",
        dkim=_dkim_key() if dkim else None,
    )
    transport = SmtpTransport(config)
    marks = _count_sends(transport)
    if orm:  # the claim's contexts as they were built before
        import messaging.runner

        messaging.runner.build_contexts = orm_contexts
    runner = CampaignRunner(sessions, transport, config, concurrency=concurrency)
    profiler = None
    if profile:  # the sending only, not the seeding (main thread; SQLAlchemy's greenlets
        import cProfile  # blur the attribution of the statements' time)

        profiler = cProfile.Profile()
        profiler.enable()
    start, cpu = time.perf_counter(), time.process_time()
    while await runner.run_once():
        pass
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu  # every thread of the process (aiosqlite's too)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    await runner.close()
    async with sessions() as s:
        state = (await get_campaign(s, campaign.id)).state
        counts = (await delivery_counts(s, [campaign.id]))[campaign.id]
    costs = await claim_costs(engine, sessions, campaign.id)
    await engine.dispose()
    return {
        **costs,
        **_start_and_end(marks),
        "dkim": dkim,
        "n": n,
        "contexts": "ORM" if orm else "rows",
        "rate": counts["sent"] / elapsed,
        "cpu_us": cpu / max(1, counts["sent"]) * 1e6,
        "elapsed": elapsed,
        "snapshot": snapshot,
        "sent": counts["sent"],
        "state": str(state),
        "rss_before_mb": rss_before / 1024,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


PER = 1000  # messages per window of the start-vs-end comparison


def _count_sends(transport) -> list[float]:
    """The time of every PER-th message the transport sent (wraps its send)."""
    marks = [time.perf_counter()]
    send, count = transport.send, 0

    async def counted(email):
        nonlocal count
        result = await send(email)
        count += 1
        if count % PER == 0:
            marks.append(time.perf_counter())
        return result

    transport.send = counted
    return marks


def _start_and_end(marks: list[float]) -> dict:
    """Messages/s per window of PER, the median over the first and over the last
    tenth of the run (at least one window each): does sending slow as it goes?"""
    import statistics

    rates = [PER / (b - a) for a, b in itertools.pairwise(marks) if b > a]
    if len(rates) < 3:
        return {"start_rate": None, "end_rate": None}
    k = max(1, len(rates) // 10)
    return {
        "start_rate": statistics.median(rates[1 : 1 + k]),  # the first window warms up
        "end_rate": statistics.median(rates[-k:]),
    }


def _dkim_key():
    """A fresh 2048-bit RSA key in a temporary file, for --dkim."""
    import tempfile

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from messaging.config import DkimConfig

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = Path(tempfile.mkdtemp(prefix="firma-bench-dkim-")) / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return DkimConfig("mail", "firma.example", str(path))


async def orm_contexts(session, customer_ids: list[int]) -> dict:
    """How a claim's contexts were built before (ORM objects with their collections),
    kept here to compare in the same run: ``--orm-contexts`` sends with it."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from crm_core.context import actor_of, now
    from crm_core.invoices.firm import get_firm
    from crm_core.models import ContactPerson, Customer, Employee
    from messaging.context import _contact_vars, customer_vars

    if not customer_ids:
        return {}
    customers = list(
        await session.scalars(
            select(Customer)
            .where(Customer.id.in_(customer_ids))
            .options(
                selectinload(Customer.contacts),
                selectinload(Customer.tags),
                selectinload(Customer.contact_persons).selectinload(ContactPerson.contacts),
            )
        )
    )
    firm = await get_firm(session)
    actor_employee = actor_of(session).employee_id
    wanted = {actor_employee or c.responsible_id for c in customers} - {None}
    employees = {
        e.id: {"name": e.name, "email": e.email}
        for e in await session.scalars(select(Employee).where(Employee.id.in_(wanted)))
    }
    today = now(session)
    return {
        c.id: {
            "firm": dict(firm),
            "customer": customer_vars(c),
            "contact": _contact_vars(c),
            "order": None,
            "employee": employees.get(actor_employee or c.responsible_id),
            "today": today,
        }
        for c in customers
    }


async def claim_costs(engine, sessions, campaign_id: int, repeat: int = 20) -> dict:
    """Over the N delivery rows just written, in one transaction rolled back: the
    lease recovery each pass runs, as a scan of every delivery row (before) and per
    campaign that may hold claims (now); and building the contexts of one claim."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from crm_core.context import SYSTEM, SystemClock
    from crm_core.db import unit_of_work
    from crm_core.models import Campaign, Delivery
    from messaging.context import build_contexts
    from messaging.runner import recover_lost_claims

    before = datetime.now(UTC) - timedelta(minutes=5)
    scan = (
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at < before)
        .values(status="pending")
    )
    out = {}
    recover = recover_lost_claims(before)
    recover = recover if isinstance(recover, tuple) else (recover,)  # one statement before
    async with engine.connect() as conn:
        # Mid-campaign, as the recovery sees it on every pass.
        mid = update(Campaign).where(Campaign.id == campaign_id).values(state="sending")
        await conn.execute(mid)
        for name, stmts in (
            ("recover_scan_ms", (scan,)),
            ("recover_per_campaign_ms", recover),
        ):
            for stmt in stmts:
                await conn.execute(stmt)
            start = time.perf_counter()
            for _ in range(repeat):
                for stmt in stmts:
                    await conn.execute(stmt)
            out[name] = (time.perf_counter() - start) / repeat * 1000
        await conn.rollback()
    async with unit_of_work(sessions, actor=SYSTEM, clock=SystemClock()) as s:
        ids = list(
            await s.scalars(
                select(Delivery.customer_id)
                .where(Delivery.campaign_id == campaign_id)
                .order_by(Delivery.id)
                .limit(500)
            )
        )
        for name, build in (("contexts_orm_500_ms", orm_contexts), ("contexts_500_ms", None)):
            build = build or build_contexts
            await build(s, ids)
            start = time.perf_counter()
            for _ in range(5):
                await build(s, ids)
            out[name] = (time.perf_counter() - start) / 5 * 1000
    return out


def firma_in_process(args, n: int, port: int, *, orm: bool = False) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            *(["--orm-contexts"] if orm else []),
            *(["--dkim"] if args.dkim else []),
            *(["--profile", f"{args.profile}.{n}"] if args.profile else []),
            "--firma",
            str(n),
            "--port",
            str(port),
            "--backend",
            args.backend,
            "--connections",
            str(args.connections),
            "--concurrency",
            str(args.concurrency),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--compare-contexts",
        action="store_true",
        help="also send each N with the claim contexts built as ORM objects (as before)",
    )
    parser.add_argument("--orm-contexts", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--dkim", action="store_true", help="sign every message (a fresh 2048-bit RSA key)"
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="write a cProfile dump of each Firma run's sending to PATH.<N> "
        "(read with python -m pstats; the rates are then not comparable)",
    )
    parser.add_argument("--sink")
    parser.add_argument("--firma", type=int)
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink)
        return
    if args.firma:
        result = asyncio.run(
            firma_run(
                args.firma,
                args.port,
                args.backend,
                args.connections,
                args.concurrency,
                orm=args.orm_contexts,
                dkim=args.dkim,
                profile=args.profile,
            )
        )
        print(json.dumps(result), flush=True)
        return
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"firma-bench-campaign-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    tmp.chmod(0o1777)  # smtp-sink writes its dump as "nobody"
    sink_kind = (
        "postfix smtp-sink (Debian)" if shutil.which("smtp-sink") else "aiosmtpd (own process)"
    )
    print(
        f"sink: {sink_kind}; backend {args.backend}; {args.connections} SMTP connections; "
        f"{args.concurrency} sends in flight; {os.cpu_count()} CPUs"
    )
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        with Sink(tmp) as sink:
            ceiling_rate = asyncio.run(ceiling(sink.port, n, args.connections))
            ceiling_cpu = ceiling.cpu_us
        for orm in (True, False) if args.compare_contexts else (False,):
            with Sink(tmp) as sink:
                firma = firma_in_process(args, n, sink.port, orm=orm)
            firma["ceiling_cpu_us"] = ceiling_cpu
            report(n, ceiling_rate, firma, sink, rows)
    print()
    print(
        f"| N | contexts | DKIM | ceiling msg/s | Firma msg/s | ratio | msg/s per {PER} "
        "start → end | CPU µs/msg ceiling / Firma | CPU ratio | peak RSS MB | duplicates |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, ceiling_rate, firma, _sink, dups in rows:
        print(
            f"| {n:,} | {firma['contexts']} | {'yes' if firma['dkim'] else 'no'} | "
            f"{ceiling_rate:.0f} | {firma['rate']:.0f} | {firma['rate'] / ceiling_rate:.2f} | "
            f"{_fmt(firma['start_rate'])} → {_fmt(firma['end_rate'])} | "
            f"{firma['ceiling_cpu_us']:.0f} / {firma['cpu_us']:.0f} | "
            f"{firma['ceiling_cpu_us'] / firma['cpu_us']:.2f} | "
            f"{firma['peak_rss_mb']:.0f} | {dups} |"
        )


def _fmt(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0f}"


def report(n: int, ceiling_rate: float, firma: dict, sink: Sink, rows: list) -> None:
    dups = sink.result["messages"] - sink.result["unique"]
    rows.append((n, ceiling_rate, firma, sink.result, dups))
    print(
        f"N={n:>7} ({firma['contexts']} contexts): ceiling {ceiling_rate:8.0f} msg/s | "
        f"Firma {firma['rate']:7.0f} msg/s (ratio {firma['rate'] / ceiling_rate:.2f}), "
        f"{firma['elapsed']:.1f} s, snapshot {firma['snapshot']:.2f} s, peak RSS "
        f"{firma['peak_rss_mb']:.0f} MB (after seeding {firma['rss_before_mb']:.0f} MB); sink "
        f"got {sink.result['messages']}, {dups} duplicate Message-IDs; campaign {firma['state']}; "
        f"per {PER}: {_fmt(firma['start_rate'])} msg/s at the start, "
        f"{_fmt(firma['end_rate'])} at the end",
        flush=True,
    )
    print(
        f"    lease recovery over {n} rows: scan {firma['recover_scan_ms']:.1f} ms, "
        f"per campaign {firma['recover_per_campaign_ms']:.2f} ms; contexts of one claim "
        f"(500): ORM {firma['contexts_orm_500_ms']:.0f} ms, rows {firma['contexts_500_ms']:.0f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
