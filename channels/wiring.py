"""The payment, webhook, feed and file routes on the app: the public ones at the root,
the staff ones inside the ``/api/v1`` application."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.admin.auth import STATE_KEY, ChannelsApi
from channels.admin.router import channels_api_router
from channels.calendar.ics import calendar_router
from channels.feeds.yml import FeedConfig, yml_router
from channels.webhooks.orders import WINDOW_S, order_webhook_router
from channels.yookassa.client import YookassaClient, YookassaConfig
from channels.yookassa.notifications import yookassa_router
from crm_core.context import Clock


@dataclass(frozen=True)
class ChannelsConfig:
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Moscow"
    yookassa: YookassaConfig = field(default_factory=YookassaConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    webhook_window_s: int = WINDOW_S


def install_channels(
    app: FastAPI,
    api: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    config: ChannelsConfig,
    *,
    clock: Clock,
) -> YookassaClient:
    """Mount the routes; returns the ЮKassa client for the caller to close at shutdown."""
    client = YookassaClient(config.yookassa)
    app.include_router(yookassa_router(sessions, client, clock=clock))
    app.include_router(
        order_webhook_router(sessions, clock=clock, window_s=config.webhook_window_s)
    )
    app.include_router(yml_router(sessions, config.feed, clock=clock))
    app.include_router(
        calendar_router(
            sessions, clock=clock, public_url=config.public_url, timezone=config.timezone
        )
    )
    setattr(
        api.state,
        STATE_KEY,
        ChannelsApi(sessions=sessions, clock=clock, public_url=config.public_url, yookassa=client),
    )
    api.include_router(channels_api_router())
    return client
