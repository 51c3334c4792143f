"""PostgreSQL connections are pinged on checkout only after sitting idle
(``crm_core.db.ping_when_idle``): a connection killed while idle is replaced before a
unit of work sees it; one killed in steady use fails one unit, and the next works."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crm_core.db import create_engine, session_factory, unit_of_work


@pytest.fixture
def pg_url(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connections and their server processes")
    return engine.url.render_as_string(hide_password=False)


async def _backend_pid(eng) -> int:
    async with eng.connect() as conn:
        return await conn.scalar(text("SELECT pg_backend_pid()"))


async def _kill(admin, pid: int) -> None:
    async with admin.connect() as conn:
        assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def _count_pings(eng) -> list[int]:
    pings = [0]
    original = eng.sync_engine.dialect.do_ping

    def counting(dbapi_connection):
        pings[0] += 1
        return original(dbapi_connection)

    eng.sync_engine.dialect.do_ping = counting
    return pings


async def test_a_busy_connection_is_not_pinged_and_an_idle_one_is(pg_url):
    eng = create_engine(pg_url, pool_size=1)
    pings = _count_pings(eng)
    try:
        for _ in range(5):
            await _backend_pid(eng)
        assert pings[0] == 1  # the first checkout of a new connection only
    finally:
        await eng.dispose()
    idle = create_engine(pg_url, pool_size=1, idle_ping_s=0)  # every checkout is "idle"
    pings = _count_pings(idle)
    try:
        for _ in range(3):
            await _backend_pid(idle)
        assert pings[0] == 3
    finally:
        await idle.dispose()


async def test_a_connection_killed_while_idle_is_replaced_before_use(pg_url):
    admin = create_engine(pg_url)
    eng = create_engine(pg_url, pool_size=1, idle_ping_s=0)
    sessions = session_factory(eng)
    try:
        first = await _backend_pid(eng)
        await _kill(admin, first)
        async with unit_of_work(sessions) as s:  # no error: the ping found it dead
            second = await s.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await eng.dispose()
        await admin.dispose()


async def test_a_connection_killed_in_steady_use_fails_one_unit_and_the_next_works(pg_url):
    admin = create_engine(pg_url)
    eng = create_engine(pg_url, pool_size=1)  # idle for less than 10 s: not pinged
    sessions = session_factory(eng)
    try:
        first = await _backend_pid(eng)
        await _kill(admin, first)
        with pytest.raises(DBAPIError) as failed:
            async with unit_of_work(sessions) as s:
                await s.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        async with unit_of_work(sessions) as s:
            assert await s.scalar(text("SELECT pg_backend_pid()")) != first
    finally:
        await eng.dispose()
        await admin.dispose()
