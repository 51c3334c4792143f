"""Signing in to the back office: password check with lock-out, server-side sessions.

Lock-out: after ``MAX_FAILURES`` failed attempts for one email (or ``MAX_IP_FAILURES``
from one address, whatever the email) within ``WINDOW``, further attempts are refused
without checking the password until the window has passed. Every attempt is a row, so
the rule holds across processes and restarts, and the admin can read them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contacts import normalize_email
from crm_core.context import now
from crm_core.employees.service import authenticate, hash_password
from crm_core.errors import ValidationFailed
from crm_core.models import Employee, LoginAttempt, OfficeSession

MAX_FAILURES = 5
MAX_IP_FAILURES = 30
WINDOW = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=14)
# last_seen_at is written at most this often, so reading pages does not write.
TOUCH_EVERY = timedelta(minutes=5)


class LockedOut(Exception):
    """Too many failed attempts; ``until`` says when the next attempt is allowed."""

    def __init__(self, until: datetime) -> None:
        super().__init__("Too many failed sign-in attempts")
        self.until = until


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    csrf_token: str
    employee: Employee
    expires_at: datetime


async def _lock_until(session: AsyncSession, *, email: str, ip: str) -> datetime | None:
    at = now(session)
    since = at - WINDOW
    failures = select(func.count(), func.min(LoginAttempt.at)).where(
        LoginAttempt.at > since, LoginAttempt.success.is_(False)
    )
    count, _first = (await session.execute(failures.where(LoginAttempt.email == email))).one()
    if count >= MAX_FAILURES:
        # Refused until the oldest failure of the window has aged out of it.
        last = await session.scalar(
            select(func.max(LoginAttempt.at)).where(
                LoginAttempt.email == email, LoginAttempt.success.is_(False)
            )
        )
        return (last or at) + WINDOW
    if ip:
        count, first = (await session.execute(failures.where(LoginAttempt.ip == ip))).one()
        if count >= MAX_IP_FAILURES:
            return (first or at) + WINDOW
    return None


async def sign_in(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    ip: str = "",
    user_agent: str = "",
) -> SignedIn | None:
    """A new session for the employee with this email and password; ``None`` for a
    wrong email or password (the caller says so without telling which); ``LockedOut``
    when too many attempts failed recently. The attempt is recorded either way — the
    caller must commit also when the result is ``None``."""
    raw_email = (email or "").strip()[:254]
    try:
        key = normalize_email(raw_email)
    except ValidationFailed:
        key = raw_email.lower()
    ip = (ip or "")[:64]
    until = await _lock_until(session, email=key, ip=ip)
    if until is not None:
        raise LockedOut(until)
    employee = (
        await authenticate(session, email=raw_email, password=password or "")
        if len(password or "") <= 1024
        else None
    )
    at = now(session)
    session.add(LoginAttempt(email=key, ip=ip, at=at, success=employee is not None))
    if employee is None:
        await session.flush()
        return None
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    row = OfficeSession(
        token_hash=_digest(token),
        csrf_token=csrf,
        employee_id=employee.id,
        created_at=at,
        last_seen_at=at,
        expires_at=at + SESSION_IDLE,
        ip=ip or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    await session.flush()
    return SignedIn(token=token, csrf_token=csrf, employee=employee, expires_at=row.expires_at)


async def resolve_session(
    session: AsyncSession, token: str, *, touch: bool = True
) -> tuple[OfficeSession, Employee] | None:
    """The live session and its active employee for a cookie value, or ``None``.
    With ``touch``, slides the idle expiry forward (a write at most every
    ``TOUCH_EVERY``); a read-only caller passes ``touch=False``."""
    if not token or len(token) > 200:
        return None
    found = (
        await session.execute(
            select(OfficeSession, Employee)
            .join(Employee, Employee.id == OfficeSession.employee_id)
            .where(OfficeSession.token_hash == _digest(token))
        )
    ).one_or_none()
    if found is None:
        return None
    row, employee = found
    at = now(session)
    if row.ended_at is not None or row.expires_at <= at or not employee.active:
        return None
    if touch and at - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = at
        row.expires_at = min(at + SESSION_IDLE, row.created_at + SESSION_MAX)
    return row, employee


def session_needs_write(row: OfficeSession, at: datetime) -> bool:
    """Whether resolving this session now would write (for read-only page requests)."""
    return at - row.last_seen_at >= TOUCH_EVERY


async def sign_out(session: AsyncSession, token: str) -> None:
    """End the session of this cookie value (nothing happens for an unknown one)."""
    if not token or len(token) > 200:
        return
    await session.execute(
        update(OfficeSession)
        .where(OfficeSession.token_hash == _digest(token), OfficeSession.ended_at.is_(None))
        .values(ended_at=now(session))
    )


async def end_sessions_of(session: AsyncSession, employee_id: int) -> int:
    """End every open session of an employee (password changed, deactivated)."""
    result = await session.execute(
        update(OfficeSession)
        .where(OfficeSession.employee_id == employee_id, OfficeSession.ended_at.is_(None))
        .values(ended_at=now(session))
    )
    return result.rowcount or 0


async def purge_old(session: AsyncSession, *, keep: timedelta = timedelta(days=90)) -> None:
    """Drop ended/expired sessions and attempts older than ``keep`` (a worker chore)."""
    before = now(session) - keep
    await session.execute(delete(OfficeSession).where(OfficeSession.expires_at < before))
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < before))


async def change_own_password(
    session: AsyncSession, *, employee_id: int, current: str, new: str, keep_token: str
) -> None:
    """An employee changes their own password: the current one must be right, the new
    one at least 10 characters; every other session of theirs ends."""
    employee = await session.get(Employee, employee_id)
    if (
        employee is None
        or await authenticate(session, email=employee.email, password=current or "") is None
    ):
        raise ValidationFailed("The current password is wrong", field="current_password")
    if len(new or "") < 10:
        raise ValidationFailed("The new password must be at least 10 characters", field="password")
    if len(new) > 1024:
        raise ValidationFailed("The new password is too long", field="password")
    employee.password_hash = hash_password(new)
    await session.execute(
        update(OfficeSession)
        .where(
            OfficeSession.employee_id == employee_id,
            OfficeSession.ended_at.is_(None),
            OfficeSession.token_hash != _digest(keep_token),
        )
        .values(ended_at=now(session))
    )
