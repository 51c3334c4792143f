"""What a submission does beyond the lead: who gets it, the registration meeting,
the marketing consent."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.customers.service import set_consent
from crm_core.events.service import create_event
from crm_core.models import (
    Channel,
    ContactKind,
    ContactPoint,
    Employee,
    Form,
    FormSubmission,
    Lead,
    Role,
)
from crm_core.outbox import emit


async def active_managers(session: AsyncSession) -> list[int]:
    """The ids of the active managers, in a stable order (the round-robin's turns)."""
    return list(
        await session.scalars(
            select(Employee.id)
            .where(Employee.active.is_(True), Employee.role == Role.MANAGER)
            .order_by(Employee.id)
        )
    )


async def responsible_for(
    session: AsyncSession, form: Form, sequence: int, managers: list[int] | None = None
) -> int | None:
    """The form's responsible employee, else the active managers in turn (``managers``
    as a caller has them, else read now).

    The turn is the submission's id modulo the number of managers: no shared counter
    row, so concurrent submissions never queue on one lock, and the spread is even.
    """
    if form.responsible_id:
        return form.responsible_id
    ids = managers if managers is not None else await active_managers(session)
    return ids[sequence % len(ids)] if ids else None


async def plan_registration(
    session: AsyncSession,
    form: Form,
    *,
    submission_id: int,
    answers: dict[str, Any],
    day: str | None,
    employee_id: int | None,
    lead_id: int | None,
    customer_id: int | None,
    timezone: str,
) -> int | None:
    """A planned meeting on the chosen day (the whole day in the firm's time zone), and
    ``form.registration_confirmed`` for messaging to send the confirmation."""
    if not day:
        return None
    zone = ZoneInfo(timezone)
    starts = datetime.combine(date.fromisoformat(day), time(0, 0), zone)
    event = await create_event(
        session,
        kind="meeting",
        state="planned",
        subject=f"{form.title}: {day}"[:300],
        body=f"Регистрация через форму «{form.title}»",
        data={"form_id": form.id, "submission_id": submission_id, "answers": answers},
        starts_at=starts,
        ends_at=starts + timedelta(days=1),
        employee_id=employee_id,
        lead_id=lead_id,
        customer_id=customer_id,
    )
    emit(
        session,
        "form.registration_confirmed",
        {
            "submission_id": submission_id,
            "form_id": form.id,
            "event_id": event.id,
            "date": day,
            "lead_id": lead_id,
            "customer_id": customer_id,
        },
    )
    return event.id


async def apply_marketing(
    session: AsyncSession, customer_id: int, form_id: int, submission_id: int
) -> None:
    """Turn the ticked marketing box into the customer's channel consents: email and SMS
    for the contacts the customer has (the caller marks the submission applied)."""
    kinds = set(
        await session.scalars(
            select(ContactPoint.kind).where(ContactPoint.customer_id == customer_id)
        )
    )
    channels = [Channel.EMAIL] if ContactKind.EMAIL in kinds else []
    channels += [Channel.SMS] if ContactKind.PHONE in kinds else []
    for channel in channels:
        await set_consent(
            session,
            customer_id,
            channel,
            granted=True,
            source=f"web form {form_id}, submission {submission_id}",
        )


async def apply_pending_marketing(session: AsyncSession, lead_id: int) -> int:
    """A lead became a customer: apply the marketing consents kept on its submissions."""
    customer_id = await session.scalar(select(Lead.customer_id).where(Lead.id == lead_id))
    if not customer_id:
        return 0
    subs = list(
        await session.scalars(
            select(FormSubmission).where(
                FormSubmission.lead_id == lead_id,
                FormSubmission.marketing_consent.is_(True),
                FormSubmission.marketing_applied_at.is_(None),
            )
        )
    )
    for sub in subs:
        sub.customer_id = customer_id
        await apply_marketing(session, customer_id, sub.form_id, sub.id)
        sub.marketing_applied_at = now(session)
    await session.flush()
    return len(subs)
