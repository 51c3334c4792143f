"""Registration confirmations: ``form.registration_confirmed`` → an email to the
registrant through messaging's email transport, and an ``email`` event on the lead or
customer with the delivery status.

The wording comes from the forms door (``write``, handed over by ``firma/worker.py``),
so this module only sends and records. Delivery is at least once: the letter goes out,
then the submission is marked and the event written in one transaction; a redelivered
outbox event finds it marked and sends nothing. If the worker dies between the two,
the letter goes out once more with the same Message-ID (derived from the submission),
which mail clients show once. A transient SMTP failure (4xx, connection) raises, so
the outbox retries with its back-off; a permanent one (5xx) is recorded as failed.
A registrant who left no email address gets no letter (nothing is recorded).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock
from crm_core.db import unit_of_work
from crm_core.forms.confirmations import (
    Confirmation,
    ConfirmationLetter,
    confirmation_of,
    record_confirmation,
)
from messaging.email import EmailTransport, OutgoingEmail, mail_domain

log = logging.getLogger(__name__)

WriteConfirmation = Callable[[Confirmation], ConfirmationLetter]


class ConfirmationNotSent(Exception):
    """A transient failure: the outbox will hand the event over again later."""


def confirmation_message_id(submission_id: int, mail_from: str) -> str:
    return f"<form-confirmation-{submission_id}@{mail_domain(mail_from)}>"


async def send_confirmation(
    sessions: async_sessionmaker[AsyncSession],
    transport: EmailTransport,
    write: WriteConfirmation,
    submission_id: int,
    *,
    clock: Clock | None = None,
) -> bool:
    """Send one registration's confirmation; True if a letter was sent now."""
    async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
        info = await confirmation_of(session, submission_id)
    if info is None or info.already_sent:
        return False
    if not info.email:
        log.info("registration %s left no email: no confirmation sent", submission_id)
        return False
    letter = write(info)
    message_id = confirmation_message_id(submission_id, transport.config.mail_from)
    result = await transport.send(
        OutgoingEmail(
            to=info.email,
            subject=letter.subject,
            text=letter.text,
            html=letter.html,
            message_id=message_id,
        )
    )
    if not result.ok and not result.permanent:
        raise ConfirmationNotSent(f"confirmation {submission_id} to {info.email}: {result.detail}")
    async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
        await record_confirmation(
            session,
            info,
            letter,
            delivered=result.ok,
            message_id=result.message_id or message_id,
            detail=result.detail,
        )
    return result.ok


def form_confirmation_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    transport: EmailTransport,
    write: WriteConfirmation,
    *,
    clock: Clock | None = None,
) -> dict[str, list[Callable[..., Awaitable[None]]]]:
    """Topic → subscriber for ``firma/worker.py``."""

    async def on_registration(event) -> None:
        await send_confirmation(
            sessions, transport, write, event.payload["submission_id"], clock=clock
        )

    return {"form.registration_confirmed": [on_registration]}
