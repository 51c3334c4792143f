"""Submissions: store what the visitor sent first, then turn it into a lead.

``store_submission`` runs in its own transaction and commits before any processing,
so a failure later (a bug, a lost database connection, a full disk) loses nothing:
the row stays ``received`` or ``failed`` with its error, and the worker retries it
(``form.submission_received`` is emitted with a delay as a safety net).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.errors import ValidationFailed
from crm_core.forms.registration import apply_marketing, plan_registration, responsible_for
from crm_core.leads.service import intake_lead
from crm_core.models import Form, FormSubmission, LeadSource, SubmissionStatus
from crm_core.outbox import emit

# The worker looks again this long after storing, in case processing never finished.
SAFETY_NET_DELAY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Who sent it and which consent texts they were shown (versions from the token)."""

    ip: str | None
    user_agent: str | None
    consent_text_id: int | None
    marketing_text_id: int | None


async def store_submission(
    session: AsyncSession,
    form: Form,
    *,
    answers: dict[str, Any],
    meta: dict[str, Any],
    evidence: Evidence,
    marketing_consent: bool = False,
    idempotency_key: str | None = None,
    spam_reason: str | None = None,
) -> tuple[FormSubmission, bool]:
    """Insert the raw submission; ``(row, False)`` when the idempotency key was seen."""
    at = now(session)
    key = (idempotency_key or "").strip()[:100] or None
    row = FormSubmission(
        form_id=form.id,
        status=SubmissionStatus.SPAM if spam_reason else SubmissionStatus.RECEIVED,
        idempotency_key=key,
        answers=answers,
        meta=meta,
        ip=(evidence.ip or "")[:64] or None,
        user_agent=(evidence.user_agent or "")[:500] or None,
        consent_text_id=evidence.consent_text_id or form.consent_text_id,
        marketing_consent=marketing_consent and form.marketing_consent_text_id is not None,
        marketing_text_id=(evidence.marketing_text_id or form.marketing_consent_text_id)
        if marketing_consent
        else None,
        error=spam_reason,
        created_at=at,
    )
    if key is not None:
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            seen = await session.scalar(
                select(FormSubmission).where(
                    FormSubmission.form_id == form.id, FormSubmission.idempotency_key == key
                )
            )
            if seen is None:  # pragma: no cover - the unique key says it is there
                raise
            return seen, False
    else:
        session.add(row)
        await session.flush()
    if not spam_reason:
        event = emit(session, "form.submission_received", {"submission_id": row.id})
        event.available_at = at + SAFETY_NET_DELAY
    return row, True


async def _claim(session: AsyncSession, submission_id: int) -> bool:
    """Take the row for processing inside this transaction. On PostgreSQL a second
    processor blocks on the row lock, then sees it processed and backs off."""
    result = await session.execute(
        update(FormSubmission)
        .where(
            FormSubmission.id == submission_id,
            FormSubmission.status.in_([SubmissionStatus.RECEIVED, SubmissionStatus.FAILED]),
        )
        .values(status=SubmissionStatus.PROCESSED, processed_at=now(session))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def process_submission(
    session: AsyncSession, submission_id: int, *, timezone: str = "Europe/Moscow"
) -> FormSubmission | None:
    """Create or merge the lead, plan a registration, record consent; None if someone
    else already processed it."""
    if not await _claim(session, submission_id):
        return None
    sub = await session.get(FormSubmission, submission_id, populate_existing=True)
    form = await session.get(Form, sub.form_id)
    fields = {f["name"]: f for f in form.fields}
    by_type: dict[str, list[Any]] = {}
    for name, value in sub.answers.items():
        if name in fields:
            by_type.setdefault(fields[name]["type"], []).append(value)
    responsible_id = await responsible_for(session, form, sub.id)
    data = {
        "form_id": form.id,
        "form": form.slug,
        "purpose": form.purpose.value,
        "submission_id": sub.id,
        "answers": sub.answers,
        **{k: v for k, v in sub.meta.items() if not k.startswith("utm_")},
    }
    result = await intake_lead(
        session,
        name=" ".join(by_type.get("name", [])) or None,
        phones=by_type.get("phone", []),
        emails=by_type.get("email", []),
        source=LeadSource.WEB_FORM,
        source_detail=form.title,
        comment="\n\n".join(by_type.get("textarea", [])) or None,
        responsible_id=responsible_id,
        data=data,
        **{k: v for k, v in sub.meta.items() if k.startswith("utm_")},
    )
    sub.lead_id = result.lead.id if result.lead else None
    sub.customer_id = result.customer.id if result.customer else None
    if form.purpose.value == "registration":
        sub.event_id = await plan_registration(
            session, form, sub, by_type.get("date", [None])[0], responsible_id, timezone
        )
    if sub.marketing_consent and sub.customer_id:
        await apply_marketing(session, sub)
    sub.error = None
    await session.flush()
    return sub


async def mark_failed(session: AsyncSession, submission_id: int, error: str) -> None:
    """Keep the submission with what went wrong; the worker will try it again."""
    await session.execute(
        update(FormSubmission)
        .where(FormSubmission.id == submission_id, FormSubmission.status != "processed")
        .values(
            status=SubmissionStatus.FAILED,
            error=error[:2000],
            attempts=FormSubmission.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )


async def list_submissions(
    session: AsyncSession,
    form_id: int,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[FormSubmission], int]:
    """A form's submissions, newest first, optionally of one status."""
    conditions = [FormSubmission.form_id == form_id]
    if status:
        try:
            conditions.append(FormSubmission.status == SubmissionStatus(status))
        except ValueError as exc:
            raise ValidationFailed(f"Unknown status {status!r}", field="status") from exc
    total = await session.scalar(select(func.count(FormSubmission.id)).where(*conditions))
    rows = await session.scalars(
        select(FormSubmission)
        .where(*conditions)
        .order_by(FormSubmission.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
