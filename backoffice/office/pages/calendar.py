"""The calendar ``/office/calendar``: week and month views of events and tasks of one
employee (an administrator may show several). Events are dragged to another hour in the
week view (``static/calendar.js`` posts to ``/office/events/{id}/move``); the event form
is the keyboard way to do the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backoffice.office.deps import StaffDep
from backoffice.office.pages.events import KINDS
from backoffice.office.pages.typed_input import query_day, query_id
from backoffice.office.templating import render
from crm_core.context import now
from crm_core.employees.service import list_employees
from crm_core.events.calendar import calendar as calendar_view

router = APIRouter()
HOURS = range(7, 22)  # the week view's rows; earlier/later items go to the first/last


@dataclass(slots=True)
class Item:
    url: str
    title: str
    at: datetime
    css: str
    event_id: int | None = None
    owner: str = ""


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _items(view, staff, names: dict[int, str], several: bool) -> list[Item]:
    _ = staff._
    items = []
    for e in view.events:
        css = " ".join(c for c in (e.state.value, "high" if e.importance == "high" else "") if c)
        items.append(
            Item(
                url=f"/office/events/{e.id}",
                title=e.subject or _(KINDS.get(e.kind.value, "Other")),
                at=e.starts_at.astimezone(staff.tz),
                css=css,
                event_id=e.id,
                owner=names.get(e.employee_id, "") if several else "",
            )
        )
    for t in view.tasks:
        items.append(
            Item(
                url=f"/office/tasks#task-{t.id}",
                title=t.subject,
                at=t.due_at.astimezone(staff.tz),
                css=f"task {'completed' if t.state.value == 'done' else ''}".strip(),
                owner=names.get(t.assignee_id, "") if several else "",
            )
        )
    items.sort(key=lambda i: i.at)
    return items


@router.get("/calendar")
async def calendar(request: Request, staff: StaffDep) -> Response:
    query = request.query_params
    today = now(staff.session).astimezone(staff.tz).date()
    day = query_day(query.get("date")) or today
    view = "month" if query.get("view") == "month" else "week"
    employees, _total = await list_employees(staff.session, limit=500, active=True)
    names = {e.id: e.name for e in employees}
    chosen = [staff.employee.id]
    if staff.is_admin:
        picked = [query_id(v) for v in query.getlist("employee")[:50]]
        chosen = [i for i in dict.fromkeys(picked) if i in names] or chosen
    if view == "week":
        first = _monday(day)
        last = first + timedelta(days=7)
    else:
        first = _monday(day.replace(day=1))
        last = first + timedelta(weeks=6)
    start = datetime.combine(first, time(0), tzinfo=staff.tz)
    end = datetime.combine(last, time(0), tzinfo=staff.tz)
    found = await calendar_view(staff.session, employee_ids=chosen, start=start, end=end)
    items = _items(found, staff, names, several=len(chosen) > 1)
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    by_day: dict[date, list[Item]] = {d: [] for d in days}
    by_slot: dict[tuple[date, int], list[Item]] = {}
    for item in items:
        by_day.setdefault(item.at.date(), []).append(item)
        hour = min(max(item.at.hour, HOURS[0]), HOURS[-1])
        by_slot.setdefault((item.at.date(), hour), []).append(item)
    if view == "week":
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        month = day.replace(day=1)
        previous = (month - timedelta(days=1)).replace(day=1)
        following = (month + timedelta(days=32)).replace(day=1)
    picked = [("employee", str(i)) for i in chosen] if staff.is_admin else []

    def link(**changes: str) -> str:
        """This calendar's URL with ``view``/``date`` changed, the employees kept."""
        params = {"view": view, "date": day.isoformat(), **changes}
        return "?" + urlencode([*params.items(), *picked])

    return render(
        staff,
        "pages/calendar.html",
        section="calendar",
        view=view,
        day=day,
        today=today,
        month=day.month,
        days=days,
        hours=list(HOURS),
        by_day=by_day,
        by_slot=by_slot,
        employees=employees,
        chosen=chosen,
        previous=previous,
        following=following,
        link=link,
    )
