"""Events (calls, meetings, letters, messages, form answers) and tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, JSONType, str_enum
from crm_core.models.enums import Direction, EventKind, EventState, Importance, TaskState


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_employee_starts", "employee_id", "starts_at"),
        Index("ix_events_customer_starts", "customer_id", "starts_at"),
        Index("ix_events_lead_starts", "lead_id", "starts_at"),
        Index("ix_events_remind", "remind_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    state: Mapped[EventState] = mapped_column(str_enum(EventState), default=EventState.PLANNED)
    importance: Mapped[Importance] = mapped_column(str_enum(Importance), default=Importance.NORMAL)
    direction: Mapped[Direction | None] = mapped_column(str_enum(Direction))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSONType)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    contact_person_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_state_due", "assignee_id", "state", "due_at"),
        Index("ix_tasks_remind", "remind_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState), default=TaskState.OPEN)
    importance: Mapped[Importance] = mapped_column(str_enum(Importance), default=Importance.NORMAL)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    due_at: Mapped[datetime | None]
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
