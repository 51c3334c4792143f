"""The stores allowed to push orders, each with its own HMAC secret."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.employees.access import require_admin
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import OrderWebhookSource

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def new_secret() -> str:
    return secrets.token_hex(32)


async def create_source(
    session: AsyncSession, *, code: str, name: str, secret: str | None = None
) -> OrderWebhookSource:
    """A new store (``code`` is its URL part); the secret is generated unless given."""
    await require_admin(session, action="configure order webhooks")
    code = (code or "").strip().lower()
    if not CODE.match(code):
        raise ValidationFailed(
            "The code is 1-50 lowercase letters, digits, '-' or '_'", field="code"
        )
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("A name of 1-200 characters is required", field="name")
    if secret is not None and not 32 <= len(secret) <= 128:
        raise ValidationFailed("A secret is 32-128 characters", field="secret")
    if await session.scalar(select(OrderWebhookSource.id).where(OrderWebhookSource.code == code)):
        raise Conflict(f"A source {code!r} already exists", field="code")
    at = now(session)
    source = OrderWebhookSource(
        code=code,
        name=name,
        secret=secret or new_secret(),
        enabled=True,
        created_at=at,
        updated_at=at,
    )
    session.add(source)
    await session.flush()
    return source


async def get_source(session: AsyncSession, source_id: int) -> OrderWebhookSource:
    source = await session.get(OrderWebhookSource, source_id)
    if source is None:
        raise NotFound(f"Order webhook source {source_id} not found")
    return source


async def source_by_code(session: AsyncSession, code: str) -> OrderWebhookSource | None:
    if not CODE.match(code or ""):
        return None
    return await session.scalar(select(OrderWebhookSource).where(OrderWebhookSource.code == code))


async def update_source(
    session: AsyncSession,
    source_id: int,
    *,
    name: str | None = None,
    enabled: bool | None = None,
    rotate_secret: bool = False,
) -> OrderWebhookSource:
    """Rename, enable/disable, or give the source a new secret (the old one stops at once)."""
    await require_admin(session, action="configure order webhooks")
    source = await get_source(session, source_id)
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise ValidationFailed("A name of 1-200 characters is required", field="name")
        source.name = name
    if enabled is not None:
        source.enabled = enabled
    if rotate_secret:
        source.secret = new_secret()
    source.updated_at = now(session)
    await session.flush()
    return source


async def list_sources(session: AsyncSession) -> list[OrderWebhookSource]:
    rows = await session.scalars(select(OrderWebhookSource).order_by(OrderWebhookSource.code))
    return list(rows)
