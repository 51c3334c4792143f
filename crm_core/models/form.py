"""Web forms: definitions, the consent texts they show, and every submission."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, BigId, JSONType, str_enum


class FormPurpose(enum.StrEnum):
    LEAD = "lead"
    SURVEY = "survey"
    REGISTRATION = "registration"


class SubmissionStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, not processed yet (or a process died mid-way)
    PROCESSED = "processed"
    FAILED = "failed"  # processing raised; the worker retries it
    SPAM = "spam"  # kept for a person to look at, never turned into a lead


class ConsentText(Base):
    """One exact consent wording, stored once; its id is the version, plus a SHA-256."""

    __tablename__ = "consent_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Form(Base):
    __tablename__ = "forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[FormPurpose] = mapped_column(str_enum(FormPurpose), default=FormPurpose.LEAD)
    fields: Mapped[list[Any]] = mapped_column(JSONType)
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id"))
    marketing_consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id"))
    allowed_origins: Mapped[list[Any]] = mapped_column(JSONType)
    success_message: Mapped[str | None] = mapped_column(Text)
    redirect_url: Mapped[str | None] = mapped_column(String(500))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FormSubmission(Base):
    """What a visitor sent, stored before anything is done with it."""

    __tablename__ = "form_submissions"
    __table_args__ = (
        UniqueConstraint("form_id", "idempotency_key"),
        # A signed form token is good for one submission (replays are kept as spam).
        UniqueConstraint("form_id", "token_nonce"),
        Index("ix_form_submissions_form_created", "form_id", "created_at"),
        Index("ix_form_submissions_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    status: Mapped[SubmissionStatus] = mapped_column(str_enum(SubmissionStatus))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    token_nonce: Mapped[str | None] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType)  # utm_*, referrer, page_url
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    # Consent evidence: the exact texts shown (by version), ticked at created_at.
    consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id"))
    marketing_consent: Mapped[bool] = mapped_column(default=False)
    marketing_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id"))
    # Set once the marketing consent reached a customer's channel consents.
    marketing_applied_at: Mapped[datetime | None]
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    # When the registration confirmation went out (messaging/form_confirmations.py).
    confirmation_sent_at: Mapped[datetime | None]
