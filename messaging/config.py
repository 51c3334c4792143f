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
    # PEM bundle of the authorities to trust for the server's certificate (a relay
    # with a private CA); None: the system's store. Certificates are always verified.
    ca_file: str | None = None
    timeout: float = 30.0
    pool_size: int = 2  # connections kept open and reused for many messages


@dataclass(frozen=True)
class DkimConfig:
    """DKIM signing of outgoing mail (RFC 6376) with a private key in PEM."""

    selector: str
    domain: str
    private_key_path: str


@dataclass(frozen=True)
class SmsConfig:
    # ``log`` (development: nothing leaves), ``smsru`` (SMS.ru JSON API), ``smsc``
    # (SMSC.ru HTTP API).
    provider: str = "log"
    api_url: str | None = None  # default: the provider's own URL
    api_key: str | None = None
    sender: str | None = None  # an approved sender name, when the firm has one
    timeout: float = 15.0


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_url: str = "https://api.telegram.org"
    # Telegram allows about 30 messages a second per bot; campaigns stay below.
    max_rate: int = 25


@dataclass(frozen=True)
class MessagingConfig:
    mail_from: str = "Firma <noreply@localhost>"
    reply_to: str | None = None
    # None → the `log` transport (development, or a firm without a mail server).
    smtp: SmtpConfig | None = None
    dkim: DkimConfig | None = None
    sms: SmsConfig = SmsConfig()
    telegram: TelegramConfig | None = None
    secret_key: str = "dev-secret-change-me"  # signs unsubscribe links
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Moscow"
    language: str = "ru"
    # SMS campaigns send nothing from 21:00 to 09:00 on the recipient's clock: the
    # customer's time zone, else the phone number's (when it has one), else ``timezone``
    # (messaging/quiet.py). ``(h, h)``: no quiet hours.
    sms_quiet_hours: tuple[int, int] = (21, 9)
    # Messages per second the email and SMS channels carry over all campaigns (the
    # relay's or gateway's limit; shared across workers through Redis); None: no cap
    # beyond each campaign's own rate. Telegram's is ``telegram.max_rate``.
    email_max_rate: float | None = None
    sms_max_rate: float | None = None
    # With Redis, every worker's sends of one campaign share its rate (crm_core/rate.py);
    # without, each worker process keeps the rate on its own.
    redis_url: str | None = None
    redis_prefix: str = "firma:"
