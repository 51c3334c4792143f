"""Settings from ``FIRMA_*`` environment variables (or ``.env``), turned into each
package's own small config object. Nothing else in Firma reads the environment."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_core.config import CoreConfig
from messaging.config import MessagingConfig, SmtpConfig


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
    mail_from: str = "Firma <noreply@localhost>"
    sms_provider: str = "log"
    sms_api_url: str | None = None
    sms_api_key: str | None = None
    redis_url: str | None = None
    sql_echo: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def insecure_secret(self) -> bool:
        return self.secret_key == "dev-secret-change-me"

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
            )
        return MessagingConfig(
            mail_from=self.mail_from,
            smtp=smtp,
            secret_key=self.secret_key,
            public_url=self.public_url or f"http://{self.host}:{self.port}",
            timezone=self.timezone,
        )
