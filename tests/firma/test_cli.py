"""The ``firma`` command as people run it: a real subprocess against the test database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select

from crm_core.models import ApiToken, Employee


def _firma(url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIRMA_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "firma", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def db_url(engine, sessions) -> str:
    return engine.url.render_as_string(hide_password=False)


async def test_upgrade_employee_and_token(db_url, sessions):
    done = _firma(db_url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    done = _firma(
        db_url,
        "employee",
        "add",
        "--name",
        "Ольга Смирнова",
        "--email",
        "Olga@Firma.ru",
        "--role",
        "admin",
        "--password",
        "correct horse",
    )
    assert done.returncode == 0, done.stderr
    done = _firma(db_url, "apitoken", "create", "--name", "1c")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("fk_") and len(token) > 40
    async with sessions() as s:
        employee = (await s.scalars(select(Employee))).one()
        assert (employee.email, employee.role.value) == ("olga@firma.ru", "admin")
        # The production profile (RFC 9106 low-memory), not the suite's cheap one.
        assert employee.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        stored = (await s.scalars(select(ApiToken))).one()
        assert token not in stored.token_hash  # only the digest is kept


@pytest.mark.parametrize(
    "args, message",
    [
        (("employee", "add", "--name", "X", "--email", "not-an-email"), "Not a valid email"),
        (
            ("employee", "add", "--name", "X", "--email", "x@y.ru", "--password", "short"),
            "at least 8",
        ),
        (("employee", "add", "--email", "x@y.ru"), "Missing option"),
        (("apitoken", "create", "--name", "  "), "Token name is required"),
        (("no-such-command",), "No such command"),
    ],
)
async def test_bad_input_is_one_line_and_exit_2(db_url, args, message):
    done = _firma(db_url, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


async def test_duplicate_employee_email_exit_2(db_url):
    assert _firma(db_url, "employee", "add", "--name", "A", "--email", "a@b.ru").returncode == 0
    done = _firma(db_url, "employee", "add", "--name", "B", "--email", "A@B.ru")
    assert done.returncode == 2 and "already exists" in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_answers_health(db_url):
    port = _free_port()
    env = {**os.environ, "FIRMA_DATABASE_URL": db_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "firma",
        "serve",
        "--port",
        str(port),
        "--no-bot",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=1) as http:
            deadline = time.monotonic() + 90  # a start on a loaded 2-core machine
            while True:
                try:
                    response = await http.get("/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.returncode is not None:
                        raise
                    await asyncio.sleep(0.2)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=15)


async def test_rebuild_figures_recomputes_the_order_summaries(db_url, sessions):
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from crm_core.models import OrderDayFigure
    from tests.factories.activity import make_customer, make_order

    async with sessions() as s, s.begin():
        customer = await make_customer(s)
        for day, total in ((1, "100.50"), (1, "20.00"), (2, "7.25")):
            at = datetime(2026, 3, day, 10, tzinfo=UTC)
            await make_order(s, customer=customer, date=at, total=total)

    async def figures():
        async with sessions() as s:
            rows = await s.scalars(select(OrderDayFigure).order_by(OrderDayFigure.day))
            return [(f.day.day, f.orders, f.amount_kopecks) for f in rows if f.orders]

    kept = await figures()
    assert kept == [(1, 2, 12050), (2, 1, 725)]
    async with sessions() as s, s.begin():  # changed behind the services' back
        await s.execute(delete(OrderDayFigure))
    assert await figures() == []
    done = _firma(db_url, "db", "rebuild-figures")
    assert done.returncode == 0, done.stderr
    assert "2 day rows" in done.stdout
    assert await figures() == kept
