"""Segments: a saved filter over customers, turned into SQL for the recipient snapshot."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, exists, select

from crm_core.errors import ValidationFailed
from crm_core.models import (
    Channel,
    Consent,
    ContactKind,
    ContactPoint,
    Customer,
    CustomerTag,
    LeadSource,
)

KEYS = (
    "tags",
    "source",
    "has_orders",
    "last_order_before",
    "last_order_after",
    "min_total",
    "responsible_id",
)


def _when(value: Any, key: str) -> datetime:
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed(f"{key} must be an ISO 8601 time", field=f"segment.{key}") from exc
    if at.tzinfo is None:
        raise ValidationFailed(f"{key} needs a time zone offset", field=f"segment.{key}")
    return at


def clean_segment(segment: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a segment and make it JSON-storable (times and amounts as strings)."""
    segment = {k: v for k, v in (segment or {}).items() if v is not None}
    unknown = set(segment) - set(KEYS)
    if unknown:
        raise ValidationFailed(f"Unknown segment filter {sorted(unknown)[0]!r}", field="segment")
    clean: dict[str, Any] = {}
    if "tags" in segment:
        clean["tags"] = sorted({str(t).strip().lower() for t in segment["tags"] if str(t).strip()})
    if "source" in segment:
        try:
            clean["source"] = LeadSource(segment["source"]).value
        except ValueError as exc:
            raise ValidationFailed("Unknown source", field="segment.source") from exc
    if "has_orders" in segment:
        clean["has_orders"] = bool(segment["has_orders"])
    for key in ("last_order_before", "last_order_after"):
        if key in segment:
            clean[key] = _when(segment[key], key).isoformat()
    if "min_total" in segment:
        try:
            clean["min_total"] = str(Decimal(str(segment["min_total"])))
        except InvalidOperation as exc:
            raise ValidationFailed(
                "min_total must be an amount", field="segment.min_total"
            ) from exc
    if "responsible_id" in segment:
        clean["responsible_id"] = int(segment["responsible_id"])
    return clean


def segment_conditions(segment: dict[str, Any]) -> list[ColumnElement[bool]]:
    """WHERE conditions on ``customers`` for a cleaned segment (all must hold;
    ``tags`` matches a customer with any of the tags)."""
    conds: list[ColumnElement[bool]] = []
    if segment.get("tags"):
        conds.append(
            exists().where(
                CustomerTag.customer_id == Customer.id, CustomerTag.tag.in_(segment["tags"])
            )
        )
    if "source" in segment:
        conds.append(Customer.source == LeadSource(segment["source"]))
    if "has_orders" in segment:
        conds.append(
            Customer.orders_count > 0 if segment["has_orders"] else Customer.orders_count == 0
        )
    if "last_order_before" in segment:
        conds.append(
            Customer.last_order_at < _when(segment["last_order_before"], "last_order_before")
        )
    if "last_order_after" in segment:
        conds.append(
            Customer.last_order_at > _when(segment["last_order_after"], "last_order_after")
        )
    if "min_total" in segment:
        conds.append(Customer.total_spent >= Decimal(segment["min_total"]))
    if "responsible_id" in segment:
        conds.append(Customer.responsible_id == segment["responsible_id"])
    return conds


def consent_given(channel: Channel) -> ColumnElement[bool]:
    """The customer's marketing consent for the channel is on record and not withdrawn."""
    return exists().where(
        Consent.customer_id == Customer.id, Consent.channel == channel, Consent.granted.is_(True)
    )


def address_of(channel: Channel):
    """The customer's own first address for the channel (a scalar subquery)."""
    kind = {Channel.EMAIL: ContactKind.EMAIL, Channel.SMS: ContactKind.PHONE}.get(
        channel, ContactKind.TELEGRAM
    )
    return (
        select(ContactPoint.value)
        .where(
            ContactPoint.customer_id == Customer.id,
            ContactPoint.kind == kind,
            ContactPoint.contact_person_id.is_(None),
        )
        .order_by(ContactPoint.id)
        .limit(1)
        # Correlated to the outer customers row, also from inside a nested EXISTS.
        .correlate_except(ContactPoint)
        .scalar_subquery()
    )
