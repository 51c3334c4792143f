"""``POST /telegram/webhook``: Telegram's updates, checked against the secret header."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.runtime import BotRuntime

log = logging.getLogger(__name__)
MAX_UPDATE_BYTES = 1024 * 1024


def webhook_router(runtime: BotRuntime) -> APIRouter:
    router = APIRouter()
    secret = runtime.config.webhook_secret

    @router.post("/telegram/webhook", include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return JSONResponse({"detail": "Wrong secret token"}, status_code=401)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return JSONResponse({"detail": "Too large"}, status_code=413)
        try:
            update = await request.json()
        except ValueError:
            update = None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            # Not an update: answering 200 keeps Telegram from resending garbage forever.
            log.warning("telegram webhook: not an update")
            return JSONResponse({"ok": True})
        # Handled before answering, so Telegram sends this chat's next update only after
        # this one is done. A failing update is logged and still acknowledged: resent,
        # it would fail again and hold up the chat's later updates.
        answer = await runtime.feed(update, in_response=True)
        return JSONResponse(answer or {"ok": True})

    return router
