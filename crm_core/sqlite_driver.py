"""SQLAlchemy's aiosqlite dialect with one thread hop per statement.

aiosqlite runs each sqlite3 call on the connection's own thread and hands the result
back to the event loop. SQLAlchemy's adapter makes four such calls for every
statement (create the cursor, execute, fetch all, close) and one more for the
``BEGIN`` of each transaction, which is one statement too. Each hop is a queue put, a
thread wake-up, a GIL hand-over and a self-pipe wake-up of the loop; with updates in
flight the loop thread is busy and every hop also waits for the GIL. The statements
themselves take tens of microseconds on a small SQLite file, so the hops were most of
the cost (``bench/bot.py``: 11 hops per Telegram update).

Here a statement is one call on the connection's thread: open a cursor, execute,
fetch every row, close. The ``BEGIN`` that SQLAlchemy's ``begin`` event sends
(``crm_core.db``: ``BEGIN IMMEDIATE`` or ``BEGIN DEFERRED``) is held back and run in
the same call as the transaction's first statement; a commit or rollback with no
transaction open (one that never began, or the pool's reset of a connection given
back after its commit) needs no call at all.

Server-side cursors (``stream``, ``yield_per``) keep aiosqlite's own cursor and fetch
in chunks, as before. What a statement raises is what sqlite3 raised, so SQLAlchemy
wraps it as it always did; a ``BEGIN`` that finds the database locked raises on the
statement it was held for, inside the same unit of work.

A unit marked ``crm_core.db.INLINE`` (the Telegram bot's small indexed statements)
runs on the event loop instead: no thread call at all, so a writer's turn lasts the
microseconds SQLite needs (``bench/bot.py``: with its writes' commit on the thread, "add"
waited ~190 ms p50 behind other writers; all on the loop, both aims met). The loop
never waits for a lock: the BEGIN and first statement run with the busy timeout at 0
and, when the database is locked, go to the thread to wait as any statement does. The
loop never checkpoints: its commits run with auto-checkpoint off, and one commit in
``THREAD_COMMIT_EVERY`` goes to the thread with it on, so the WAL stays bounded.

The dialect is registered as ``sqlite+firma``; ``crm_core.db.create_engine`` selects
it for ``sqlite+aiosqlite`` URLs.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

DRIVER = "firma"
WAL_AUTOCHECKPOINT = 1000  # pages: SQLite's default
THREAD_COMMIT_EVERY = 64  # of a connection's commits on the loop, one goes to the thread
_BEGINS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})


class _Done:
    """What a finished statement leaves for SQLAlchemy to read: the sqlite3 cursor's
    attributes, copied on the connection's thread before the cursor was closed."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(self) -> None:
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def close(self) -> None:
        return None


def _statement(
    conn: sqlite3.Connection, begin: str | None, sql: str, parameters: Any, many: bool
) -> tuple[_Done, list[Any]]:
    """On the connection's thread: the held-back BEGIN, the statement and its rows."""
    if begin is not None:
        conn.execute(begin)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, () if parameters is None else parameters)
        done = _Done()
        done.description = cursor.description
        rows = cursor.fetchall() if cursor.description else []
        done.rowcount = cursor.rowcount
        done.lastrowid = cursor.lastrowid
        return done, rows
    finally:
        cursor.close()


def _on_the_loop(
    conn: sqlite3.Connection, begin: str | None, sql: str, parameters: Any, many: bool
) -> tuple[_Done, list[Any]] | None:
    """A unit's statement run on the event loop (``OneHopConnection.inline``). The
    transaction's BEGIN and first statement, where a lock may have to be waited for,
    run with SQLite's busy timeout at 0: None when the database is locked (nothing
    began; the caller waits for the lock on the thread instead)."""
    if begin is None:
        return _statement(conn, None, sql, parameters, many)
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute(begin)
        try:
            return _statement(conn, None, sql, parameters, many)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorname != "SQLITE_BUSY":
                raise
            conn.rollback()  # the reader's snapshot could not be had: begin again
            return None
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorname != "SQLITE_BUSY":
            raise
        return None
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(timeout)}")


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False  # nothing is left open on the thread

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Done()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted = self._adapt_connection
        assert isinstance(adapted, OneHopConnection)
        if not many and operation.strip().upper() in _BEGINS and not parameters:
            adapted.pending_begin = operation  # run with the first statement
            return
        async with adapted._execute_mutex:
            begin, adapted.pending_begin = adapted.pending_begin, None
            driver = self._connection
            done_rows = None
            if adapted.inline:
                done_rows = _on_the_loop(driver._conn, begin, operation, parameters, many)
            if done_rows is None:
                done_rows = await driver._execute(
                    _statement, driver._conn, begin, operation, parameters, many
                )
            done, rows = done_rows
        self._cursor = done
        if done.description:
            self._rows = collections.deque(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("inline", "inline_commits", "pending_begin")
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.pending_begin: str | None = None
        # This transaction runs on the event loop (``crm_core.db.INLINE``, set at BEGIN,
        # cleared when it ends); see ``_on_the_loop`` and ``commit``.
        self.inline = False
        self.inline_commits = 0

    def _open(self) -> bool:
        """Whether a transaction is open: read from sqlite3 (``sqlite3_get_autocommit``,
        no call on the thread). The pool's rollback when a connection comes back after
        its commit finds none open."""
        if self.pending_begin is not None:
            self.pending_begin = None  # the transaction never began
            return False
        conn = self._connection._conn
        return conn is not None and conn.in_transaction

    def commit(self) -> None:
        inline, self.inline = self.inline, False
        if not self._open():
            return
        conn = self._connection._conn
        self.inline_commits += 1
        if inline and self.inline_commits % THREAD_COMMIT_EVERY:
            # On the loop, and never a checkpoint here: a checkpoint writes the WAL
            # back to the database file and syncs both, which has no place on the loop.
            # Every THREAD_COMMIT_EVERY-th commit goes to the thread with the
            # connection's auto-checkpoint on, as every other unit's commit does.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            try:
                conn.commit()
            finally:
                conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
            return
        super().commit()

    def rollback(self) -> None:
        self.inline = False
        if self._open():
            super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator = kw.pop("async_creator_fn", None)
        connection = creator(*arg, **kw) if creator else self.aiosqlite.connect(*arg, **kw)
        if not creator:
            connection._thread.daemon = True  # as SQLAlchemy's own adapter does
        return OneHopConnection(self, await_(connection))


class OneHopSQLiteDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True  # the SQL compiled is the aiosqlite dialect's own

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:  # type: ignore[override]
        return OneHopDBAPI(aiosqlite, sqlite3)


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopSQLiteDialect")
