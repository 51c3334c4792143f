"""Processing a stored submission from any entry point, and the worker's subscribers.

A failure is written to the submission (``failed``, error, attempts) in a separate
transaction, so it is visible in the API; the outbox event ``form.submission_received``
brings it back to a worker, with the outbox's back-off, until it goes through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import Clock
from crm_core.db import unit_of_work
from crm_core.forms.registration import apply_pending_marketing
from crm_core.forms.submissions import mark_failed, process_submission
from crm_core.models import FormSubmission

log = logging.getLogger(__name__)


async def process_or_record(
    sessions: async_sessionmaker[AsyncSession],
    submission_id: int,
    *,
    clock: Clock | None = None,
    timezone: str = "Europe/Moscow",
    reraise: bool = False,
) -> FormSubmission | None:
    """Process in one transaction; on any error keep the error on the submission."""
    try:
        async with unit_of_work(sessions, clock=clock) as session:
            return await process_submission(session, submission_id, timezone=timezone)
    except Exception as exc:
        log.exception("form submission %s failed", submission_id)
        async with unit_of_work(sessions, clock=clock) as session:
            await mark_failed(session, submission_id, f"{type(exc).__name__}: {exc}")
        if reraise:
            raise
        return None


def form_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
    timezone: str = "Europe/Moscow",
) -> dict[str, list[Callable[..., Awaitable[None]]]]:
    """Topic → subscriber for ``firma/worker.py``."""

    async def retry_submission(event) -> None:
        await process_or_record(
            sessions, event.payload["submission_id"], clock=clock, timezone=timezone, reraise=True
        )

    async def consent_on_conversion(event) -> None:
        async with unit_of_work(sessions, clock=clock) as session:
            await apply_pending_marketing(session, event.payload["lead_id"])

    return {
        "form.submission_received": [retry_submission],
        "lead.converted": [consent_on_conversion],
    }
