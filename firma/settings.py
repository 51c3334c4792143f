"""Settings from ``FIRMA_*`` environment variables (or ``.env``), turned into each
package's own small config object. Nothing else in Firma reads the environment."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_core.config import CoreConfig
from messaging.config import (
    DkimConfig,
    MessagingConfig,
    SmsConfig,
    SmtpConfig,
    TelegramConfig,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FIRMA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./firma.db"
    secret_key: str = "dev-secret-change-me"
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Europe/Moscow"
    language: Literal["ru", "en"] = "ru"
    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_secret: str | None = None
    telegram_payment_provider_token: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_ca_file: str | None = None
    mail_from: str = "Firma <noreply@localhost>"
    sms_provider: str = "log"
    sms_api_url: str | None = None
    sms_api_key: str | None = None
    sms_sender: str | None = None
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_private_key_path: str | None = None
    campaign_concurrency: int = 8
    # Messages per second a channel carries over all campaigns (and, with Redis, all
    # workers): the mail relay's or SMS gateway's own limit. Unset: each campaign's rate.
    email_send_rate: float | None = Field(default=None, gt=0, le=10_000)
    sms_send_rate: float | None = Field(default=None, gt=0, le=10_000)
    # SMS campaigns send nothing in these hours of the recipient's clock ("21-9");
    # "0-0": no quiet hours.
    sms_quiet_hours: str = Field(default="21-9", pattern=r"^\s*\d{1,2}\s*-\s*\d{1,2}\s*$")
    redis_url: str | None = None
    # Messages per second the staff notifications may take of the bot's Telegram budget.
    telegram_send_rate: float = Field(default=25.0, gt=0, le=1000)
    # Days the bot keeps its sent pushes and staff messages (bot/cleanup.py); at least 8,
    # so a redelivered outbox event still finds the row that says it was sent.
    telegram_keep_days: int = Field(default=30, ge=8, le=3650)
    sql_echo: bool = False
    # Payments, webhooks, feeds (channels/): README "Payments, webhooks, feeds and files".
    yookassa_shop_id: str | None = None
    yookassa_secret_key: str | None = None
    yookassa_api_url: str = "https://api.yookassa.ru/v3"
    yookassa_trusted_ips: str | None = None  # comma-separated; default: ЮKassa's published
    yookassa_return_url: str | None = None
    order_webhook_window: int = 300
    yml_shop_name: str | None = None
    yml_product_url: str | None = None
    # 1C and store exchange (channels/onec*, channels/stores): README "1C and store exchange".
    exchange_dir: str = "./data/exchange"
    exchange_file_limit: int = 8 * 1024 * 1024
    exchange_keep_days: int = 7

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("sms_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        start, end = (int(h) for h in value.split("-"))
        if not (0 <= start <= 23 and 0 <= end <= 23):
            raise ValueError("quiet hours are two hours of the day, 0-23: e.g. 21-9")
        return f"{start}-{end}"

    @field_validator("smtp_ca_file")
    @classmethod
    def _readable_ca_file(cls, value: str | None) -> str | None:
        """A bundle that cannot be read fails at start, not at the first campaign."""
        if value is None:
            return None
        import ssl

        try:
            ssl.create_default_context(cafile=value)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot read certificates from {value!r}: {exc}") from exc
        return value

    @property
    def insecure_secret(self) -> bool:
        return self.secret_key == "dev-secret-change-me"

    def onec(self):
        """The 1C exchange endpoint's config (``/exchange/1c``)."""
        from channels.onec_files import OnecConfig

        return OnecConfig(
            secret_key=self.secret_key,
            data_dir=self.exchange_dir,
            file_limit=self.exchange_file_limit,
            keep_days=self.exchange_keep_days,
            timezone=self.timezone,
        )

    def store_exchange(self):
        """The store exchange job's config (Firma as the CommerceML client)."""
        from channels.stores.runner import StoreRunConfig

        return StoreRunConfig(
            secret_key=self.secret_key,
            timezone=self.timezone,
            work_dir=f"{self.exchange_dir.rstrip('/')}/stores",
        )

    def channels(self):
        """The payment, webhook and feed channels' config (channels/wiring.py)."""
        from channels.feeds.yml import FeedConfig
        from channels.wiring import ChannelsConfig
        from channels.yookassa import PUBLISHED_NETWORKS, YookassaConfig

        public_url = self.public_url or f"http://{self.host}:{self.port}"
        trusted = PUBLISHED_NETWORKS
        if self.yookassa_trusted_ips is not None:
            trusted = tuple(n.strip() for n in self.yookassa_trusted_ips.split(",") if n.strip())
        return ChannelsConfig(
            public_url=public_url,
            timezone=self.timezone,
            yookassa=YookassaConfig(
                shop_id=self.yookassa_shop_id,
                secret_key=self.yookassa_secret_key,
                api_url=self.yookassa_api_url,
                trusted_networks=trusted,
                return_url=self.yookassa_return_url or public_url,
            ),
            feed=FeedConfig(
                public_url=public_url,
                timezone=self.timezone,
                shop_name=self.yml_shop_name,
                product_url=self.yml_product_url,
            ),
            webhook_window_s=self.order_webhook_window,
        )

    def core(self) -> CoreConfig:
        return CoreConfig(
            database_url=self.database_url, timezone=self.timezone, sql_echo=self.sql_echo
        )

    def messaging(self) -> MessagingConfig:
        smtp = None
        if self.smtp_host:
            smtp = SmtpConfig(
                host=self.smtp_host,
                port=self.smtp_port,
                username=self.smtp_username,
                password=self.smtp_password,
                security=self.smtp_security,
                ca_file=self.smtp_ca_file,
            )
        dkim = None
        if self.dkim_selector and self.dkim_domain and self.dkim_private_key_path:
            dkim = DkimConfig(self.dkim_selector, self.dkim_domain, self.dkim_private_key_path)
        telegram = None
        if self.telegram_bot_token:
            telegram = TelegramConfig(self.telegram_bot_token, api_url=self.telegram_api_url)
        return MessagingConfig(
            mail_from=self.mail_from,
            smtp=smtp,
            dkim=dkim,
            sms=SmsConfig(
                provider=self.sms_provider,
                api_url=self.sms_api_url,
                api_key=self.sms_api_key,
                sender=self.sms_sender,
            ),
            telegram=telegram,
            secret_key=self.secret_key,
            public_url=self.public_url or f"http://{self.host}:{self.port}",
            timezone=self.timezone,
            language=self.language,
            redis_url=self.redis_url,  # one campaign rate for every worker
            email_max_rate=self.email_send_rate,
            sms_max_rate=self.sms_send_rate,
            sms_quiet_hours=tuple(int(h) for h in self.sms_quiet_hours.split("-")),
        )
