"""Submissions: store what the visitor sent first, then turn it into a lead.

``receive_submission`` is the intake of one submission in one transaction: the raw row
is inserted first, then processed inside a savepoint. If processing raises, the
savepoint is rolled back and the row stays, ``failed`` with its error, and an outbox
event (``form.submission_received``) brings it back to a worker until it goes through.
The caller commits once, before the visitor is told "accepted": what was accepted is
durable, and nothing accepted is lost when processing fails.

Duplicates are settled by unique keys in one ``INSERT … ON CONFLICT DO NOTHING``: the
same idempotency key is the same submission (a double click, a retried request); the
same form-token nonce with another key is a replayed token, kept as ``spam``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.customers.contacts import Contacts, normalize_contacts
from crm_core.errors import ValidationFailed
from crm_core.forms.registration import (
    active_managers,
    apply_marketing,
    plan_registration,
    responsible_for,
)
from crm_core.leads.intake import IntakeResult, lock_contacts
from crm_core.leads.service import intake_lead, intake_leads
from crm_core.models import Form, FormPurpose, FormSubmission, LeadSource, SubmissionStatus
from crm_core.outbox import emit

log = logging.getLogger(__name__)

# A failed submission comes back to a worker after this long (then the outbox's back-off).
RETRY_DELAY = timedelta(seconds=30)
# Rows stored without processing (store_submission alone) are looked at again after this.
SAFETY_NET_DELAY = timedelta(seconds=60)
REPLAYED_TOKEN = "replayed_token"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Who sent it and which consent texts they were shown (versions from the token)."""

    ip: str | None
    user_agent: str | None
    consent_text_id: int | None
    marketing_text_id: int | None


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored submission: ``fresh`` is False when its idempotency key was seen before
    (then this is that earlier submission)."""

    id: int
    status: SubmissionStatus
    fresh: bool
    error: str | None = None
    lead_id: int | None = None
    customer_id: int | None = None
    event_id: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    lead_id: int | None
    customer_id: int | None
    event_id: int | None
    marketing_applied: bool


_TABLE = FormSubmission.__table__
# Built once: the hot path's two statements, with their values as parameters (a
# statement built per call costs more to compile-cache than it costs to run).
_INSERTS = {
    name: insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)
    for name, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_RECORD = _TABLE.update().where(_TABLE.c.id == bindparam("submission_id"))


async def store_submission(
    session: AsyncSession,
    form: Form,
    *,
    answers: dict[str, Any],
    meta: dict[str, Any],
    evidence: Evidence,
    marketing_consent: bool = False,
    idempotency_key: str | None = None,
    token_nonce: str | None = None,
    spam_reason: str | None = None,
    safety_net: bool = True,
) -> Stored:
    """Insert the raw submission (one statement); see the module docstring for
    duplicates and replays. ``safety_net`` schedules a worker look in case the caller
    never processes it."""
    at = now(session)
    values = _values(
        at,
        form,
        answers=answers,
        meta=meta,
        evidence=evidence,
        marketing_consent=marketing_consent,
        idempotency_key=idempotency_key,
        token_nonce=token_nonce,
        spam_reason=spam_reason,
    )
    key = values["idempotency_key"]
    statement = _INSERTS[session.get_bind().dialect.name]
    for _attempt in range(2):
        new_id = (await session.execute(statement, values)).scalar()
        if new_id is not None:
            if safety_net and values["status"] is SubmissionStatus.RECEIVED:
                event = emit(session, "form.submission_received", {"submission_id": new_id})
                event.available_at = at + SAFETY_NET_DELAY
            return Stored(new_id, values["status"], True, values["error"])
        if key is not None:
            seen = await _by_key(session, form.id, key)
            if seen is not None:
                return seen
        # Not the key, so the token's nonce: this token already made a submission.
        values.update(status=SubmissionStatus.SPAM, token_nonce=None, error=REPLAYED_TOKEN)
    raise AssertionError("unreachable: a spam row has no token nonce to clash on")


def _values(
    at,
    form: Form,
    *,
    answers: dict[str, Any],
    meta: dict[str, Any],
    evidence: Evidence,
    marketing_consent: bool,
    idempotency_key: str | None,
    token_nonce: str | None,
    spam_reason: str | None,
) -> dict[str, Any]:
    """The raw row of a submission."""
    key = (idempotency_key or "").strip()[:100] or None
    marketing = marketing_consent and form.marketing_consent_text_id is not None
    return {
        "form_id": form.id,
        "status": SubmissionStatus.SPAM if spam_reason else SubmissionStatus.RECEIVED,
        "idempotency_key": key,
        "token_nonce": None if spam_reason else (token_nonce or None),
        "answers": answers,
        "meta": meta,
        "ip": (evidence.ip or "")[:64] or None,
        "user_agent": (evidence.user_agent or "")[:500] or None,
        "consent_text_id": evidence.consent_text_id or form.consent_text_id,
        "marketing_consent": marketing,
        "marketing_text_id": (evidence.marketing_text_id or form.marketing_consent_text_id)
        if marketing
        else None,
        "attempts": 0,
        "error": spam_reason,
        "created_at": at,
    }


async def _by_key(session: AsyncSession, form_id: int, key: str) -> Stored | None:
    row = (
        await session.execute(
            select(
                FormSubmission.id,
                FormSubmission.status,
                FormSubmission.error,
                FormSubmission.lead_id,
                FormSubmission.customer_id,
                FormSubmission.event_id,
            ).where(FormSubmission.form_id == form_id, FormSubmission.idempotency_key == key)
        )
    ).first()
    return None if row is None else Stored(row[0], row[1], False, *row[2:])


def _lead_request(
    form: Form,
    *,
    submission_id: int,
    answers: dict[str, Any],
    meta: dict[str, Any],
    responsible_id: int | None,
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The intake's keywords for a submission, and its answers by field type."""
    fields = {f["name"]: f for f in form.fields}
    by_type: dict[str, list[Any]] = {}
    for name, value in answers.items():
        if name in fields:
            by_type.setdefault(fields[name]["type"], []).append(value)
    data = {
        "form_id": form.id,
        "form": form.slug,
        "purpose": form.purpose.value,
        "submission_id": submission_id,
        "answers": answers,
        **{k: v for k, v in meta.items() if not k.startswith("utm_") and k != "lang"},
    }
    request = {
        "name": " ".join(by_type.get("name", [])) or None,
        "phones": by_type.get("phone", []),
        "emails": by_type.get("email", []),
        "source": LeadSource.WEB_FORM,
        "source_detail": form.title,
        "comment": "\n\n".join(by_type.get("textarea", [])) or None,
        "responsible_id": responsible_id,
        "data": data,
        **{k: v for k, v in meta.items() if k.startswith("utm_")},
    }
    return request, by_type


async def _after_intake(
    session: AsyncSession,
    form: Form,
    result: IntakeResult,
    *,
    submission_id: int,
    answers: dict[str, Any],
    by_type: dict[str, list[Any]],
    responsible_id: int | None,
    marketing_consent: bool,
    timezone: str,
) -> Outcome:
    """Plan a registration, apply the marketing consent."""
    lead_id = result.lead.id if result.lead else None
    customer_id = result.customer.id if result.customer else None
    event_id = None
    if form.purpose is FormPurpose.REGISTRATION:
        event_id = await plan_registration(
            session,
            form,
            submission_id=submission_id,
            answers=answers,
            day=by_type.get("date", [None])[0],
            employee_id=responsible_id,
            lead_id=lead_id,
            customer_id=customer_id,
            timezone=timezone,
        )
    applied = False
    if marketing_consent and customer_id:
        await apply_marketing(session, customer_id, form.id, submission_id)
        applied = True
    return Outcome(lead_id, customer_id, event_id, applied)


async def _process(
    session: AsyncSession,
    form: Form,
    *,
    submission_id: int,
    answers: dict[str, Any],
    meta: dict[str, Any],
    marketing_consent: bool,
    timezone: str,
    managers: list[int] | None = None,
) -> Outcome:
    """Create or merge the lead, plan a registration, apply the marketing consent."""
    responsible_id = await responsible_for(session, form, submission_id, managers)
    request, by_type = _lead_request(
        form, submission_id=submission_id, answers=answers, meta=meta, responsible_id=responsible_id
    )
    result = await intake_lead(session, **request)
    return await _after_intake(
        session,
        form,
        result,
        submission_id=submission_id,
        answers=answers,
        by_type=by_type,
        responsible_id=responsible_id,
        marketing_consent=marketing_consent,
        timezone=timezone,
    )


def _recorded(at, submission_id: int, outcome: Outcome) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "status": SubmissionStatus.PROCESSED,
        "processed_at": at,
        "lead_id": outcome.lead_id,
        "customer_id": outcome.customer_id,
        "event_id": outcome.event_id,
        "error": None,
        # (None for a fresh row is what it already holds)
        "marketing_applied_at": at if outcome.marketing_applied else None,
    }


async def _record(session: AsyncSession, submission_id: int, outcome: Outcome) -> None:
    values = _recorded(now(session), submission_id, outcome)
    if values["marketing_applied_at"] is None:
        del values["marketing_applied_at"]  # a retried row may have it already
    await session.flush()  # (a Core statement does not autoflush the intake's rows)
    await session.execute(_RECORD, values)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One submission as a door hands it in (see ``receive_submission``'s arguments)."""

    form: Form
    answers: dict[str, Any]
    meta: dict[str, Any]
    evidence: Evidence
    marketing_consent: bool = False
    idempotency_key: str | None = None
    token_nonce: str | None = None
    spam_reason: str | None = None
    managers: list[int] | None = None
    # The answers' phones and emails as the door normalised them (``contacts_of``),
    # so the batch does not parse them again; None: normalised here.
    contacts: Contacts | None = None


async def _store(session: AsyncSession, item: Incoming) -> Stored:
    return await store_submission(
        session,
        item.form,
        answers=item.answers,
        meta=item.meta,
        evidence=item.evidence,
        marketing_consent=item.marketing_consent,
        idempotency_key=item.idempotency_key,
        token_nonce=item.token_nonce,
        spam_reason=item.spam_reason,
        safety_net=False,
    )


async def _process_stored(
    session: AsyncSession,
    item: Incoming,
    stored: Stored,
    timezone: str,
    deferred: list[dict[str, Any]] | None = None,
) -> Stored:
    """Process a stored row; record the outcome on it now, or, with ``deferred``, add
    its values there for one ``executemany`` of the whole batch."""
    form = item.form
    outcome = await _process(
        session,
        form,
        submission_id=stored.id,
        answers=item.answers,
        meta=item.meta,
        marketing_consent=item.marketing_consent and form.marketing_consent_text_id is not None,
        timezone=timezone,
        managers=item.managers,
    )
    if deferred is None:
        await _record(session, stored.id, outcome)
    else:
        deferred.append(_recorded(now(session), stored.id, outcome))
    return Stored(
        stored.id,
        SubmissionStatus.PROCESSED,
        True,
        None,
        outcome.lead_id,
        outcome.customer_id,
        outcome.event_id,
    )


async def _keep_failed(session: AsyncSession, stored: Stored, exc: Exception) -> Stored:
    log.error("form submission %s failed; a worker will retry it", stored.id, exc_info=exc)
    error = f"{type(exc).__name__}: {exc}"
    await mark_failed(session, stored.id, error)
    event = emit(session, "form.submission_received", {"submission_id": stored.id})
    event.available_at = now(session) + RETRY_DELAY
    return Stored(stored.id, SubmissionStatus.FAILED, True, error[:2000])


async def receive_submission(
    session: AsyncSession,
    form: Form,
    *,
    answers: dict[str, Any],
    meta: dict[str, Any],
    evidence: Evidence,
    marketing_consent: bool = False,
    idempotency_key: str | None = None,
    token_nonce: str | None = None,
    spam_reason: str | None = None,
    timezone: str = "Europe/Moscow",
    managers: list[int] | None = None,
) -> Stored:
    """Store a submission and process it in the same transaction (a savepoint): a
    processing error leaves it ``failed`` and scheduled for a worker, never lost.
    ``managers``: the active managers' ids if the caller keeps them (round-robin)."""
    item = Incoming(
        form,
        answers,
        meta,
        evidence,
        marketing_consent,
        idempotency_key,
        token_nonce,
        spam_reason,
        managers,
    )
    stored = await _store(session, item)
    if not stored.fresh or stored.status is not SubmissionStatus.RECEIVED:
        return stored
    try:
        async with session.begin_nested():
            return await _process_stored(session, item, stored, timezone)
    except Exception as exc:
        return await _keep_failed(session, stored, exc)


def _contacts(item: Incoming) -> Contacts | None:
    """The contacts the intake will take for this submission (none for spam), as the
    door normalised them or normalised now; None if the intake will refuse them."""
    if item.spam_reason:
        return None
    if item.contacts is not None:
        return item.contacts
    types = {f["name"]: f["type"] for f in item.form.fields}
    phones = [v for k, v in item.answers.items() if types.get(k) == "phone"]
    emails = [v for k, v in item.answers.items() if types.get(k) == "email"]
    try:
        return normalize_contacts(phones, emails, None)
    except Exception:  # the intake will refuse it before taking any lock
        return None


class _OneByOne(Exception):
    """A batch whose outcomes only one by one gets right (see ``_receive_together``)."""


_INSERT_OF = {"sqlite": sqlite_insert, "postgresql": pg_insert}
_RETURNED = (_TABLE.c.id, _TABLE.c.idempotency_key, _TABLE.c.token_nonce)


async def _store_together(session: AsyncSession, items: Sequence[Incoming]) -> list[Stored]:
    """Every raw row of the batch in ONE insert, with the ids one by one would give
    (in the rows' order). Raises ``_OneByOne`` for a batch where that is not certain:
    a key or token repeated in the batch or seen before (a double click, a retried
    request, a replayed token: rows one by one settles them), or more than one row
    without either (their returned ids could not be told apart)."""
    at = now(session)
    rows = [
        _values(
            at,
            item.form,
            answers=item.answers,
            meta=item.meta,
            evidence=item.evidence,
            marketing_consent=item.marketing_consent,
            idempotency_key=item.idempotency_key,
            token_nonce=item.token_nonce,
            spam_reason=item.spam_reason,
        )
        for item in items
    ]
    marks = [(r["form_id"], r["idempotency_key"], r["token_nonce"]) for r in rows]
    keys = [(f, k) for f, k, _n in marks if k]
    nonces = [n for _f, _k, n in marks if n]
    if (
        len(set(keys)) < len(keys)
        or len(set(nonces)) < len(nonces)
        or sum(1 for _f, k, n in marks if not k and not n) > 1
    ):
        raise _OneByOne("a key or token repeated in the batch")
    insert = _INSERT_OF[session.get_bind().dialect.name]
    statement = insert(_TABLE).values(rows).on_conflict_do_nothing().returning(*_RETURNED)
    got = sorted((await session.execute(statement)).all())
    # Rows go in, and get their ids, in their order; checked, not assumed.
    if len(got) != len(rows) or any(
        (g[1], g[2]) != (k, n) for g, (_f, k, n) in zip(got, marks, strict=True)
    ):
        raise _OneByOne("a key or token seen before")
    return [Stored(g[0], r["status"], True, r["error"]) for g, r in zip(got, rows, strict=True)]


async def _receive_together(
    session: AsyncSession,
    items: Sequence[Incoming],
    timezone: str,
    known: dict[int, Contacts | None],
) -> tuple[list[Stored], list[dict[str, Any]]]:
    """The batch's way: every raw row, then ONE batch intake for the fresh ones, then
    their registrations and consents; each with the outcome one by one would give."""
    stored = await _store_together(session, items)
    todo: list[tuple[int, dict[str, list[Any]], int | None]] = []
    requests: list[dict[str, Any]] = []
    managers: list[int] | None = None
    for i, (item, row) in enumerate(zip(items, stored, strict=True)):
        if not (row.fresh and row.status is SubmissionStatus.RECEIVED):
            continue
        turns = item.managers
        if turns is None and not item.form.responsible_id:
            managers = managers if managers is not None else await active_managers(session)
            turns = managers
        responsible_id = await responsible_for(session, item.form, row.id, turns)
        request, by_type = _lead_request(
            item.form,
            submission_id=row.id,
            answers=item.answers,
            meta=item.meta,
            responsible_id=responsible_id,
        )
        contacts = known[id(item)] if id(item) in known else _contacts(item)
        if contacts is not None:  # (parsed once: at the door, or for the lock above)
            del request["phones"], request["emails"]
            request["contacts"] = contacts
        todo.append((i, by_type, responsible_id))
        requests.append(request)
    # (The caller locked every contact of the batch, before its raw rows.)
    results = await intake_leads(session, requests, contacts_locked=True)
    # A marketing consent covers the channels of the contacts the customer has at that
    # submission; applied after the whole batch, it would also cover those a later one
    # of the batch adds to the same customer. That rare batch goes one by one.
    last = {r.customer.id: n for n, r in enumerate(results) if r.customer is not None}
    for n, ((i, _by_type, _responsible), result) in enumerate(zip(todo, results, strict=True)):
        customer_id = result.customer.id if result.customer is not None else None
        if customer_id and items[i].marketing_consent and last[customer_id] > n:
            raise _OneByOne("a customer's marketing consent, then more of its contacts")
    deferred: list[dict[str, Any]] = []
    for (i, by_type, responsible_id), result in zip(todo, results, strict=True):
        item, row = items[i], stored[i]
        outcome = await _after_intake(
            session,
            item.form,
            result,
            submission_id=row.id,
            answers=item.answers,
            by_type=by_type,
            responsible_id=responsible_id,
            marketing_consent=item.marketing_consent
            and item.form.marketing_consent_text_id is not None,
            timezone=timezone,
        )
        deferred.append(_recorded(now(session), row.id, outcome))
        stored[i] = Stored(
            row.id,
            SubmissionStatus.PROCESSED,
            True,
            None,
            outcome.lead_id,
            outcome.customer_id,
            outcome.event_id,
        )
    return stored, deferred


async def _receive_one_by_one(
    session: AsyncSession, items: Sequence[Incoming], timezone: str
) -> tuple[list[Stored | Exception], list[dict[str, Any]]]:
    """Each submission in its own savepoint: one that fails is stored again, failed."""
    results: list[Stored | Exception] = []
    deferred: list[dict[str, Any]] = []  # the processed rows' outcomes, one executemany
    for item in items:
        mark = len(deferred)
        try:
            async with session.begin_nested():
                stored = await _store(session, item)
                if stored.fresh and stored.status is SubmissionStatus.RECEIVED:
                    stored = await _process_stored(session, item, stored, timezone, deferred)
        except Exception as exc:
            del deferred[mark:]  # (its savepoint, and its row, are gone)
            # Rolled back to the savepoint, raw row and all: keep it, with the error.
            try:
                async with session.begin_nested():
                    stored = await _store(session, item)
                    if stored.fresh and stored.status is SubmissionStatus.RECEIVED:
                        stored = await _keep_failed(session, stored, exc)
            except Exception as again:
                log.exception("form submission could not be stored in its batch")
                results.append(again)
                continue
        results.append(stored)
    return results, deferred


async def receive_submissions(
    session: AsyncSession, items: Sequence[Incoming], *, timezone: str = "Europe/Moscow"
) -> list[Stored | Exception]:
    """Many submissions in the caller's one transaction (the forms' group commit), each
    with the outcome it would have alone, in that order (by idempotency key). The
    caller commits once, then answers every visitor.

    The batch goes together first, in one savepoint: its raw rows, one batch intake
    (``intake_leads``: a fixed number of statements for the batch), and the outcomes in
    one ``executemany``. If anything in it fails, that savepoint is rolled back and
    each submission goes in its own savepoint, so one that fails spoils none of the
    others: its raw row is stored again on its own, ``failed`` with the error, for a
    worker's retry. An item whose row cannot be stored at all gets its exception in the
    result (the caller may try it alone).

    On PostgreSQL the contacts of the whole batch are locked first, in one sorted
    statement, and the rows go in by idempotency key: two batches, or a batch and any
    other intake, take their locks in one order and never deadlock."""
    known: dict[int, Contacts | None] = {}  # id(item) → its contacts, parsed once
    if len(items) > 1 and session.get_bind().dialect.name == "postgresql":
        # (One item: the intake's own lock is the same. SQLite: one writer anyway.)
        known = {id(item): _contacts(item) for item in items}
        pairs = sorted({p for c in known.values() for p in (c or Contacts()).pairs()})
        if pairs:
            await lock_contacts(session, pairs)
    order = sorted(range(len(items)), key=lambda i: items[i].idempotency_key or "")
    ordered = [items[i] for i in order]
    done: list[Stored | Exception] | None = None
    if len(items) > 1:
        try:
            async with session.begin_nested():
                together, deferred = await _receive_together(session, ordered, timezone, known)
            done = list(together)
        except _OneByOne as exc:
            log.info("a batch of %d submissions goes one by one: %s", len(items), exc)
        except Exception:
            log.warning("a batch of %d submissions failed together", len(items), exc_info=True)
    if done is None:
        done, deferred = await _receive_one_by_one(session, ordered, timezone)
    results: list[Stored | Exception] = [AssertionError("not reached")] * len(items)
    for position, i in enumerate(order):
        results[i] = done[position]
    if deferred:
        await session.flush()
        await session.execute(_RECORD, deferred)
        # A repeat of a key first seen in this batch read the row before its outcome.
        fresh = {r.id: r for r in results if isinstance(r, Stored) and r.fresh}
        results = [
            dataclasses.replace(fresh[r.id], fresh=False)
            if isinstance(r, Stored) and not r.fresh and r.id in fresh
            else r
            for r in results
        ]
    return results


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
    """Process a stored (or failed) submission by id — the worker's retry; None if
    someone else already processed it."""
    if not await _claim(session, submission_id):
        return None
    sub = await session.get(FormSubmission, submission_id, populate_existing=True)
    form = await session.get(Form, sub.form_id)
    outcome = await _process(
        session,
        form,
        submission_id=sub.id,
        answers=sub.answers,
        meta=sub.meta,
        marketing_consent=sub.marketing_consent,
        timezone=timezone,
    )
    await _record(session, sub.id, outcome)
    await session.refresh(sub)
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
