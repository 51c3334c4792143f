"""One-time codes that bind an employee's Telegram account (``firma employee invite``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class EmployeeInvite(Base):
    """Only the code's SHA-256 is kept: a leaked database does not leak live links."""

    __tablename__ = "employee_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # Set once, by a conditional UPDATE: the first redeemer wins, a second is refused.
    used_at: Mapped[datetime | None]
    used_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
