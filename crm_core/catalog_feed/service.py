"""What the YML feed publishes: active products with a price, in keyset batches so a
catalog of any size streams in constant memory, and the feed's secret token.

Only the token's SHA-256 is stored (``firm_settings`` key ``feeds.yml``); rotating it
gives a new URL and the old one stops at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.groups import default_price_kind
from crm_core.context import now
from crm_core.employees.access import require_admin
from crm_core.models import FirmSetting, PriceKind, Product, ProductGroup, ProductKind, ProductPrice

FEED_KEY = "feeds.yml"
BATCH = 1000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def rotate_feed_token(session: AsyncSession) -> str:
    """A new feed token (returned once); the previous URL stops working."""
    await require_admin(session, action="manage the catalog feed")
    token = secrets.token_urlsafe(24)
    row = await session.get(FirmSetting, FEED_KEY)
    value = {"token_sha256": _digest(token), "rotated_at": now(session).isoformat()}
    if row is None:
        session.add(FirmSetting(key=FEED_KEY, value=value))
    else:
        row.value = {**row.value, **value}
    await session.flush()
    return token


async def disable_feed(session: AsyncSession) -> None:
    """No token: the feed answers 404 for every URL."""
    await require_admin(session, action="manage the catalog feed")
    row = await session.get(FirmSetting, FEED_KEY)
    if row is not None:
        row.value = {k: v for k, v in row.value.items() if k != "token_sha256"}
        await session.flush()


async def feed_state(session: AsyncSession) -> dict:
    row = await session.get(FirmSetting, FEED_KEY)
    value = row.value if row else {}
    return {"enabled": bool(value.get("token_sha256")), "rotated_at": value.get("rotated_at")}


async def feed_token_valid(session: AsyncSession, token: str) -> bool:
    row = await session.get(FirmSetting, FEED_KEY)
    stored = (row.value or {}).get("token_sha256") if row else None
    return bool(stored and token) and hmac.compare_digest(stored, _digest(token))


@dataclass(frozen=True, slots=True)
class FeedOffer:
    id: int
    sku: str | None
    name: str
    kind: ProductKind
    group_id: int | None
    description: str | None
    image_url: str | None
    stock: Decimal
    price: Decimal


async def feed_currency(session: AsyncSession) -> tuple[int | None, str]:
    kind: PriceKind | None = await default_price_kind(session)
    return (kind.id, kind.currency or "RUB") if kind else (None, "RUB")


async def feed_categories(session: AsyncSession) -> list[tuple[int, int | None, str]]:
    rows = await session.execute(
        select(ProductGroup.id, ProductGroup.parent_id, ProductGroup.name).order_by(ProductGroup.id)
    )
    return [tuple(r) for r in rows]


async def feed_offers(
    session: AsyncSession, price_kind_id: int | None, *, batch: int = BATCH
) -> AsyncIterator[list[FeedOffer]]:
    """Active products priced in the price kind, by id, ``batch`` at a time."""
    if price_kind_id is None:
        return
    last = 0
    while True:
        rows = (
            await session.execute(
                select(
                    Product.id,
                    Product.sku,
                    Product.name,
                    Product.kind,
                    Product.group_id,
                    Product.description,
                    Product.image_url,
                    Product.stock,
                    ProductPrice.price,
                )
                .join(
                    ProductPrice,
                    and_(
                        ProductPrice.product_id == Product.id,
                        ProductPrice.price_kind_id == price_kind_id,
                    ),
                )
                .where(Product.active.is_(True), Product.id > last)
                .order_by(Product.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        yield [FeedOffer(*row) for row in rows]
        last = rows[-1][0]
