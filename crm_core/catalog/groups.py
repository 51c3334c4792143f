"""Product groups (a tree via ``parent_id``) and price kinds (one is the default)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.common import clean
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.lookup import get_or_404, require_ref
from crm_core.models import PriceKind, ProductGroup


async def create_group(
    session: AsyncSession, *, name: str, parent_id: int | None = None, position: int = 0
) -> ProductGroup:
    """Add a product group, optionally under a parent group."""
    name = clean(name, field="name", max_length=200, required=True)
    await require_ref(session, ProductGroup, parent_id, field="parent_id", what="Product group")
    group = ProductGroup(name=name, parent_id=parent_id, position=position)
    session.add(group)
    await session.flush()
    return group


async def update_group(session: AsyncSession, group_id: int, **fields) -> ProductGroup:
    """Rename or move a group; a group cannot become its own descendant."""
    group = await get_or_404(session, ProductGroup, group_id, what="Product group")
    if fields.get("name") is not None:
        group.name = clean(fields["name"], field="name", max_length=200, required=True)
    if "parent_id" in fields:
        parent_id = fields["parent_id"]
        if parent_id is not None:
            await require_ref(session, ProductGroup, parent_id, field="parent_id", what="Group")
            if group_id in await descendant_ids(session, parent_id, include_self=True) or (
                parent_id in await descendant_ids(session, group_id, include_self=True)
            ):
                raise ValidationFailed("A group cannot be inside itself", field="parent_id")
        group.parent_id = parent_id
    if fields.get("position") is not None:
        group.position = fields["position"]
    await session.flush()
    return group


_GROUPS = select(ProductGroup).order_by(ProductGroup.position, ProductGroup.name, ProductGroup.id)


async def list_groups(session: AsyncSession) -> list[ProductGroup]:
    """Every group, parents' order first (position, name); the tree is small. (The
    statement is built once: the bot's catalog reads it for every /catalog.)"""
    return list(await session.scalars(_GROUPS))


async def descendant_ids(
    session: AsyncSession, group_id: int, *, include_self: bool = True
) -> set[int]:
    """Ids of a group's subtree (computed in Python: a catalog has few groups)."""
    children: dict[int | None, list[int]] = {}
    for gid, parent in await session.execute(select(ProductGroup.id, ProductGroup.parent_id)):
        children.setdefault(parent, []).append(gid)
    found, stack = set(), [group_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    if not include_self:
        found.discard(group_id)
    return found


async def resolve_group(
    session: AsyncSession, value: int | str | None, *, create: bool = False
) -> ProductGroup | None:
    """A group by id or by name; a new top-level group for an unknown name if ``create``."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        group = await session.get(ProductGroup, int(value))
        if group is None:
            raise ValidationFailed(f"Product group {value} does not exist", field="group")
        return group
    name = clean(value, field="group", max_length=200, required=True)
    # Compared in Python: SQLite's lower() folds ASCII only, and groups are few.
    wanted = name.casefold()
    group = next((g for g in await list_groups(session) if g.name.casefold() == wanted), None)
    if group is None:
        if not create:
            raise ValidationFailed(f"Product group {name!r} does not exist", field="group")
        group = await create_group(session, name=name)
    return group


# ---------------------------------------------------------------- price kinds


async def list_price_kinds(session: AsyncSession) -> list[PriceKind]:
    """Every price kind, the default first."""
    rows = await session.scalars(
        select(PriceKind).order_by(PriceKind.is_default.desc(), PriceKind.id)
    )
    return list(rows)


async def default_price_kind(session: AsyncSession) -> PriceKind | None:
    """The price kind orders use unless told otherwise."""
    return await session.scalar(
        select(PriceKind).order_by(PriceKind.is_default.desc(), PriceKind.id).limit(1)
    )


async def price_kind_by_code(session: AsyncSession, code: str, *, field: str) -> PriceKind:
    kind = await session.scalar(select(PriceKind).where(PriceKind.code == code))
    if kind is None:
        raise ValidationFailed(f"Unknown price kind {code!r}", field=field)
    return kind


async def _make_only_default(session: AsyncSession, kind: PriceKind) -> None:
    await session.execute(update(PriceKind).where(PriceKind.id != kind.id).values(is_default=False))
    kind.is_default = True


async def create_price_kind(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    currency: str = "RUB",
    is_default: bool = False,
    external_id: str | None = None,
) -> PriceKind:
    """Add a price kind; the code is unique; ``is_default`` takes the flag from the others."""
    code = clean(code, field="code", max_length=50, required=True)
    name = clean(name, field="name", max_length=100, required=True)
    if await session.scalar(select(PriceKind.id).where(PriceKind.code == code)):
        raise Conflict(f"A price kind with code {code!r} already exists", field="code")
    kind = PriceKind(
        code=code, name=name, currency=(currency or "RUB").upper()[:3], external_id=external_id
    )
    session.add(kind)
    await session.flush()
    if is_default or not await session.scalar(select(PriceKind.id).where(PriceKind.is_default)):
        await _make_only_default(session, kind)
        await session.flush()
    return kind


async def update_price_kind(session: AsyncSession, price_kind_id: int, **fields) -> PriceKind:
    """Rename a price kind or make it the default (the default cannot be unset directly)."""
    kind = await get_or_404(session, PriceKind, price_kind_id, what="Price kind")
    if fields.get("name") is not None:
        kind.name = clean(fields["name"], field="name", max_length=100, required=True)
    if fields.get("code") is not None and fields["code"] != kind.code:
        code = clean(fields["code"], field="code", max_length=50, required=True)
        if await session.scalar(select(PriceKind.id).where(PriceKind.code == code)):
            raise Conflict(f"A price kind with code {code!r} already exists", field="code")
        kind.code = code
    if fields.get("is_default") is True:
        await _make_only_default(session, kind)
    elif fields.get("is_default") is False and kind.is_default:
        raise ValidationFailed("Make another price kind the default instead", field="is_default")
    await session.flush()
    return kind


async def get_price_kind(session: AsyncSession, price_kind_id: int) -> PriceKind:
    kind = await session.get(PriceKind, price_kind_id)
    if kind is None:
        raise NotFound(f"Price kind {price_kind_id} not found")
    return kind
