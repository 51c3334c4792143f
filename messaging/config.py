"""The messaging package's own config, built by ``firma/settings.py`` from FIRMA_*."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    security: Literal["none", "starttls", "tls"] = "none"
    timeout: float = 30.0
    pool_size: int = 2  # connections kept open and reused for many messages


@dataclass(frozen=True)
class MessagingConfig:
    mail_from: str = "Firma <noreply@localhost>"
    reply_to: str | None = None
    # None → the `log` transport (development, or a firm without a mail server).
    smtp: SmtpConfig | None = None
    secret_key: str = "dev-secret-change-me"  # signs unsubscribe links
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Moscow"
