from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contacts import normalize_email
from crm_core.context import now
from crm_core.errors import Conflict, ValidationFailed
from crm_core.lookup import get_or_404
from crm_core.models import Employee, OfficeSession, Role
from crm_core.passwords import hash_secret, needs_rehash, verify_secret

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"Password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return hash_secret(password)


def _check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"Unknown time zone {tz!r}", field="timezone") from exc
    return tz


async def create_employee(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    role: Role | str = Role.MANAGER,
    password: str | None = None,
    timezone: str = "Europe/Moscow",
    language: str = "ru",
) -> Employee:
    """Add a staff account; the email must be unique."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Name is required", field="name")
    email = normalize_email(email)
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown role {role!r}", field="role") from exc
    if await session.scalar(select(Employee.id).where(Employee.email == email)):
        raise Conflict(f"An employee with email {email} already exists", field="email")
    employee = Employee(
        name=name,
        email=email,
        role=role,
        password_hash=hash_password(password) if password else None,
        timezone=_check_timezone(timezone),
        language=language if language in ("ru", "en") else "ru",
        calendar_token=secrets.token_urlsafe(24),
        created_at=now(session),
    )
    session.add(employee)
    await session.flush()
    return employee


async def update_employee(session: AsyncSession, employee_id: int, **fields) -> Employee:
    """Change an employee's name, role, time zone, language, agenda hour or activity."""
    employee = await get_or_404(session, Employee, employee_id, what="Employee")
    if "email" in fields and fields["email"] is not None:
        email = normalize_email(fields.pop("email"))
        clash = await session.scalar(
            select(Employee.id).where(Employee.email == email, Employee.id != employee_id)
        )
        if clash:
            raise Conflict(f"An employee with email {email} already exists", field="email")
        employee.email = email
    ends_sessions = False
    if fields.get("password"):
        employee.password_hash = hash_password(fields.pop("password"))
        ends_sessions = True
    fields.pop("password", None)
    if fields.get("active") is False:
        ends_sessions = True
    if fields.get("timezone"):
        _check_timezone(fields["timezone"])
    hour = fields.get("agenda_hour")
    if hour is not None and not 0 <= int(hour) <= 23:
        raise ValidationFailed("Agenda hour must be 0..23", field="agenda_hour")
    if "role" in fields and fields["role"] is not None:
        fields["role"] = Role(fields["role"])
    for key in ("name", "role", "timezone", "language", "agenda_hour", "active"):
        if key in fields and fields[key] is not None:
            setattr(employee, key, fields[key])
    if ends_sessions:
        # A new password or a deactivated account signs every browser out at once.
        await session.execute(
            update(OfficeSession)
            .where(OfficeSession.employee_id == employee_id, OfficeSession.ended_at.is_(None))
            .values(ended_at=now(session))
        )
    await session.flush()
    return employee


async def authenticate(session: AsyncSession, *, email: str, password: str) -> Employee | None:
    """The active employee with this email and password, or None."""
    try:
        email = normalize_email(email)
    except ValidationFailed:
        return None
    employee = await session.scalar(select(Employee).where(Employee.email == email))
    usable = employee is not None and employee.active and employee.password_hash
    # The same work whether or not the user exists: no hash means a dummy hash's work.
    if not await verify_secret(employee.password_hash if usable else None, password):
        return None
    if needs_rehash(employee.password_hash):
        employee.password_hash = hash_secret(password)
    return employee


async def get_employee(session: AsyncSession, employee_id: int) -> Employee:
    """One employee, or NotFound."""
    return await get_or_404(session, Employee, employee_id, what="Employee")


async def list_employees(
    session: AsyncSession, *, limit: int = 50, offset: int = 0, active: bool | None = None
) -> tuple[list[Employee], int]:
    query = select(Employee)
    if active is not None:
        query = query.where(Employee.active == active)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(Employee.id).limit(limit).offset(offset))
    return list(rows), total or 0


async def managers_round_robin(session: AsyncSession) -> list[Employee]:
    """Active employees who can take leads, in a stable order."""
    rows = await session.scalars(
        select(Employee).where(Employee.active.is_(True)).order_by(Employee.id)
    )
    return list(rows)
