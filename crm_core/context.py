"""Who acts and what time it is, carried by the session the entry point opened.

The entry point (an API request, a bot update, a worker job, a CLI command) knows
the actor and owns the clock; it puts both into ``session.info`` when it opens the
unit of work. Services read them here, so their signatures stay plain and tests
inject a frozen clock without patching anything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to: for tests and benchmarks."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


class ActorKind(enum.StrEnum):
    EMPLOYEE = "employee"
    API_TOKEN = "api_token"
    CUSTOMER = "customer"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: int | None = None
    label: str = ""

    @property
    def employee_id(self) -> int | None:
        return self.id if self.kind is ActorKind.EMPLOYEE else None


SYSTEM = Actor(ActorKind.SYSTEM, None, "system")
SYSTEM_CLOCK = SystemClock()


def _info(session: AsyncSession | Session) -> dict:
    return session.info


def now(session: AsyncSession | Session) -> datetime:
    """The current time by the clock the entry point put on the session."""
    clock: Clock = _info(session).get("clock") or SYSTEM_CLOCK
    return clock.now()


def actor_of(session: AsyncSession | Session) -> Actor:
    """Who performs the current use case (``system`` when nobody said)."""
    return _info(session).get("actor") or SYSTEM


def bind(session: AsyncSession | Session, *, actor: Actor | None, clock: Clock | None) -> None:
    info = _info(session)
    info["actor"] = actor or SYSTEM
    info["clock"] = clock or SYSTEM_CLOCK
