"""What the bot needs to know, passed in by ``firma/`` (the bot never reads the environment)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_URL = "https://api.telegram.org"


@dataclass(frozen=True, slots=True)
class BotConfig:
    token: str
    api_url: str = DEFAULT_API_URL
    webhook_secret: str | None = None
    # Webhook mode when set: Telegram posts to ``{public_url}/telegram/webhook``.
    public_url: str | None = None
    payment_provider_token: str | None = None
    redis_url: str | None = None
    language: str = "ru"
    timezone: str = "Europe/Moscow"
    # Longest Telegram "retry after" the bot waits out inside one send; longer: give up.
    max_retry_after: float = 60.0
    max_retries: int = 3

    @property
    def webhook_url(self) -> str | None:
        if not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/telegram/webhook"
