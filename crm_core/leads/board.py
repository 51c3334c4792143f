"""The leads kanban: the first cards of every column, read with one indexed query each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.leads.states import list_lead_states
from crm_core.models import Lead, LeadResult, LeadState

MAX_PER_COLUMN = 200


@dataclass(frozen=True)
class BoardColumn:
    state: LeadState
    leads: list[Lead]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.leads))


async def lead_board(
    session: AsyncSession, *, responsible_id: int | None = None, per_column: int = 50
) -> list[BoardColumn]:
    """Open leads by active state in board order: the newest ``per_column`` of each
    column (contacts loaded) and the column's count; optionally one employee's only."""
    per_column = min(max(per_column, 1), MAX_PER_COLUMN)
    states = await list_lead_states(session)
    conditions = [Lead.result == LeadResult.OPEN]
    if responsible_id is not None:
        conditions.append(Lead.responsible_id == responsible_id)
    counts = dict(
        (
            await session.execute(
                select(Lead.state_id, func.count(Lead.id))
                .where(*conditions)
                .group_by(Lead.state_id)
            )
        ).all()
    )
    columns = []
    for state in states:
        if counts.get(state.id):
            # (result, state_id, created_at) is indexed: each column is a short range scan.
            rows = await session.scalars(
                select(Lead)
                .where(*conditions, Lead.state_id == state.id)
                .options(selectinload(Lead.contacts))
                .order_by(Lead.created_at.desc(), Lead.id.desc())
                .limit(per_column)
            )
            leads = list(rows)
        else:
            leads = []
        columns.append(BoardColumn(state, leads, counts.get(state.id, 0)))
    return columns
