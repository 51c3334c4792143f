"""Checks shared by events and tasks: aware times, links to other objects, enums."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import ValidationFailed
from crm_core.lookup import require_ref
from crm_core.models import ContactPerson, Customer, Employee, Lead, Order

E = TypeVar("E", bound=enum.Enum)


def aware(value: datetime | None, field: str) -> datetime | None:
    """Services take aware datetimes only; the door decides how to read naive input."""
    if value is not None and value.tzinfo is None:
        raise ValidationFailed("A time must carry its UTC offset", field=field)
    return value


def enum_value(cls: type[E], value: E | str, field: str) -> E:
    try:
        return cls(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in cls)
        raise ValidationFailed(
            f"Unknown {field} {value!r}; one of: {allowed}", field=field
        ) from exc


async def require_employee(session: AsyncSession, employee_id: int | None, field: str) -> None:
    """An employee named in the input exists and still works here."""
    employee = await require_ref(session, Employee, employee_id, field=field, what="Employee")
    if employee is not None and not employee.active:
        raise ValidationFailed(f"Employee {employee_id} is not active", field=field)


async def check_links(session: AsyncSession, links: dict[str, int | None]) -> dict[str, int | None]:
    """Validate the customer/lead/order/contact person ids given; fill the customer
    from the contact person when only the person is named."""
    await require_ref(
        session, Customer, links.get("customer_id"), field="customer_id", what="Customer"
    )
    await require_ref(session, Lead, links.get("lead_id"), field="lead_id", what="Lead")
    await require_ref(session, Order, links.get("order_id"), field="order_id", what="Order")
    person_id = links.get("contact_person_id")
    if person_id is not None:
        person = await require_ref(
            session, ContactPerson, person_id, field="contact_person_id", what="Contact person"
        )
        assert person is not None
        customer_id = links.get("customer_id")
        if customer_id is None:
            links["customer_id"] = person.customer_id
        elif customer_id != person.customer_id:
            raise ValidationFailed(
                f"Contact person {person_id} belongs to another customer",
                field="contact_person_id",
            )
    return links
