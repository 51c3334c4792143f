"""Message and document templates that managers write (Jinja2, rendered in a sandbox)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, str_enum


class TemplateKind(enum.StrEnum):
    OFFER = "offer"
    CONTRACT = "contract"
    LETTER = "letter"
    SMS = "sms"
    TELEGRAM = "telegram"

    @property
    def is_html(self) -> bool:
        """Offers, contracts and letters are HTML (autoescaped); SMS and Telegram are text."""
        return self in (TemplateKind.OFFER, TemplateKind.CONTRACT, TemplateKind.LETTER)


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TemplateKind] = mapped_column(str_enum(TemplateKind))
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # The plain-text part of an email; derived from the HTML when not written.
    text_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
