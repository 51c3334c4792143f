"""The ASGI application: every door mounted on one app, with the worker in-process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from backoffice.api import create_api
from backoffice.office import OfficeContext, create_office
from channels.onec import onec_router
from crm_core.db import READ_ONLY
from firma.runtime import Runtime, bot_config
from firma.worker import (
    build_campaign_runner,
    build_relay,
    build_reminder_sender,
    build_store_runner,
)
from messaging.web import unsubscribe_router
from webforms import WebformsConfig, create_webforms

log = logging.getLogger(__name__)

INDEX_HTML = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Firma</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
a{color:#0b57d0}</style></head><body>
<h1>Firma</h1>
<p>CRM для небольшой фирмы. <span lang="en">A CRM for a small firm.</span></p>
<ul>
<li><a href="/office/">Офис менеджера</a> — <span lang="en">the back office</span></li>
<li><a href="/api/v1/docs">REST API</a> — документация / docs</li>
<li><a href="/healthz">/healthz</a> — состояние / health</li>
</ul>
</body></html>
"""


def create_app(runtime: Runtime, *, with_worker: bool = False, with_bot: bool = True) -> FastAPI:
    """The whole HTTP surface; ``with_worker`` runs the outbox relay in-process;
    ``with_bot`` serves the Telegram bot when a token is set (webhook with
    FIRMA_PUBLIC_URL, long polling otherwise)."""
    telegram = None
    config = bot_config(runtime.settings) if with_bot else None
    if config is not None:
        from bot.runtime import BotRuntime

        telegram = BotRuntime.build(config, runtime.sessions, clock=runtime.clock)
        install_stop_button(runtime, telegram.dispatcher)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What startup built (modules, routes, templates) lives as long as the process;
        # frozen, it is not walked by every full garbage collection (~1 s stalls seen).
        gc.collect()
        gc.freeze()
        stop = asyncio.Event()
        tasks: list[asyncio.Task] = []
        if with_worker:
            relay = build_relay(runtime)
            tasks.append(asyncio.create_task(relay.run_forever(stop), name="outbox-relay"))
            campaigns = build_campaign_runner(runtime)
            tasks.append(asyncio.create_task(campaigns.run_forever(stop), name="campaigns"))
            reminders = build_reminder_sender(runtime)
            if reminders is not None:
                tasks.append(asyncio.create_task(reminders.run_forever(stop), name="reminders"))
            stores = build_store_runner(runtime)
            tasks.append(asyncio.create_task(stores.run_forever(stop), name="store-exchange"))
        if telegram is not None:
            start = telegram.start_webhook() if config.webhook_url else telegram.run_polling()
            tasks.append(asyncio.create_task(_logged(start), name="telegram-bot"))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if telegram is not None:
                await telegram.close()
            await runtime.aclose()

    app = FastAPI(title="Firma", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.telegram = telegram
    if telegram is not None and config.webhook_url:
        from bot.webhook import webhook_router

        app.include_router(webhook_router(telegram))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        try:
            async with runtime.engine.connect() as conn:
                conn = await conn.execution_options(**READ_ONLY)
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
        except Exception as exc:
            log.warning("health check failed: %s", exc)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(INDEX_HTML)

    public_url = runtime.settings.public_url or (
        f"http://{runtime.settings.host}:{runtime.settings.port}"
    )
    api = create_api(
        runtime.sessions,
        clock=runtime.clock,
        timezone=runtime.settings.timezone,
        public_url=public_url,
    )
    api.state.secret_key = runtime.settings.secret_key  # stores' passwords are encrypted
    app.mount("/api/v1", api)
    app.mount(
        "/office",
        create_office(
            OfficeContext(
                sessions=runtime.sessions,
                clock=runtime.clock,
                timezone=runtime.settings.timezone,
                language=runtime.settings.language,
                public_url=public_url,
                messaging=runtime.settings.messaging(),
            )
        ),
    )
    webforms = create_webforms(runtime.sessions, WebformsConfig.of(runtime))
    runtime.closers.append(webforms.state.webforms.limiter.close)  # Redis, when used
    runtime.closers.append(webforms.state.webforms.aclose)  # drain the forms writer
    app.mount("/forms", webforms)
    app.include_router(
        onec_router(
            runtime.sessions,
            runtime.settings.onec(),
            clock=runtime.clock,
        )
    )
    app.include_router(
        unsubscribe_router(
            runtime.sessions, secret_key=runtime.settings.secret_key, clock=runtime.clock
        )
    )
    _install_channels(app, runtime)
    return app


def _install_channels(app: FastAPI, runtime: Runtime) -> None:
    """ЮKassa, order webhooks, YML and calendar feeds, and their /api/v1 routes."""
    from starlette.routing import Mount

    from channels.wiring import install_channels

    api = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1")
    client = install_channels(
        app, api, runtime.sessions, runtime.settings.channels(), clock=runtime.clock
    )
    runtime.closers.append(client.aclose)


def install_stop_button(runtime: Runtime, dispatcher) -> None:
    """The "Unsubscribe" button under Telegram campaign messages (messaging/)."""
    from messaging.telegram_stop import register_stop_button

    register_stop_button(
        dispatcher,
        runtime.sessions,
        secret_key=runtime.settings.secret_key,
        clock=runtime.clock,
        language=runtime.settings.language,
    )


async def _logged(coro) -> None:
    """Run the bot beside the web app: its failure (Telegram down, bad token) is logged
    and must not take the forms and the API down with it."""
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("telegram bot stopped")
