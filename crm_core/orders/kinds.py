"""Order kinds and their ordered, editable states (each with a category)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import clean
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import Order, OrderKind, OrderState, StateCategory
from crm_core.orders.figures import record_state_cancelled
from crm_core.reference import DEFAULT_ORDER_STATES


def _category(value: StateCategory | str, field: str = "category") -> StateCategory:
    try:
        return StateCategory(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"Category must be one of {', '.join(c.value for c in StateCategory)}", field=field
        ) from exc


async def get_order_kind(session: AsyncSession, kind_id: int) -> OrderKind:
    """One order kind with its states in order."""
    kind = await session.scalar(
        select(OrderKind)
        .where(OrderKind.id == kind_id)
        .options(selectinload(OrderKind.states))
        .execution_options(populate_existing=True)
    )
    if kind is None:
        raise NotFound(f"Order kind {kind_id} not found")
    return kind


async def list_order_kinds(session: AsyncSession, *, active: bool | None = None) -> list[OrderKind]:
    """Order kinds (the default first) with their states."""
    query = select(OrderKind).options(selectinload(OrderKind.states))
    if active is not None:
        query = query.where(OrderKind.active.is_(active))
    rows = await session.scalars(query.order_by(OrderKind.is_default.desc(), OrderKind.id))
    return list(rows)


async def default_order_kind(session: AsyncSession) -> OrderKind:
    kind = await session.scalar(
        select(OrderKind)
        .where(OrderKind.active.is_(True))
        .order_by(OrderKind.is_default.desc(), OrderKind.id)
        .limit(1)
    )
    if kind is None:
        raise ValidationFailed("There is no active order kind", field="kind_id")
    return kind


async def initial_state(session: AsyncSession, kind_id: int) -> OrderState:
    """The state new orders of the kind start in (the initial one, else the first open)."""
    state = await session.scalar(
        select(OrderState)
        .where(
            OrderState.kind_id == kind_id,
            OrderState.active.is_(True),
            OrderState.category == StateCategory.OPEN,
        )
        .order_by(OrderState.is_initial.desc(), OrderState.position, OrderState.id)
        .limit(1)
    )
    if state is None:
        raise ValidationFailed(f"Order kind {kind_id} has no active open state", field="kind_id")
    return state


def _unique_code(kind: OrderKind, code: str | None, name: str) -> str:
    taken = {s.code for s in kind.states}
    code = clean(code, field="code", max_length=50)
    if code:
        if code in taken:
            raise Conflict(f"The kind already has a state with code {code!r}", field="code")
        return code
    n = len(taken) + 1
    while f"state{n}" in taken:
        n += 1
    return f"state{n}"


def _new_state(kind: OrderKind, spec: dict[str, Any], position: int) -> OrderState:
    name = clean(spec.get("name"), field="name", max_length=100, required=True)
    return OrderState(
        code=_unique_code(kind, spec.get("code"), name),
        name=name,
        category=_category(spec.get("category") or StateCategory.OPEN),
        position=position,
        is_initial=bool(spec.get("is_initial")),
        active=spec.get("active", True) is not False,
    )


def _check_states(kind: OrderKind) -> None:
    """A kind needs an active open state to start orders in; one initial state at most."""
    active_open = [s for s in kind.states if s.active and s.category == StateCategory.OPEN]
    if not active_open:
        raise ValidationFailed("An order kind needs at least one active open state", field="states")
    initial = [s for s in kind.states if s.is_initial]
    if len(initial) > 1:
        raise ValidationFailed("Only one state can be initial", field="states")
    if not initial or not initial[0].active or initial[0].category != StateCategory.OPEN:
        for s in kind.states:
            s.is_initial = False
        active_open[0].is_initial = True


async def _only_default(session: AsyncSession, kind: OrderKind) -> None:
    await session.execute(update(OrderKind).where(OrderKind.id != kind.id).values(is_default=False))
    kind.is_default = True


async def create_order_kind(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    is_default: bool = False,
    states: Sequence[dict[str, Any]] | None = None,
) -> OrderKind:
    """Add an order kind with its states (the standard set when none are given)."""
    code = clean(code, field="code", max_length=50, required=True)
    if await session.scalar(select(OrderKind.id).where(OrderKind.code == code)):
        raise Conflict(f"An order kind with code {code!r} already exists", field="code")
    kind = OrderKind(code=code, name=clean(name, field="name", max_length=100, required=True))
    kind.states = []
    specs = states or [
        {"code": c, "name": n, "category": cat, "is_initial": i == 0}
        for i, (c, n, cat) in enumerate(DEFAULT_ORDER_STATES)
    ]
    for position, spec in enumerate(specs):
        kind.states.append(_new_state(kind, spec, position))
    _check_states(kind)
    session.add(kind)
    await session.flush()
    if is_default:
        await _only_default(session, kind)
        await session.flush()
    return kind


async def update_order_kind(session: AsyncSession, kind_id: int, **fields: Any) -> OrderKind:
    """Rename, (de)activate or make default an order kind; ``states`` reorders by id list."""
    kind = await get_order_kind(session, kind_id)
    if fields.get("name") is not None:
        kind.name = clean(fields["name"], field="name", max_length=100, required=True)
    if fields.get("is_default") is True:
        await _only_default(session, kind)
    elif fields.get("is_default") is False and kind.is_default:
        raise ValidationFailed("Make another kind the default instead", field="is_default")
    if fields.get("active") is not None:
        if not fields["active"] and kind.is_default:
            raise ValidationFailed("The default order kind cannot be deactivated", field="active")
        kind.active = bool(fields["active"])
    if fields.get("state_order") is not None:
        await reorder_states(session, kind_id, fields["state_order"])
    await session.flush()
    return await get_order_kind(session, kind_id)


async def add_state(session: AsyncSession, kind_id: int, **spec: Any) -> OrderState:
    """Add a state to a kind, at ``position`` (index) or at the end."""
    kind = await get_order_kind(session, kind_id)
    position = spec.pop("position", None)
    ordered = list(kind.states)
    state = _new_state(kind, spec, 0)
    index = len(ordered) if position is None else max(0, min(int(position), len(ordered)))
    ordered.insert(index, state)
    if state.is_initial:
        for other in ordered:
            other.is_initial = other is state
    kind.states.append(state)
    for i, s in enumerate(ordered):
        s.position = i
    _check_states(kind)
    await session.flush()
    return state


async def _state_of_kind(session: AsyncSession, kind_id: int, state_id: int) -> OrderState:
    state = await session.get(OrderState, state_id)
    if state is None or state.kind_id != kind_id:
        raise NotFound(f"State {state_id} of order kind {kind_id} not found")
    return state


async def update_state(
    session: AsyncSession, kind_id: int, state_id: int, **fields: Any
) -> OrderState:
    """Rename a state, change its category (orders in it follow), (de)activate, make initial."""
    kind = await get_order_kind(session, kind_id)
    state = await _state_of_kind(session, kind_id, state_id)
    if fields.get("name") is not None:
        state.name = clean(fields["name"], field="name", max_length=100, required=True)
    if fields.get("category") is not None:
        category = _category(fields["category"])
        if category != state.category:
            if StateCategory.CANCELLED in (category, state.category):
                # Its orders stop or start being live: the customers' marks follow.
                await record_state_cancelled(
                    session, state.id, cancelled=category == StateCategory.CANCELLED
                )
            state.category = category
            # The journal filters on the copy in orders.category: keep it true.
            await session.execute(
                update(Order).where(Order.state_id == state.id).values(category=category)
            )
    if fields.get("active") is not None:
        state.active = bool(fields["active"])
    if fields.get("is_initial") is True:
        for other in kind.states:
            other.is_initial = other.id == state.id
    if fields.get("position") is not None:
        ordered = [s for s in kind.states if s.id != state.id]
        ordered.insert(max(0, min(int(fields["position"]), len(ordered))), state)
        for i, s in enumerate(ordered):
            s.position = i
    _check_states(kind)
    await session.flush()
    return state


async def reorder_states(
    session: AsyncSession, kind_id: int, state_ids: Sequence[int]
) -> list[OrderState]:
    """Put the kind's states in the given order (every state id exactly once)."""
    kind = await get_order_kind(session, kind_id)
    by_id = {s.id: s for s in kind.states}
    if sorted(state_ids) != sorted(by_id):
        raise ValidationFailed("Give every state of the kind exactly once", field="state_ids")
    for position, sid in enumerate(state_ids):
        by_id[sid].position = position
    await session.flush()
    return [by_id[sid] for sid in state_ids]


async def delete_state(session: AsyncSession, kind_id: int, state_id: int) -> None:
    """Remove a state no order is in (deactivate a used one instead)."""
    kind = await get_order_kind(session, kind_id)
    state = await _state_of_kind(session, kind_id, state_id)
    used = await session.scalar(select(func.count()).where(Order.state_id == state_id))
    if used:
        raise Conflict(f"State {state.name!r} is used by {used} order(s); deactivate it instead")
    kind.states.remove(state)
    for i, s in enumerate(kind.states):
        s.position = i
    _check_states(kind)
    await session.flush()
