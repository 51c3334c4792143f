"""Lead states (the kanban columns) and hide reasons: ordered, editable lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.customers.common import UNSET, clean_text, is_set
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.lookup import get_or_404
from crm_core.models import HideReason, Lead, LeadResult, LeadState

MAX_ID = 2**31 - 1
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def _code(code: str) -> str:
    text = (code or "").strip().lower()
    if not _CODE.match(text):
        raise ValidationFailed("Code must be 1-50 latin letters, digits, '_' or '-'", field="code")
    return text


async def list_lead_states(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[LeadState]:
    """The states in board order."""
    query = select(LeadState).order_by(LeadState.position, LeadState.id)
    if not include_inactive:
        query = query.where(LeadState.active.is_(True))
    return list(await session.scalars(query))


async def default_state(session: AsyncSession) -> LeadState:
    """Where new leads start: the default state, else the first active one."""
    state = await session.scalar(
        select(LeadState)
        .where(LeadState.active.is_(True))
        .order_by(LeadState.is_default.desc(), LeadState.position, LeadState.id)
        .limit(1)
    )
    if state is None:
        raise Conflict("There is no active lead state to put a lead in")
    return state


async def resolve_state(
    session: AsyncSession, ref: int | str, *, field: str = "state"
) -> LeadState:
    """An active state by id or code; anything else is bad input."""
    state = None
    if isinstance(ref, str):
        state = await session.scalar(select(LeadState).where(LeadState.code == ref.strip().lower()))
    if state is None and str(ref).strip().isdigit() and 0 < int(str(ref).strip()) <= MAX_ID:
        state = await session.get(LeadState, int(str(ref).strip()))
    if state is None or not state.active:
        raise ValidationFailed(f"Unknown lead state {ref!r}", field=field)
    return state


async def _clear_default(session: AsyncSession, keep_id: int | None) -> None:
    await session.execute(
        update(LeadState)
        .where(LeadState.is_default.is_(True), LeadState.id != (keep_id or 0))
        .values(is_default=False)
    )


async def create_lead_state(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    position: int | None = None,
    is_default: bool = False,
) -> LeadState:
    """Add a column to the board (at the end unless a position is given)."""
    code = _code(code)
    if await session.scalar(select(LeadState.id).where(LeadState.code == code)):
        raise Conflict(f"Lead state {code!r} already exists", field="code")
    if position is None:
        position = (await session.scalar(select(func.max(LeadState.position))) or 0) + 1
    state = LeadState(
        code=code,
        name=clean_text(name, field="name", max_length=100, required=True),
        position=position,
        is_default=is_default,
        active=True,
    )
    session.add(state)
    await session.flush()
    if is_default:
        await _clear_default(session, state.id)
    return state


async def _open_leads_in(session: AsyncSession, state_id: int) -> int:
    return (
        await session.scalar(
            select(func.count(Lead.id)).where(
                Lead.state_id == state_id, Lead.result == LeadResult.OPEN
            )
        )
        or 0
    )


async def update_lead_state(
    session: AsyncSession,
    state_id: int,
    *,
    name: Any = UNSET,
    position: Any = UNSET,
    is_default: Any = UNSET,
    active: Any = UNSET,
) -> LeadState:
    """Rename, move, make default or (de)activate a state."""
    state = await get_or_404(session, LeadState, state_id, what="Lead state")
    if is_set(name):
        state.name = clean_text(name, field="name", max_length=100, required=True)
    if is_set(position) and position is not None:
        state.position = int(position)
    if is_set(active) and active is False and state.active:
        if state.is_default:
            raise Conflict("Make another state the default before deactivating this one")
        open_count = await _open_leads_in(session, state_id)
        if open_count:
            raise Conflict(f"{open_count} open leads are in this state; move them first")
        state.active = False
    elif is_set(active) and active:
        state.active = True
    if is_set(is_default) and is_default and not state.is_default:
        if not state.active:
            raise Conflict("An inactive state cannot be the default")
        await _clear_default(session, state.id)
        state.is_default = True
    elif is_set(is_default) and is_default is False and state.is_default:
        raise Conflict("Make another state the default instead", field="is_default")
    await session.flush()
    return state


async def reorder_lead_states(session: AsyncSession, ids: Sequence[int]) -> list[LeadState]:
    """Put the active states in the given order (every active state exactly once)."""
    states = await list_lead_states(session)
    by_id = {s.id: s for s in states}
    if len(ids) != len(set(ids)) or set(ids) != set(by_id):
        raise ValidationFailed("Give every active lead state id exactly once", field="ids")
    for position, state_id in enumerate(ids):
        by_id[state_id].position = position
    await session.flush()
    return [by_id[i] for i in ids]


async def delete_lead_state(session: AsyncSession, state_id: int) -> None:
    """Delete a state no lead has ever been in; otherwise deactivate it instead."""
    state = await get_or_404(session, LeadState, state_id, what="Lead state")
    if state.is_default:
        raise Conflict("The default state cannot be deleted")
    if await session.scalar(select(Lead.id).where(Lead.state_id == state_id).limit(1)):
        raise Conflict("Leads refer to this state; deactivate it instead")
    await session.delete(state)
    await session.flush()


async def list_hide_reasons(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[HideReason]:
    """Why a lead may be hidden, in display order."""
    query = select(HideReason).order_by(HideReason.position, HideReason.id)
    if not include_inactive:
        query = query.where(HideReason.active.is_(True))
    return list(await session.scalars(query))


async def create_hide_reason(
    session: AsyncSession, *, code: str, name: str, position: int | None = None
) -> HideReason:
    """Add a hide reason."""
    code = _code(code)
    if await session.scalar(select(HideReason.id).where(HideReason.code == code)):
        raise Conflict(f"Hide reason {code!r} already exists", field="code")
    if position is None:
        position = (await session.scalar(select(func.max(HideReason.position))) or 0) + 1
    reason = HideReason(
        code=code,
        name=clean_text(name, field="name", max_length=100, required=True),
        position=position,
        active=True,
    )
    session.add(reason)
    await session.flush()
    return reason


async def resolve_hide_reason(session: AsyncSession, ref: int | str) -> HideReason:
    """An active hide reason by id, code or exact name."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        reason = await session.get(HideReason, ref) if 0 < ref <= MAX_ID else None
    else:
        text = str(ref or "").strip()
        reason = await session.scalar(
            select(HideReason)
            .where((HideReason.code == text.lower()) | (HideReason.name == text))
            .order_by(HideReason.id)
            .limit(1)
        )
    if reason is None or not reason.active:
        raise ValidationFailed(f"Unknown hide reason {ref!r}", field="reason")
    return reason


async def get_lead_state(session: AsyncSession, state_id: int) -> LeadState:
    state = await session.get(LeadState, state_id)
    if state is None:
        raise NotFound(f"Lead state {state_id} not found")
    return state
