"""What one process builds from the settings: the engine, the sessions, the clock.

Kept apart from ``firma.app`` so that commands needing only the database (``firma db
upgrade``, ``employee add``, ``apitoken create``, ``import``…) start in a second
instead of importing every door (aiogram's types alone take ~6 s of CPU to build).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core.context import Clock, SystemClock
from crm_core.db import create_engine, session_factory
from firma.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything built once per process from the settings."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)
    # What the process opened and must close when it stops (the worker's bot sessions).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        engine = create_engine(settings.database_url, echo=settings.sql_echo)
        return cls(settings, engine, session_factory(engine), clock or SystemClock())

    async def aclose(self) -> None:
        """Close what was opened for this process (bot sessions), then the engine."""
        while self.closers:
            close = self.closers.pop()
            try:
                await close()
            except Exception:
                log.exception("closing %r failed", close)
        await self.engine.dispose()


def bot_config(settings: Settings):
    """The bot's config from the settings (None without a bot token)."""
    if not settings.telegram_bot_token:
        return None
    from bot.config import BotConfig

    # Without an explicit secret, one derived from FIRMA_SECRET_KEY still guards the webhook.
    secret = (
        settings.telegram_webhook_secret
        or hmac.new(settings.secret_key.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()
    )
    return BotConfig(
        token=settings.telegram_bot_token,
        api_url=settings.telegram_api_url,
        webhook_secret=secret,
        public_url=settings.public_url,
        payment_provider_token=settings.telegram_payment_provider_token,
        redis_url=settings.redis_url,
        language=settings.language,
        timezone=settings.timezone,
    )
