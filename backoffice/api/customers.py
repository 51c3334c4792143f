"""``/customers``: list, create, read, change; contacts, contact persons, timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.customers import (
    MAX_ID,
    ContactPersonCreate,
    ContactPersonOut,
    ContactPersonUpdate,
    ContactPointCreate,
    ContactPointOut,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    EventBrief,
    IdPath,
    OrderBrief,
    customer_out,
    order_brief,
    person_out,
)
from backoffice.api.schemas_common import HistoryOut, ListOf
from crm_core.customers import persons, service, timeline
from crm_core.models import CustomerKind

router = APIRouter(tags=["customers"])


@router.get("/customers", response_model=ListOf[CustomerOut])
async def list_customers(
    session: Session,
    page: Page,
    q: Annotated[str | None, Query(max_length=200, description="name, phone, email, INN")] = None,
    tag: Annotated[list[str], Query(max_length=30, description="has every tag given")] = [],  # noqa: B006
    responsible_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: CustomerKind | None = None,
) -> ListOf[CustomerOut]:
    items, total = await service.list_customers(
        session,
        q=q,
        tags=tag,
        responsible_id=responsible_id,
        kind=kind,
        limit=page.limit,
        offset=page.offset,
    )
    return ListOf[CustomerOut](items=[customer_out(c) for c in items], total=total)


@router.post("/customers", response_model=CustomerOut, status_code=201)
async def create_customer(body: CustomerCreate, session: Session) -> CustomerOut:
    fields = body.model_dump(exclude={"phone", "phones", "email", "emails"})
    customer = await service.create_customer(
        session,
        phones=[p for p in [body.phone, *body.phones] if p],
        emails=[e for e in [body.email, *body.emails] if e],
        **fields,
    )
    return customer_out(await service.get_customer(session, customer.id), with_persons=True)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: IdPath, session: Session) -> CustomerOut:
    return customer_out(await service.get_customer(session, customer_id), with_persons=True)


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
async def update_customer(customer_id: IdPath, body: CustomerUpdate, session: Session):
    await service.update_customer(session, customer_id, **body.model_dump(exclude_unset=True))
    return customer_out(await service.get_customer(session, customer_id), with_persons=True)


@router.get("/customers/{customer_id}/events", response_model=ListOf[EventBrief])
async def customer_events(customer_id: IdPath, session: Session, page: Page):
    items, total = await timeline.customer_events(
        session, customer_id, limit=page.limit, offset=page.offset
    )
    return ListOf[EventBrief](items=[EventBrief.model_validate(e) for e in items], total=total)


@router.get("/customers/{customer_id}/orders", response_model=ListOf[OrderBrief])
async def customer_orders(customer_id: IdPath, session: Session, page: Page):
    items, total = await timeline.customer_orders(
        session, customer_id, limit=page.limit, offset=page.offset
    )
    return ListOf[OrderBrief](items=[order_brief(o) for o in items], total=total)


@router.get("/customers/{customer_id}/history", response_model=ListOf[HistoryOut])
async def customer_history(customer_id: IdPath, session: Session, page: Page):
    items, total = await timeline.customer_history(
        session, customer_id, limit=page.limit, offset=page.offset
    )
    return ListOf[HistoryOut](items=[HistoryOut.model_validate(h) for h in items], total=total)


@router.post(
    "/customers/{customer_id}/contact-points", response_model=ContactPointOut, status_code=201
)
async def add_contact_point(customer_id: IdPath, body: ContactPointCreate, session: Session):
    row = await service.add_contact_point(session, customer_id, **body.model_dump())
    return ContactPointOut.model_validate(row)


@router.delete("/customers/{customer_id}/contact-points/{contact_id}", status_code=204)
async def remove_contact_point(customer_id: IdPath, contact_id: IdPath, session: Session):
    await service.remove_contact_point(session, customer_id, contact_id)
    return Response(status_code=204)


@router.get("/customers/{customer_id}/contact-persons", response_model=ListOf[ContactPersonOut])
async def list_contact_persons(customer_id: IdPath, session: Session):
    items = await persons.list_contact_persons(session, customer_id)
    return ListOf[ContactPersonOut](items=[person_out(p) for p in items], total=len(items))


@router.post(
    "/customers/{customer_id}/contact-persons", response_model=ContactPersonOut, status_code=201
)
async def create_contact_person(customer_id: IdPath, body: ContactPersonCreate, session: Session):
    person = await persons.create_contact_person(session, customer_id, **body.model_dump())
    return person_out(person)


@router.patch(
    "/customers/{customer_id}/contact-persons/{person_id}", response_model=ContactPersonOut
)
async def update_contact_person(
    customer_id: IdPath, person_id: IdPath, body: ContactPersonUpdate, session: Session
):
    person = await persons.update_contact_person(
        session, customer_id, person_id, **body.model_dump(exclude_unset=True)
    )
    return person_out(person)


@router.delete("/customers/{customer_id}/contact-persons/{person_id}", status_code=204)
async def delete_contact_person(customer_id: IdPath, person_id: IdPath, session: Session):
    await persons.delete_contact_person(session, customer_id, person_id)
    return Response(status_code=204)
