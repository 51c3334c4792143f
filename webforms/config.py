"""What the public forms need from the composition root, passed in (never read from
the environment here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_core.context import Clock, SystemClock


@dataclass
class WebformsConfig:
    secret_key: str
    clock: Clock = field(default_factory=SystemClock)
    timezone: str = "Europe/Moscow"
    language: str = "ru"
    # A person needs more than this to fill a form; a script posting at once does not.
    min_fill_seconds: float = 2.0
    token_max_age_seconds: int = 24 * 3600
    max_body_bytes: int = 256 * 1024
    # Submissions per IP per form, and per form overall, in a sliding minute.
    per_ip_limit: int = 20
    per_form_limit: int = 600
    window_seconds: int = 60
    # How long a process may serve a form definition changed by another process.
    form_cache_seconds: float = 2.0
    # The one writer (webforms/writer.py): submissions waiting beyond this many are
    # refused (503, Retry-After); up to this many are committed in one transaction.
    writer_queue_size: int = 1000
    writer_batch_size: int = 100
    # Rate limits shared by every process through Redis (else counted per process).
    redis_url: str | None = None
    redis_prefix: str = "firma:webforms:rl:"

    @classmethod
    def of(cls, runtime: Any) -> WebformsConfig:
        """From the composition root's runtime (its settings and clock)."""
        settings = runtime.settings
        return cls(
            secret_key=settings.secret_key,
            clock=runtime.clock,
            timezone=settings.timezone,
            language=settings.language,
            redis_url=settings.redis_url,
        )
