"""Order kinds and their states (administrators): the ordered list of states of each
kind, the category of each state; add, rename, reorder, (de)activate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import RedirectResponse, Response

from backoffice.office.deps import AdminDep
from backoffice.office.i18n import N_
from backoffice.office.pages.typed_input import MAX_ID
from backoffice.office.templating import render
from crm_core.errors import Conflict, ValidationFailed
from crm_core.orders.kinds import (
    add_state,
    create_order_kind,
    get_order_kind,
    list_order_kinds,
    update_order_kind,
    update_state,
)

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
CATEGORIES = {"open": N_("In progress"), "completed": N_("Completed"), "cancelled": N_("Cancelled")}
BACK = "/office/order-kinds?saved=1"


async def _page(staff, *, errors=None, status_code=200, notice="") -> Response:
    return render(
        staff,
        "pages/order_kinds.html",
        status_code=status_code,
        section="orders",
        notice=notice,
        kinds=await list_order_kinds(staff.session),
        categories=CATEGORIES,
        errors=errors or {},
    )


async def _refused(staff, exc, key: str) -> Response:
    return await _page(staff, errors={key: staff._(exc.message)}, status_code=422)


@router.get("/order-kinds")
async def kinds(staff: AdminDep, saved: str = "") -> Response:
    return await _page(staff, notice=staff._("Saved.") if saved else "")


@router.post("/order-kinds")
async def new_kind(
    staff: AdminDep,
    code: str = Form("", max_length=200),
    name: str = Form("", max_length=200),
) -> Response:
    try:
        async with staff.attempt():
            await create_order_kind(staff.session, code=code, name=name)
    except (ValidationFailed, Conflict) as exc:
        return await _refused(staff, exc, "new_kind")
    return RedirectResponse(BACK, status_code=303)


@router.post("/order-kinds/{kind_id}")
async def save_kind(
    kind_id: Id,
    staff: AdminDep,
    name: str = Form("", max_length=200),
    active: str = Form("", max_length=5),
    is_default: str = Form("", max_length=5),
) -> Response:
    await get_order_kind(staff.session, kind_id)
    try:
        async with staff.attempt():
            await update_order_kind(
                staff.session,
                kind_id,
                name=name,
                active=bool(active),
                is_default=True if is_default else None,
            )
    except (ValidationFailed, Conflict) as exc:
        return await _refused(staff, exc, f"kind_{kind_id}")
    return RedirectResponse(BACK, status_code=303)


@router.post("/order-kinds/{kind_id}/states")
async def new_state(
    kind_id: Id,
    staff: AdminDep,
    name: str = Form("", max_length=200),
    category: str = Form("open", max_length=20),
) -> Response:
    await get_order_kind(staff.session, kind_id)
    try:
        async with staff.attempt():
            await add_state(staff.session, kind_id, name=name, category=category)
    except (ValidationFailed, Conflict) as exc:
        return await _refused(staff, exc, f"kind_{kind_id}")
    return RedirectResponse(BACK, status_code=303)


@router.post("/order-kinds/{kind_id}/states/{state_id}")
async def save_state(
    kind_id: Id,
    state_id: Id,
    staff: AdminDep,
    name: str = Form("", max_length=200),
    category: str = Form("", max_length=20),
    active: str = Form("", max_length=5),
    move: str = Form("", max_length=5),
) -> Response:
    kind = await get_order_kind(staff.session, kind_id)
    position = next((i for i, s in enumerate(kind.states) if s.id == state_id), None)
    changes: dict = {}
    if move in ("up", "down") and position is not None:
        changes["position"] = max(0, position + (-1 if move == "up" else 1))
    else:
        changes.update(name=name, category=category or None, active=bool(active))
    try:
        async with staff.attempt():
            await update_state(staff.session, kind_id, state_id, **changes)
    except (ValidationFailed, Conflict) as exc:
        return await _refused(staff, exc, f"kind_{kind_id}")
    return RedirectResponse(BACK, status_code=303)
