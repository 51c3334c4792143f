"""New and repeated leads → the managers' Telegram, once per (outbox event, employee);
an imported file's batch (``leads.imported``) as one message, not one per lead.

Registered by ``firma/worker.py``. Recipients: the responsible employee when Telegram
reaches them, else every bound active employee (then "Take" gives the lead to whoever
presses first). The subscriber only queues rows (``crm_core.notifications``) in one
transaction; ``bot.staff_sender`` sends them. A redelivered event queues nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from bot.staff_keyboards import lead_actions, lead_text
from bot.staff_plan import bound_employees, language_of, office_link, queue, recipients
from crm_core.context import SYSTEM, Clock
from crm_core.db import unit_of_work
from crm_core.models import Lead

__all__ = ["office_link", "staff_subscribers"]

log = logging.getLogger(__name__)

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def _answers(payload: dict) -> dict:
    """``lead.created`` carries ``answers``; ``lead.merged`` the door's ``data`` (a form
    nests its answers there)."""
    if payload.get("answers"):
        return dict(payload["answers"])
    data = payload.get("data") or {}
    nested = data.get("answers") if isinstance(data, dict) else None
    return dict(nested) if isinstance(nested, dict) else dict(data)


def staff_subscribers(
    bot: Bot | None,
    sessions: async_sessionmaker[AsyncSession],
    *,
    office_url: str,
    clock: Clock | None = None,
    default_language: str = "ru",
    on_queued: Callable[[], None] | None = None,
) -> dict[str, list]:
    """Topic → subscriber for the worker (``bot`` is unused: the sender sends)."""
    del bot

    async def lead_event(event) -> None:
        p = event.payload
        lead_id, customer_id = p.get("lead_id"), p.get("customer_id")
        if lead_id is None and customer_id is None:
            return
        repeat = event.topic == "lead.merged"
        url = (
            office_link(office_url, "leads", lead_id)
            if lead_id is not None
            else office_link(office_url, "customers", customer_id)
        )
        answers = _answers(p)
        source = " · ".join(str(x) for x in (p.get("source"), p.get("source_detail")) if x)
        utm = {k: p[k] for k in UTM_KEYS if p.get(k)}
        queued = 0
        async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
            # A merge into an open lead keeps its responsible; the payload may not say it.
            responsible_id = p.get("responsible_id")
            if lead_id is not None and responsible_id is None and repeat:
                lead = await session.get(Lead, lead_id)
                responsible_id = lead.responsible_id if lead is not None else None
            employees, shared = await recipients(session, responsible_id)
            for employee in employees:
                language = language_of(employee, default_language)
                _ = translator(language)
                text = lead_text(
                    _,
                    repeat=repeat,
                    source=source,
                    name=p.get("name"),
                    phones=p.get("phones") or (),
                    emails=p.get("emails") or (),
                    answers=answers | utm,
                    url=url,
                )
                # Buttons only for an open lead; a merge into a customer is information.
                markup = lead_actions(_, lead_id, take=shared) if lead_id is not None else None
                row = await queue(
                    session,
                    employee,
                    key=f"outbox:{event.id}",
                    topic=event.topic,
                    text=text,
                    markup=markup,
                    language=language,
                    outbox_event_id=event.id,
                    lead_id=lead_id,
                )
                queued += row is not None
        if queued and on_queued is not None:
            on_queued()

    async def leads_imported(event) -> None:
        """An imported file's batch: one message to everyone bound, not one per lead."""
        p = event.payload
        created, updated = int(p.get("created") or 0), int(p.get("updated") or 0)
        if not created and not updated:
            return
        url = f"{office_url.rstrip('/')}/office/leads?source=import"
        queued = 0
        async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
            for employee in await bound_employees(session):
                language = language_of(employee, default_language)
                _ = translator(language)
                text = "\n".join(
                    (
                        _("📥 Leads imported: {created} new, {updated} updated").format(
                            created=created, updated=updated
                        ),
                        url,
                    )
                )
                row = await queue(
                    session,
                    employee,
                    key=f"outbox:{event.id}",
                    topic=event.topic,
                    text=text,
                    language=language,
                    outbox_event_id=event.id,
                )
                queued += row is not None
        if queued and on_queued is not None:
            on_queued()

    return {
        "lead.created": [lead_event],
        "lead.merged": [lead_event],
        "leads.imported": [leads_imported],
    }
