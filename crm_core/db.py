"""Engine and units of work.

One transaction per use case: an entry point opens ``unit_of_work``, calls service
functions (which never commit), and the unit commits when the block ends without an
error, rolls back otherwise.

SQLite is set up for a one-machine firm: WAL, foreign keys on, and every transaction
started with ``BEGIN IMMEDIATE`` so two writers queue on the lock (busy timeout)
instead of failing half-way with "database is locked" when a reader upgrades.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crm_core import sqlite_driver
from crm_core.context import Actor, Clock, bind

SQLITE_BUSY_TIMEOUT_S = 30
# Execution option for connections that only read: on SQLite they begin DEFERRED and
# do not queue behind writers for the write lock. ``READ_ONLY = {READ_ONLY_OPTION: True}``
READ_ONLY_OPTION = "firma_read_only"
READ_ONLY = {READ_ONLY_OPTION: True}
# Execution option for SQLite units made of small indexed statements (the Telegram bot's):
# their statements and commit run on the event loop instead of the connection's thread
# (``crm_core.sqlite_driver``: a lock is never waited for on the loop, nor a checkpoint
# run there). ``INLINE = {INLINE_OPTION: True}``
INLINE_OPTION = "firma_inline"
INLINE = {INLINE_OPTION: True}


def is_sqlite(url_or_engine: str | AsyncEngine) -> bool:
    if isinstance(url_or_engine, AsyncEngine):
        return url_or_engine.dialect.name == "sqlite"
    return make_url(url_or_engine).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, idle_ping_s: float | None = None
) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite`` or ``postgresql+asyncpg``).
    ``idle_ping_s``: on PostgreSQL, how long a pooled connection sits idle before it is
    pinged on checkout (``ping_when_idle``; default ``IDLE_PING_S``)."""
    if is_sqlite(url):
        database = make_url(url).database
        # A file database gets the same pool as PostgreSQL: SQLAlchemy's default (5 + 10)
        # is below what one ``firma serve`` has in flight (bot updates, pages, worker),
        # and an update waiting for a pooled connection waits behind all of them. An
        # in-memory database keeps SQLAlchemy's single shared connection.
        sized = (
            {"pool_size": pool_size, "max_overflow": pool_size}
            if database and database != ":memory:" and not database.startswith("file::memory:")
            else {}
        )
        engine = create_async_engine(
            one_hop_url(url),
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "isolation_level": None},
            **sized,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
    ping_when_idle(engine, idle_s=IDLE_PING_S if idle_ping_s is None else idle_ping_s)
    return engine


# A pooled PostgreSQL connection idle this long is pinged before use.
IDLE_PING_S = 10.0
_LAST_USED = "firma_last_used"


def ping_when_idle(engine: AsyncEngine, *, idle_s: float = IDLE_PING_S) -> None:
    """Ping a pooled connection on checkout only when it has been idle ``idle_s``.

    ``pool_pre_ping`` pings on every checkout: a round trip per unit of work, a fifth
    of a bot update's time on PostgreSQL (``bench/bot.py --no-pre-ping``). A server
    restart or an idle timeout shows on connections that sat in the pool; those are
    pinged and, if dead, replaced before the unit sees them (the pool retries the
    checkout on ``DisconnectionError``). A connection in steady use is not pinged: if
    the server dies under it, its next statement fails, SQLAlchemy invalidates the
    whole pool at once, and that one unit of work rolls back with the error.
    """
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last < idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError(str(exc)) from exc
            raise

    @event.listens_for(sync_engine.pool, "checkin")
    def _note_use(_dbapi_connection, record):
        record.info[_LAST_USED] = time.monotonic()


def one_hop_url(url: str) -> URL:
    """``sqlite+aiosqlite`` through Firma's one-hop adapter (``crm_core.sqlite_driver``)."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        return parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    return parsed


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn):
        # pysqlite's own transaction handling is off (isolation_level=None); we
        # take the write lock up front so concurrent writers wait, never deadlock.
        # A connection marked read-only (READ_ONLY) reads beside the writers (WAL).
        options = conn.get_execution_options()
        driver = conn.connection.dbapi_connection
        if isinstance(driver, sqlite_driver.OneHopConnection):
            driver.inline = bool(options.get(INLINE_OPTION))
        if options.get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
    *,
    actor: Actor | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[AsyncSession]:
    """One use case, one transaction: commit on success, roll back on any error."""
    async with sessions() as session:
        bind(session, actor=actor, clock=clock)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
