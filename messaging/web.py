"""``GET/POST /unsubscribe/{token}``: the confirm page and one-click unsubscribe
(RFC 8058: mail clients POST ``List-Unsubscribe=One-Click`` with no confirmation)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock
from crm_core.customers.service import set_consent
from crm_core.db import unit_of_work
from crm_core.events.service import create_event
from crm_core.i18n import N_, Translate, pick_language
from crm_core.models import (
    Campaign,
    Consent,
    Customer,
    Delivery,
    DeliveryStatus,
    Direction,
    EventKind,
    EventState,
)
from messaging.i18n import catalog
from messaging.unsubscribe import UnsubscribeRequest, read_token

CHANNELS = {"email": N_("by email"), "sms": N_("by SMS"), "telegram": N_("in Telegram")}
PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.5rem 1.2rem}}</style></head><body>{body}</body></html>"""


def _page(lang: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    page = PAGE.format(lang=lang, title=html.escape(title), body=body)
    return HTMLResponse(page, status_code=status)


def _language(request: Request) -> str:
    """``?lang=`` first, then the browser's first language; Russian by default."""
    accept = request.headers.get("accept-language", "").split(",")[0].split(";")[0]
    return pick_language(request.query_params.get("lang"), accept or None)


async def unsubscribe(
    session: AsyncSession, request: UnsubscribeRequest, *, language: str = "ru"
) -> bool:
    """Withdraw the customer's consent for the channel, skip their pending campaign
    rows, and note it on their card. False when they had already unsubscribed."""
    consent = await session.scalar(
        select(Consent).where(
            Consent.customer_id == request.customer_id, Consent.channel == request.channel
        )
    )
    await session.execute(
        update(Delivery)
        .where(
            Delivery.customer_id == request.customer_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.campaign_id.in_(
                select(Campaign.id).where(Campaign.channel == request.channel)
            ),
        )
        .values(status=DeliveryStatus.SKIPPED, detail="unsubscribed")
    )
    if consent is not None and not consent.granted:
        return False
    source = f"unsubscribe link, campaign {request.campaign_id or '-'}"
    await set_consent(session, request.customer_id, request.channel, granted=False, source=source)
    _ = catalog.translator(language)  # the note on the card, in the firm's language
    await create_event(
        session,
        kind=EventKind(request.channel.value),
        state=EventState.COMPLETED,
        direction=Direction.INCOMING,
        subject=_("Unsubscribed from mailings"),
        body=_(
            "The customer unsubscribed from mailings {channel}.",
            channel=_(CHANNELS[request.channel.value]),
        ),
        customer_id=request.customer_id,
        data={
            "unsubscribe": True,
            "channel": request.channel.value,
            "campaign_id": request.campaign_id,
        },
    )
    return True


def unsubscribe_router(
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret_key: str,
    clock: Clock | None = None,
    language: str = "ru",
) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def _known(token: str) -> UnsubscribeRequest | None:
        request = read_token(secret_key, token)
        if request is None:
            return None
        async with sessions() as session:
            found = await session.get(Customer, request.customer_id)
        return request if found else None

    def _invalid(_: Translate, lang: str) -> HTMLResponse:
        title, hint = _("This link is not valid"), _("Please check the link in the message.")
        body = f"<h1>{html.escape(title)}</h1><p>{html.escape(hint)}</p>"
        return _page(lang, title, body, 404)

    @router.get("/unsubscribe/{token}")
    async def confirm_page(token: str, request: Request) -> HTMLResponse:
        lang = _language(request)
        _ = catalog.translator(lang)
        found = await _known(token)
        if found is None:
            return _invalid(_, lang)
        channel = _(CHANNELS[found.channel.value])
        title, question = _("Unsubscribe from mailings"), _("Unsubscribe from our mailings?")
        promise = _("We will not write to you {channel} any more.", channel=channel)
        button = _("Unsubscribe")
        body = (
            f"<h1>{html.escape(question)}</h1><p>{html.escape(promise)}</p>"
            f'<form method="post" action="/unsubscribe/{html.escape(token)}">'
            f"<button type=submit>{html.escape(button)}</button></form>"
        )
        return _page(lang, title, body)

    @router.post("/unsubscribe/{token}")
    async def unsubscribe_now(token: str, request: Request) -> HTMLResponse:
        lang = _language(request)
        _ = catalog.translator(lang)
        found = await _known(token)
        if found is None:
            return _invalid(_, lang)
        async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
            await unsubscribe(session, found, language=language)
        title, done = _("You have been unsubscribed"), _("There will be no more mailings.")
        return _page(lang, title, f"<h1>{html.escape(title)}</h1><p>{html.escape(done)}</p>")

    return router
