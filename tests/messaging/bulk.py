"""Thousands of customers at once for the campaign tests and the benchmark: plain
multi-row INSERTs, because the service path (history, outbox, de-duplication) is not
what those tests measure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Channel, Consent, ContactKind, ContactPoint, Customer, CustomerTag

KIND = {
    Channel.EMAIL: ContactKind.EMAIL,
    Channel.SMS: ContactKind.PHONE,
    Channel.TELEGRAM: ContactKind.TELEGRAM,
}


def address(channel: Channel, n: int) -> str:
    if channel == Channel.EMAIL:
        return f"client{n}@example.com"
    if channel == Channel.SMS:
        return f"+7916{n:07d}"
    return str(500_000_000 + n)


async def bulk_customers(
    session: AsyncSession,
    n: int,
    channel: Channel,
    *,
    at: datetime,
    tag: str = "bulk",
    without_consent: frozenset[int] = frozenset(),
    chunk: int = 2000,
) -> list[int]:
    """``n`` customers tagged ``tag`` with an address for the channel, consenting to
    it except those whose index is in ``without_consent``. Returns their ids in order."""
    first = (await session.scalar(select(func.max(Customer.id)))) or 0
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        await session.execute(
            insert(Customer.__table__),
            [
                {
                    "id": first + 1 + i,
                    "name": f"Клиент {i}",
                    "kind": "person",
                    "telegram_unreachable": False,
                    "orders_count": 0,
                    "total_spent": 0,
                    "created_at": at,
                    "updated_at": at,
                }
                for i in range(start, stop)
            ],
        )
        await session.execute(
            insert(ContactPoint.__table__),
            [
                {
                    "kind": KIND[channel].value,
                    "value": address(channel, i),
                    "customer_id": first + 1 + i,
                    "created_at": at,
                }
                for i in range(start, stop)
            ],
        )
        await session.execute(
            insert(CustomerTag.__table__),
            [{"customer_id": first + 1 + i, "tag": tag} for i in range(start, stop)],
        )
        consenting = [i for i in range(start, stop) if i not in without_consent]
        if consenting:
            await session.execute(
                insert(Consent.__table__),
                [
                    {
                        "customer_id": first + 1 + i,
                        "channel": channel.value,
                        "granted": True,
                        "at": at,
                        "source": "test",
                    }
                    for i in consenting
                ],
            )
    if session.bind.dialect.name == "postgresql":  # explicit ids: move the sequence on
        await session.execute(
            text("SELECT setval(pg_get_serial_sequence('customers', 'id'), :last)"),
            {"last": first + n},
        )
    return [first + 1 + i for i in range(n)]
