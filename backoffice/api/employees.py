"""``/employees``: staff accounts. Reading is open to every token; creating and
changing need an admin token: one not bound to an employee (made by
``firma apitoken create``) or bound to an employee with the admin role."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backoffice.api.deps import Page, Session, context
from backoffice.api.schemas.activity import IdPath
from backoffice.api.schemas.employees import (
    EmployeeCreate,
    EmployeeOut,
    EmployeeUpdate,
    employee_out,
)
from backoffice.api.schemas_common import ListOf
from crm_core.employees import service
from crm_core.employees.access import require_admin

router = APIRouter(tags=["employees"])


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
    await require_admin(session, action="manage employees")
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
    await require_admin(session, action="manage employees")
    changes = body.model_dump(exclude_unset=True)
    employee = await service.update_employee(session, employee_id, **changes)
    return employee_out(employee, context(request).public_url)
