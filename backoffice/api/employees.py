"""``/employees``: staff accounts. Reading is open to every token; creating and
changing need an admin token: one not bound to an employee (made by
``firma apitoken create``) or bound to an employee with the admin role."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.api.deps import Page, Session, context
from backoffice.api.schemas.activity import IdPath
from backoffice.api.schemas.employees import (
    EmployeeCreate,
    EmployeeOut,
    EmployeeUpdate,
    employee_out,
)
from backoffice.api.schemas_common import ListOf
from crm_core.context import ActorKind, actor_of
from crm_core.employees import service
from crm_core.errors import Forbidden
from crm_core.models import ApiToken, Employee, Role

router = APIRouter(tags=["employees"])


async def _require_admin(session: AsyncSession) -> None:
    actor = actor_of(session)
    if actor.kind is ActorKind.SYSTEM:
        return
    employee_id = actor.employee_id
    if actor.kind is ActorKind.API_TOKEN:
        token = await session.get(ApiToken, actor.id) if actor.id else None
        if token is not None and token.employee_id is None:
            return  # the firm's own token (CLI-made), not a person's
        employee_id = token.employee_id if token else None
    owner = await session.get(Employee, employee_id) if employee_id else None
    if owner is None or not owner.active or owner.role != Role.ADMIN:
        raise Forbidden("Only an administrator may manage employees")


@router.get("/employees", response_model=ListOf[EmployeeOut])
async def list_employees(
    request: Request, session: Session, page: Page, active: bool | None = None
) -> ListOf[EmployeeOut]:
    items, total = await service.list_employees(
        session, limit=page.limit, offset=page.offset, active=active
    )
    url = context(request).public_url
    return ListOf[EmployeeOut](items=[employee_out(e, url) for e in items], total=total)


@router.post("/employees", response_model=EmployeeOut, status_code=201)
async def create_employee(body: EmployeeCreate, request: Request, session: Session) -> EmployeeOut:
    await _require_admin(session)
    fields = body.model_dump(exclude={"agenda_hour"})
    employee = await service.create_employee(session, **fields)
    if body.agenda_hour is not None:
        employee = await service.update_employee(session, employee.id, agenda_hour=body.agenda_hour)
    return employee_out(employee, context(request).public_url)


@router.get("/employees/{employee_id}", response_model=EmployeeOut)
async def get_employee(employee_id: IdPath, request: Request, session: Session) -> EmployeeOut:
    employee = await service.get_employee(session, employee_id)
    return employee_out(employee, context(request).public_url)


@router.patch("/employees/{employee_id}", response_model=EmployeeOut)
async def update_employee(
    employee_id: IdPath, body: EmployeeUpdate, request: Request, session: Session
) -> EmployeeOut:
    await _require_admin(session)
    changes = body.model_dump(exclude_unset=True)
    employee = await service.update_employee(session, employee_id, **changes)
    return employee_out(employee, context(request).public_url)
