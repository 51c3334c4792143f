"""Request dependencies: the unit of work (one transaction per request) and auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import Clock, bind
from crm_core.employees.tokens import authenticate_api_token


@dataclass
class ApiContext:
    """What the API needs from the composition root."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    timezone: str = "Europe/Moscow"
    public_url: str = "http://127.0.0.1:8000"


bearer = HTTPBearer(auto_error=False, description="`firma apitoken create --name N`")


def context(request: Request) -> ApiContext:
    return request.app.state.ctx


async def _session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AsyncIterator[AsyncSession]:
    """Authenticate the bearer token, then run the route in one transaction.

    Scope "function": the commit happens before the response is sent, so a client
    never sees 2xx for a change that failed to commit.
    """
    ctx = context(request)
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


class PageParams:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


Page = Annotated[PageParams, Depends()]
