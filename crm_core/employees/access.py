"""Who may do the firm's administrative things (employees, requisites, exchanges)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import ActorKind, actor_of
from crm_core.errors import Forbidden
from crm_core.models import ApiToken, Employee, Role


async def require_admin(session: AsyncSession, *, action: str) -> None:
    """Refuse unless the actor is an administrator: the system, the firm's own API token
    (made by ``firma apitoken create``, bound to nobody) or an active admin employee.
    ``action`` completes the message: "Only an administrator may <action>"."""
    actor = actor_of(session)
    if actor.kind is ActorKind.SYSTEM:
        return
    employee_id = actor.employee_id
    if actor.kind is ActorKind.API_TOKEN:
        token = await session.get(ApiToken, actor.id) if actor.id else None
        if token is not None and token.employee_id is None:
            return  # the firm's own token, not a person's
        employee_id = token.employee_id if token else None
    owner = await session.get(Employee, employee_id) if employee_id else None
    if owner is None or not owner.active or owner.role != Role.ADMIN:
        raise Forbidden(f"Only an administrator may {action}")
