"""The registration confirmation: what a door needs to write it, and marking it sent.

A registration form's submission emits ``form.registration_confirmed``; messaging's
subscriber reads ``confirmation_of`` (address, language, form, day), has the letter
written by the forms door, sends it, then ``record_confirmation`` puts an ``email``
event on the lead/customer and marks the submission so a redelivered event is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.events.service import create_event
from crm_core.models import Direction, EventKind, EventState, Form, FormSubmission


@dataclass(frozen=True, slots=True)
class Confirmation:
    """One registration to confirm."""

    submission_id: int
    form_id: int
    form_title: str
    success_message: str | None
    day: date | None
    name: str | None
    email: str | None  # the first email the registrant gave; None: nothing to send
    lang: str | None
    lead_id: int | None
    customer_id: int | None
    event_id: int | None
    already_sent: bool
    answers: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConfirmationLetter:
    subject: str
    text: str
    html: str | None = None


async def confirmation_of(session: AsyncSession, submission_id: int) -> Confirmation | None:
    """The registration behind a submission; None if there is no such submission."""
    row = (
        await session.execute(
            select(FormSubmission, Form)
            .join(Form, Form.id == FormSubmission.form_id)
            .where(FormSubmission.id == submission_id)
        )
    ).first()
    if row is None:
        return None
    sub, form = row
    by_type: dict[str, list] = {}
    for f in form.fields:
        value = sub.answers.get(f["name"])
        if value not in (None, ""):
            by_type.setdefault(f["type"], []).append(value)
    day = by_type.get("date", [None])[0]
    return Confirmation(
        submission_id=sub.id,
        form_id=form.id,
        form_title=form.title,
        success_message=form.success_message,
        day=date.fromisoformat(day) if day else None,
        name=" ".join(by_type.get("name", [])) or None,
        email=by_type.get("email", [None])[0],
        lang=(sub.meta or {}).get("lang"),
        lead_id=sub.lead_id,
        customer_id=sub.customer_id,
        event_id=sub.event_id,
        already_sent=sub.confirmation_sent_at is not None,
        answers=dict(sub.answers),
    )


async def record_confirmation(
    session: AsyncSession,
    info: Confirmation,
    letter: ConfirmationLetter,
    *,
    delivered: bool,
    message_id: str,
    detail: str = "",
) -> bool:
    """Mark the confirmation done and put an ``email`` event with the delivery status
    on the lead/customer; False (and nothing recorded) if it was already done."""
    done = await session.execute(
        update(FormSubmission)
        .where(
            FormSubmission.id == info.submission_id,
            FormSubmission.confirmation_sent_at.is_(None),
        )
        .values(confirmation_sent_at=now(session))
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    await create_event(
        session,
        kind=EventKind.EMAIL,
        state=EventState.COMPLETED if delivered else EventState.CANCELLED,
        direction=Direction.OUTGOING,
        subject=letter.subject[:300],
        body=letter.text,
        lead_id=info.lead_id,
        customer_id=info.customer_id,
        data={
            "delivery_status": "sent" if delivered else "failed",
            "to": info.email,
            "message_id": message_id,
            "detail": detail[:1000],
            "form_id": info.form_id,
            "submission_id": info.submission_id,
            "registration_event_id": info.event_id,
        },
    )
    return True
