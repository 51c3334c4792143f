"""The bearer-token transaction for the channels' API routes: the same rule as every
``/api/v1`` route (a valid API token; one transaction committed before the answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.yookassa.client import YookassaClient
from crm_core.context import Actor, Clock, actor_of, bind
from crm_core.employees.tokens import authenticate_api_token


@dataclass
class ChannelsApi:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    public_url: str
    yookassa: YookassaClient


bearer = HTTPBearer(auto_error=False, description="`firma apitoken create --name N`")
STATE_KEY = "channels_api"


def channels_api(request: Request) -> ChannelsApi:
    return getattr(request.app.state, STATE_KEY)


async def _session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AsyncIterator[AsyncSession]:
    ctx = channels_api(request)
    async with ctx.sessions() as session:
        bind(session, actor=None, clock=ctx.clock)
        try:
            actor = await authenticate_api_token(
                session, credentials.credentials if credentials else ""
            )
            if actor is None:
                raise HTTPException(
                    status_code=401,
                    detail="A valid API token is required (Authorization: Bearer <token>)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            bind(session, actor=actor, clock=ctx.clock)
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


Session = Annotated[AsyncSession, Depends(_session, scope="function")]
Ctx = Annotated[ChannelsApi, Depends(channels_api)]


async def _actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The caller, checked in a short transaction of its own: for routes (imports) that
    run several transactions, one per batch."""
    async with asynccontextmanager(_session)(request, credentials) as session:
        return actor_of(session)


Caller = Annotated[Actor, Depends(_actor)]
