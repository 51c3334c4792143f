"""``GET/POST /unsubscribe/{token}``: the confirm page and one-click unsubscribe
(RFC 8058: mail clients POST ``List-Unsubscribe=One-Click`` with no confirmation)."""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock
from crm_core.customers.service import set_consent
from crm_core.db import unit_of_work
from crm_core.events.service import create_event
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
from messaging.unsubscribe import UnsubscribeRequest, read_token

CHANNEL_RU = {"email": "электронной почте", "sms": "SMS", "telegram": "Telegram"}
PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.5rem 1.2rem}}</style></head><body>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), status_code=status)


async def unsubscribe(session: AsyncSession, request: UnsubscribeRequest) -> bool:
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
    await create_event(
        session,
        kind=EventKind(request.channel.value),
        state=EventState.COMPLETED,
        direction=Direction.INCOMING,
        subject="Отписка от рассылки",
        body=f"Клиент отписался от рассылок по {CHANNEL_RU[request.channel.value]}.",
        customer_id=request.customer_id,
        data={
            "unsubscribe": True,
            "channel": request.channel.value,
            "campaign_id": request.campaign_id,
        },
    )
    return True


def unsubscribe_router(
    sessions: async_sessionmaker[AsyncSession], *, secret_key: str, clock: Clock | None = None
) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def _known(token: str) -> UnsubscribeRequest | None:
        request = read_token(secret_key, token)
        if request is None:
            return None
        async with sessions() as session:
            found = await session.get(Customer, request.customer_id)
        return request if found else None

    def _invalid() -> HTMLResponse:
        return _page(
            "Ссылка недействительна",
            "<h1>Ссылка недействительна</h1><p>Проверьте ссылку из письма.</p>"
            '<p lang="en">This unsubscribe link is not valid.</p>',
            404,
        )

    @router.get("/unsubscribe/{token}")
    async def confirm_page(token: str) -> HTMLResponse:
        request = await _known(token)
        if request is None:
            return _invalid()
        channel = CHANNEL_RU[request.channel.value]
        return _page(
            "Отписка от рассылки",
            f"<h1>Отписаться от рассылки?</h1><p>Мы больше не будем писать вам по {channel}.</p>"
            f'<form method="post" action="/unsubscribe/{html.escape(token)}">'
            "<button type=submit>Отписаться</button></form>"
            '<p lang="en">Unsubscribe from our mailings: press the button.</p>',
        )

    @router.post("/unsubscribe/{token}")
    async def unsubscribe_now(token: str) -> HTMLResponse:
        request = await _known(token)
        if request is None:
            return _invalid()
        async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
            await unsubscribe(session, request)
        return _page(
            "Вы отписаны",
            "<h1>Вы отписаны</h1><p>Рассылок больше не будет.</p>"
            '<p lang="en">You have been unsubscribed.</p>',
        )

    return router
