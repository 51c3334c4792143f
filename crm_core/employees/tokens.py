"""REST API tokens: shown once at creation, kept only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import Actor, ActorKind, now
from crm_core.errors import ValidationFailed
from crm_core.lookup import require_ref
from crm_core.models import ApiToken, Employee

TOKEN_PREFIX = "fk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    name: str
    token: str


async def create_api_token(
    session: AsyncSession, *, name: str, employee_id: int | None = None
) -> IssuedToken:
    """Make a new token; the plain value is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Token name is required", field="name")
    await require_ref(session, Employee, employee_id, field="employee_id", what="Employee")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=_digest(token),
        prefix=token[:10],
        employee_id=employee_id,
        created_at=now(session),
    )
    session.add(row)
    await session.flush()
    return IssuedToken(id=row.id, name=name, token=token)


async def resolve_api_token(session: AsyncSession, token: str) -> ApiToken | None:
    """The live token row for a presented bearer token, or None."""
    if not token or len(token) > 200:
        return None
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row


async def revoke_api_token(session: AsyncSession, token_id: int) -> None:
    await session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=now(session))
    )


async def list_api_tokens(session: AsyncSession) -> list[ApiToken]:
    """Every token ever made (revoked ones too), newest first; never the secret."""
    rows = await session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))
    return list(rows)


async def authenticate_api_token(session: AsyncSession, token: str) -> Actor | None:
    """The actor of a presented bearer token (its use stamped), or None: the one rule
    for every door that takes API tokens (the REST API, the channels' API routes)."""
    row = await resolve_api_token(session, token)
    if row is None:
        return None
    row.last_used_at = now(session)
    return Actor(ActorKind.API_TOKEN, row.id, f"API token {row.name}")
