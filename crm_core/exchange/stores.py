"""Online stores Firma exchanges with as the business system: their settings, the
encrypted password the client needs, and the schedule a worker claims runs from."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.common import clean
from crm_core.context import now
from crm_core.errors import ValidationFailed
from crm_core.lookup import get_or_404
from crm_core.models import Store

MIN_SCHEDULE, MAX_SCHEDULE = 5, 7 * 24 * 60
LEASE = timedelta(minutes=15)
FIELDS = {"name", "exchange_url", "login", "password", "schedule", "enabled", "send_catalog"}


def _cipher(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"firma-store-password\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_password(secret_key: str, password: str) -> str:
    return _cipher(secret_key).encrypt(password.encode()).decode()


def decrypt_password(secret_key: str, token: str | None) -> str | None:
    """None when there is none, or when FIRMA_SECRET_KEY changed since it was set."""
    if not token:
        return None
    try:
        return _cipher(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def _url(value: Any) -> str:
    url = clean(value, field="exchange_url", max_length=500, required=True) or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "The exchange URL must be http(s)://host/path (the store's CommerceML script, "
            "e.g. https://shop.ru/bitrix/admin/1c_exchange.php)",
            field="exchange_url",
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            "Put the login and password in their own fields", field="exchange_url"
        )
    return url


def _apply(store: Store, values: dict[str, Any], secret_key: str) -> None:
    unknown = set(values) - FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    if "name" in values:
        store.name = clean(values["name"], field="name", max_length=100, required=True)
    if "exchange_url" in values:
        store.exchange_url = _url(values["exchange_url"])
    if "login" in values:
        login = clean(values["login"], field="login", max_length=100, required=True) or ""
        if ":" in login:  # Basic auth splits on the first colon
            raise ValidationFailed("The login may not contain a colon", field="login")
        store.login = login
    if "password" in values:
        password = values["password"] or ""
        store.password_encrypted = encrypt_password(secret_key, password) if password else None
    if values.get("schedule") is not None:
        minutes = int(values["schedule"])
        if not MIN_SCHEDULE <= minutes <= MAX_SCHEDULE:
            raise ValidationFailed(
                f"schedule is minutes between runs, {MIN_SCHEDULE}..{MAX_SCHEDULE}",
                field="schedule",
            )
        store.schedule_minutes = minutes
    if values.get("enabled") is not None:
        store.enabled = bool(values["enabled"])
    if values.get("send_catalog") is not None:
        store.send_catalog = bool(values["send_catalog"])


async def create_store(session: AsyncSession, values: dict[str, Any], *, secret_key: str) -> Store:
    """A store to exchange with; the first run is due at once when enabled."""
    for required in ("name", "exchange_url", "login"):
        if not values.get(required):
            raise ValidationFailed(f"{required} is required", field=required)
    at = now(session)
    store = Store(
        schedule_minutes=60, enabled=True, send_catalog=True, created_at=at, updated_at=at
    )
    _apply(store, values, secret_key)
    store.next_run_at = at
    session.add(store)
    await session.flush()
    return store


async def update_store(
    session: AsyncSession, store_id: int, values: dict[str, Any], *, secret_key: str
) -> Store:
    """Change the given fields; an empty password removes it."""
    store = await get_or_404(session, Store, store_id, what="Store")
    _apply(store, values, secret_key)
    store.updated_at = now(session)
    await session.flush()
    return store


async def get_store(session: AsyncSession, store_id: int) -> Store:
    return await get_or_404(session, Store, store_id, what="Store")


async def list_stores(
    session: AsyncSession, *, limit: int = 50, offset: int = 0
) -> tuple[list[Store], int]:
    total = await session.scalar(select(func.count()).select_from(Store))
    rows = await session.scalars(select(Store).order_by(Store.id).limit(limit).offset(offset))
    return list(rows), total or 0


async def delete_store(session: AsyncSession, store_id: int) -> None:
    """Forget a store; the orders it brought stay (their link to it goes)."""
    store = await get_or_404(session, Store, store_id, what="Store")
    await session.delete(store)
    await session.flush()


async def request_run(session: AsyncSession, store_id: int) -> Store:
    """Make the store due now: the next worker pass runs it."""
    store = await get_or_404(session, Store, store_id, what="Store")
    if not store.enabled:
        raise ValidationFailed("The store is disabled: enable it first", field="enabled")
    store.next_run_at = now(session)
    await session.flush()
    return store


async def claim_due_store(session: AsyncSession) -> Store | None:
    """One due, enabled store whose run nobody holds, leased to the caller.

    The claim is one conditional UPDATE: of two workers racing for a store, one
    gets the row count 1, the other 0 and moves on.
    """
    at = now(session)
    due = (
        select(Store.id)
        .where(
            Store.enabled.is_(True),
            Store.next_run_at.is_not(None),
            Store.next_run_at <= at,
            or_(Store.lease_until.is_(None), Store.lease_until < at),
        )
        .order_by(Store.next_run_at, Store.id)
        .limit(5)
    )
    for store_id in list(await session.scalars(due)):
        result = await session.execute(
            update(Store)
            .where(
                Store.id == store_id,
                or_(Store.lease_until.is_(None), Store.lease_until < at),
            )
            .values(lease_until=at + LEASE)
        )
        if result.rowcount == 1:
            return await session.get(Store, store_id, populate_existing=True)
    return None


async def finish_run(
    session: AsyncSession, store_id: int, *, status: str, message: str | None
) -> None:
    """Record the outcome, release the lease and schedule the next run."""
    store = await session.get(Store, store_id, populate_existing=True)
    if store is None:
        return
    at = now(session)
    store.last_run_at = at
    store.last_status = status
    store.last_message = (message or "")[:2000] or None
    store.lease_until = None
    store.next_run_at = at + timedelta(minutes=store.schedule_minutes)
    await session.flush()
