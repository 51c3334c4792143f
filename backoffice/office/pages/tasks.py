"""Tasks ``/office/tasks``: "my tasks" (open first, overdue at the top), done/reopen,
and a quick new task. An administrator may look at anyone's tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pager import Pager, with_query
from backoffice.office.pages.typed_input import MAX_ID, local_datetime, optional_id, query_id
from backoffice.office.templating import render
from crm_core.context import now
from crm_core.employees.service import list_employees
from crm_core.errors import Conflict, ValidationFailed
from crm_core.tasks.service import complete_task, create_task, list_tasks, reopen_task

router = APIRouter()
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
SHOW = {"open": N_("Open"), "done": N_("Done"), "all": N_("All")}


async def _page(staff, query, *, errors=None, values=None, status_code=200, notice=""):
    show = query.get("show") if query.get("show") in SHOW else "open"
    whose = staff.employee.id
    if staff.is_admin:
        whose = query_id(query.get("assignee")) or (
            None if query.get("assignee") == "all" else whose
        )
    pager = Pager.of(query, 0)
    tasks, total = await list_tasks(
        staff.session,
        assignee_id=whose,
        state=None if show == "all" else show,
        limit=pager.per_page,
        offset=pager.offset,
    )
    employees, _total = await list_employees(staff.session, limit=500, active=True)
    at = now(staff.session)
    return render(
        staff,
        "pages/tasks.html",
        status_code=status_code,
        section="tasks",
        notice=notice,
        tasks=tasks,
        overdue={t.id for t in tasks if t.state.value == "open" and t.due_at and t.due_at < at},
        pager=Pager.of(query, total),
        show=show,
        shows=SHOW,
        whose=whose,
        employees=employees,
        names={e.id: e.name for e in employees},
        errors=errors or {},
        values=values or {},
        query_url=lambda **changes: with_query(query, **changes),
    )


@router.get("/tasks")
async def tasks(request: Request, staff: StaffDep, saved: str = "") -> Response:
    return await _page(staff, request.query_params, notice=staff._("Saved.") if saved else "")


@router.post("/tasks/new")
async def new_task(
    request: Request,
    staff: StaffDep,
    subject: str = Form("", max_length=2000),
    due_at: str = Form("", max_length=40),
    assignee_id: str = Form("", max_length=20),
) -> Response:
    values = {"subject": subject, "due_at": due_at, "assignee_id": assignee_id}
    try:
        async with staff.attempt():
            await create_task(
                staff.session,
                subject=subject,
                due_at=local_datetime(due_at, staff.tz, "due_at"),
                assignee_id=optional_id(assignee_id, "assignee_id"),
            )
    except ValidationFailed as exc:
        errors = {exc.field or "subject": staff._(exc.message)}
        return await _page(
            staff, request.query_params, errors=errors, values=values, status_code=422
        )
    return RedirectResponse("/office/tasks?saved=1", status_code=303)


async def _move(request: Request, staff, task_id: int, action) -> Response:
    try:
        async with staff.attempt():
            await action(staff.session, task_id)
    except Conflict as exc:
        return await _page(
            staff, request.query_params, errors={"task": staff._(exc.message)}, status_code=409
        )
    back = request.headers.get("referer", "")
    target = "/office/tasks?saved=1"
    if "/office/tasks" in back and "?" in back:
        target = "/office/tasks" + back.split("/office/tasks", 1)[1]
    return RedirectResponse(target, status_code=303)


@router.post("/tasks/{task_id}/done")
async def done(task_id: TaskId, request: Request, staff: StaffDep) -> Response:
    return await _move(request, staff, task_id, complete_task)


@router.post("/tasks/{task_id}/reopen")
async def reopen(task_id: TaskId, request: Request, staff: StaffDep) -> Response:
    return await _move(request, staff, task_id, reopen_task)
