"""The core's own configuration, built by ``firma/settings.py`` and passed in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CoreConfig:
    database_url: str = "sqlite+aiosqlite:///./firma.db"
    timezone: str = "Europe/Moscow"
    phone_region: str = "RU"
    sql_echo: bool = False
