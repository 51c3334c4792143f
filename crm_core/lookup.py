"""Loading one object by id, or saying clearly that it is not there."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import NotFound, ValidationFailed

T = TypeVar("T")


async def get_or_404(
    session: AsyncSession,
    model: type[T],
    ident: Any,
    *,
    what: str | None = None,
    options: list | None = None,
    for_update: bool = False,
) -> T:
    """The object, or NotFound("<What> 42 not found")."""
    obj = await session.get(model, ident, options=options or None, with_for_update=for_update)
    if obj is None:
        raise NotFound(f"{what or model.__name__} {ident} not found")
    return obj


async def require_ref(
    session: AsyncSession, model: type[T], ident: int | None, *, field: str, what: str
) -> T | None:
    """A reference given in the input must exist: unknown ids are bad input (422)."""
    if ident is None:
        return None
    obj = await session.get(model, ident)
    if obj is None:
        raise ValidationFailed(f"{what} {ident} does not exist", field=field)
    return obj
