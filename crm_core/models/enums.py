"""The closed vocabularies of the domain (stored by value as VARCHAR)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"


class LeadSource(enum.StrEnum):
    WEB_FORM = "web_form"
    TELEGRAM = "telegram"
    STORE = "store"
    MANUAL = "manual"
    IMPORT = "import"
    API = "api"


class LeadResult(enum.StrEnum):
    OPEN = "open"
    CONVERTED = "converted"
    HIDDEN = "hidden"


class ContactKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    TELEGRAM = "telegram"


class CustomerKind(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    TELEGRAM = "telegram"


class EventKind(enum.StrEnum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    SMS = "sms"
    TELEGRAM = "telegram"
    WEB_FORM = "web_form"
    OTHER = "other"


class EventState(enum.StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Importance(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Direction(enum.StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class TaskState(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class ProductKind(enum.StrEnum):
    GOODS = "goods"
    SERVICE = "service"


class StateCategory(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class OrderIndicator(enum.StrEnum):
    ON_TIME = "on_time"
    OVERDUE = "overdue"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    BANK = "bank"
    CARD = "card"
    TELEGRAM = "telegram"
    ONLINE = "online"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    DEAD = "dead"
