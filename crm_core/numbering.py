"""Document numbers per series and year: ``ЗК-2026-000123``, ``СЧ-2026-000045``.

One row per (series, year) in ``number_sequences``, advanced by a single
``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last``: the row
lock (PostgreSQL) or the write lock (SQLite, ``BEGIN IMMEDIATE``) makes concurrent
transactions queue, so no two get the same number. A rolled-back transaction leaves
a gap; numbers are unique and increasing, not gapless.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import NumberSequence

FIRM_TIMEZONE = "Europe/Moscow"
ORDER_SERIES = "order"
INVOICE_SERIES = "invoice"
PREFIXES = {ORDER_SERIES: "ЗК", INVOICE_SERIES: "СЧ"}


async def next_number(session: AsyncSession, series: str, year: int) -> int:
    """The next number of ``series`` in ``year`` (1, 2, 3...), safe under concurrency."""
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = NumberSequence.__table__
    stmt = (
        insert(table)
        .values(series=series, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[table.c.series, table.c.year], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )
    return int((await session.execute(stmt)).scalar_one())


def year_of(at: datetime, timezone: str = FIRM_TIMEZONE) -> int:
    """The year of ``at`` on the firm's calendar (31 Dec 22:00 UTC is already next year in MSK)."""
    return at.astimezone(ZoneInfo(timezone)).year


async def document_number(
    session: AsyncSession, series: str, at: datetime, *, timezone: str = FIRM_TIMEZONE
) -> str:
    """A new number like ``ЗК-2026-000123`` for a document dated ``at``."""
    year = year_of(at, timezone)
    n = await next_number(session, series, year)
    return f"{PREFIXES.get(series, series.upper())}-{year}-{n:06d}"
