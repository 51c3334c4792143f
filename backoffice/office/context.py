"""What the back office needs from the composition root, and what each request gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction, async_sessionmaker

from crm_core.context import Clock, SystemClock
from crm_core.i18n import Translate
from crm_core.models import Employee, OfficeSession, Role
from messaging.config import MessagingConfig

COOKIE = "firma_office"
LOGIN_CSRF_COOKIE = "firma_office_login"


@dataclass
class OfficeContext:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)
    timezone: str = "Europe/Moscow"
    language: str = "ru"
    public_url: str = "http://127.0.0.1:8000"
    # Telegram bot's username, for invite links (None: the bot is not configured).
    bot_username: str | None = None
    # Transports for a manager's single email/SMS/Telegram message (None: not configured).
    messaging: MessagingConfig | None = None

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


@dataclass
class Staff:
    """The signed-in employee of one request, with the request's unit of work."""

    ctx: OfficeContext
    session: AsyncSession
    employee: Employee
    office_session: OfficeSession
    lang: str
    _: Translate

    @property
    def is_admin(self) -> bool:
        return self.employee.role == Role.ADMIN

    @property
    def csrf_token(self) -> str:
        return self.office_session.csrf_token

    def attempt(self) -> AsyncSessionTransaction:
        """A savepoint around one use case whose refusal re-renders the form:

            try:
                async with staff.attempt():
                    await update_thing(staff.session, ...)
            except ValidationFailed as exc:
                return render(staff, "form.html", errors={exc.field: str(exc)}, ...)

        The failed part is undone; what was loaded before stays usable for the page."""
        return self.session.begin_nested()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.employee.timezone or self.ctx.timezone)
