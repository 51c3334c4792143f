"""Test set-up shared by the whole suite.

Every database test runs twice: on a fresh SQLite file and on PostgreSQL when
``FIRMA_TEST_DATABASE_URL`` is set (CI sets it). The schema is made once per
backend by the real Alembic migrations; before each test the tables are emptied
and the reference data seeded again, so tests may commit freely (and race each
other) like production code does.

`make test` runs the suite in two pytest-xdist workers (``-n 2``); each worker has its
own SQLite file and its own PostgreSQL database (``<database>_gw0``, ``…_gw1``, made
here when missing), so workers never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import httpx
import pytest
from argon2.profiles import CHEAPEST
from sqlalchemy import delete, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core import migrate, passwords
from crm_core.context import SYSTEM, Actor, FrozenClock, bind
from crm_core.db import create_engine, session_factory, unit_of_work
from crm_core.models import Base
from crm_core.reference import ensure_reference_data

PG_URL = os.environ.get("FIRMA_TEST_DATABASE_URL")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1… under `pytest -n`

# Staff passwords are hashed with argon2's cheapest profile in this process (0.2 s a
# hash with production's would make sign-in fixtures most of the suite's time); the
# `firma` subprocesses the CLI tests start use the production profile, and
# tests/firma/test_cli.py checks that it is the one hashes get there.
passwords.use_parameters(CHEAPEST)
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 10:00 in Moscow


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def engine(request, tmp_path_factory) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL tests need FIRMA_TEST_DATABASE_URL")
        url = await _worker_database(PG_URL)
        eng = create_engine(url)
        async with eng.begin() as conn:  # a fresh schema for each run
            await conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
    else:
        path = tmp_path_factory.mktemp("db") / "firma-test.db"
        url = f"sqlite+aiosqlite:///{path}"
        eng = create_engine(url)
    await migrate.upgrade(eng)
    yield eng
    await eng.dispose()


async def _worker_database(url: str) -> str:
    """The PostgreSQL URL this process tests on: the configured database itself, or under
    xdist a sibling database per worker, created on first use."""
    if not XDIST_WORKER:
        return url
    base = make_url(url)
    name = f"{base.database}_{XDIST_WORKER}"
    admin = create_engine(base.render_as_string(hide_password=False))
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def db_backend(engine: AsyncEngine) -> str:
    return engine.dialect.name


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory over an emptied, freshly seeded database."""
    factory = session_factory(engine)
    async with factory() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))
        await ensure_reference_data(session)
        await session.commit()
    return factory


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def uow(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Callable[..., AbstractAsyncContextManager[AsyncSession]]:
    """``async with uow() as s:`` — one committed transaction, like an entry point."""

    def _open(actor: Actor | None = None) -> AbstractAsyncContextManager[AsyncSession]:
        return unit_of_work(sessions, actor=actor or SYSTEM, clock=clock)

    return _open


@pytest.fixture
async def session(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[AsyncSession]:
    """One open session for service tests (commit it to make rows visible to others)."""
    async with sessions() as s:
        bind(s, actor=SYSTEM, clock=clock)
        yield s
        await s.rollback()


@pytest.fixture
async def runtime(engine, sessions, clock):
    from firma.app import Runtime
    from firma.settings import Settings

    settings = Settings(database_url=engine.url.render_as_string(hide_password=False))
    return Runtime(settings=settings, engine=engine, sessions=sessions, clock=clock)


@pytest.fixture
async def app(runtime):
    from firma.app import create_app

    return create_app(runtime)


@pytest.fixture
async def api_token(uow) -> str:
    from crm_core.employees.tokens import create_api_token

    async with uow() as s:
        issued = await create_api_token(s, name="tests")
    return issued.token


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous HTTP client over the real ASGI app."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def api(app, api_token) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client rooted at ``/api/v1``."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {api_token}"},
    ) as c:
        yield c
