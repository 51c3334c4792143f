"""SQLite through ``crm_core.sqlite_driver``: one call on the connection's thread per
statement, the BEGIN held back for the first statement, and nothing else changed —
rows, counts, ids, errors, locks and streaming behave as with aiosqlite's adapter."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_core.db import create_engine, session_factory, unit_of_work


@pytest.fixture
async def lite(tmp_path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"
        )
    yield engine
    await engine.dispose()


class CountedQueue:
    """Stands in for an aiosqlite connection's queue of calls (its thread keeps reading
    the real one) and counts what is put on it."""

    def __init__(self, queue) -> None:
        self.queue, self.puts = queue, 0

    def put_nowait(self, item) -> None:
        self.puts += 1
        self.queue.put_nowait(item)


@contextmanager
def counted_hops(conn) -> Iterator[CountedQueue]:
    driver = conn.sync_connection.connection.driver_connection
    counted = CountedQueue(driver._tx)
    driver._tx = counted
    try:
        yield counted
    finally:
        driver._tx = counted.queue


async def test_the_driver_is_selected_for_aiosqlite_urls(lite):
    assert lite.url.drivername == "sqlite+firma"
    assert lite.dialect.driver == "aiosqlite"  # the same SQL as aiosqlite's dialect


async def test_a_transaction_is_one_call_per_statement_and_one_for_its_commit(lite):
    async with lite.connect() as conn:
        with counted_hops(conn) as hops:
            async with conn.begin():  # BEGIN IMMEDIATE (crm_core.db), held back
                await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
                rows = (await conn.execute(text("SELECT id, name FROM t"))).all()
    assert rows == [(1, "a")]
    assert hops.puts == 3  # BEGIN with the INSERT, the SELECT, the COMMIT


async def test_a_unit_of_work_costs_no_call_for_the_pools_reset(lite):
    """Given back after its commit, the connection is rolled back by the pool: with no
    transaction open that is no call on the thread."""
    sessions = session_factory(lite)
    async with lite.connect() as conn:  # the pool's connection, wrapped before the unit
        raw = conn.sync_connection.connection.driver_connection
    counted = CountedQueue(raw._tx)
    raw._tx = counted
    try:
        async with unit_of_work(sessions) as s:
            await s.execute(text("INSERT INTO t (name) VALUES ('u')"))
    finally:
        raw._tx = counted.queue
    assert counted.puts == 2  # BEGIN with the INSERT, the COMMIT


async def test_a_transaction_without_statements_costs_no_call(lite):
    async with lite.connect() as conn:
        with counted_hops(conn) as hops:
            async with conn.begin():
                pass
            async with conn.begin():
                await conn.rollback()
    assert hops.puts == 0


async def test_results_counts_and_ids_are_what_sqlite_gave(lite):
    async with lite.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
        assert inserted.lastrowid == 1
        await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "y"}, {"n": "z"}])
        updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        result = await conn.execute(text("SELECT name FROM t ORDER BY id"))
        assert list(result.keys()) == ["name"]
        assert result.scalars().all() == ["x", "y!", "z!"]
        empty = await conn.execute(text("SELECT name FROM t WHERE id < 0"))
        assert empty.all() == []


async def test_a_failing_statement_raises_as_before_and_the_unit_rolls_back(lite):
    sessions = session_factory(lite)
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as s:
            await s.execute(text("INSERT INTO t (name) VALUES ('dup')"))
            await s.execute(text("INSERT INTO t (name) VALUES ('dup')"))
    async with unit_of_work(sessions) as s:  # the pooled connection is usable again
        assert await s.scalar(text("SELECT count(*) FROM t")) == 0
        await s.execute(text("INSERT INTO t (name) VALUES ('dup')"))
    async with lite.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM t")) == 1


async def test_a_locked_database_fails_the_first_statement_and_loses_nothing(tmp_path):
    """The held-back BEGIN IMMEDIATE meets the lock on the transaction's first statement:
    that statement raises, nothing of the unit is written, the connection recovers."""
    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        await conn.exec_driver_sql("PRAGMA busy_timeout=50")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        async with engine.connect() as conn:  # the pool's one connection: 50 ms timeout
            with pytest.raises(OperationalError, match="locked"):
                async with conn.begin():
                    await conn.execute(text("INSERT INTO t (name) VALUES ('lost?')"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('after')"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT name FROM t"))).scalars().all() == ["after"]
    await engine.dispose()


async def test_streaming_keeps_fetching_in_chunks(lite):
    async with lite.begin() as conn:
        await conn.execute(
            text("INSERT INTO t (name) VALUES (:n)"), [{"n": f"n{i}"} for i in range(2500)]
        )
    async with lite.connect() as conn:
        result = await conn.stream(text("SELECT id FROM t ORDER BY id"))
        seen = [row.id async for row in result]
    assert seen == list(range(1, 2501))


async def test_concurrent_units_on_one_file_all_land(lite):
    sessions = session_factory(lite)

    async def write(i: int) -> None:
        async with unit_of_work(sessions) as s:
            await s.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": f"c{i}"})
            await asyncio.sleep(0)

    await asyncio.gather(*(write(i) for i in range(50)))
    async with lite.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM t")) == 50


async def test_inline_units_cost_no_thread_call_and_leave_checkpoints_to_the_thread(lite):
    """Units marked INLINE run statements and commits on the loop, with the WAL's
    auto-checkpoint off; one commit in THREAD_COMMIT_EVERY goes to the thread with it on
    (there the WAL is written back), so the WAL stays bounded."""
    from crm_core import sqlite_driver
    from crm_core.db import INLINE

    async with lite.connect() as conn:
        with counted_hops(conn) as hops:
            for i in range(sqlite_driver.THREAD_COMMIT_EVERY * 2):
                conn = await conn.execution_options(**INLINE)
                async with conn.begin():
                    await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": f"i{i}"})
            assert await conn.scalar(text("PRAGMA wal_autocheckpoint")) == 1000
    assert hops.puts == 2  # two commits on the thread; nothing else left the loop
    async with lite.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM t")) == 128


async def test_an_inline_unit_meeting_a_lock_waits_for_it_on_the_thread(tmp_path):
    path = tmp_path / "inline-locked.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    from crm_core.db import INLINE

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with engine.connect() as c:
            c = await c.execution_options(**INLINE)
            async with c.begin():
                await c.execute(text("INSERT INTO t (name) VALUES ('waited')"))

    task = asyncio.create_task(write())
    for _ in range(10):  # the loop is free while the unit waits for the lock
        await asyncio.sleep(0.01)
    assert not task.done()
    holder.execute("COMMIT")
    holder.close()
    await asyncio.wait_for(task, timeout=10)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT name FROM t"))).scalars().all() == ["waited"]
        assert await conn.scalar(text("PRAGMA busy_timeout")) == 30_000  # put back
    await engine.dispose()
