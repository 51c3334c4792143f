"""The database's rows with every id replaced by a position, to compare two runs.

Two runs of the same inputs (one request at a time, then as one batch) leave the same
state but not the same ids: PostgreSQL's sequences go on across the emptied tables,
and a rolled-back row burns an id there. So each referenced table's ids become their
rank (by id, or by content where two ways of writing may insert in another order),
and every reference — foreign keys, ids inside JSON payloads and history changes — is
replaced by the referenced row's rank. The rest is compared as it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Base

# Tables ranked by id (both ways insert them in one order), then by content (events: a
# batch writes the registrations' meetings after every request's incoming event).
BY_ID = (
    "employees",
    "lead_states",
    "hide_reasons",
    "consent_texts",
    "forms",
    "customers",
    "leads",
    "form_submissions",
)
BY_CONTENT = ("events",)
PLAIN = ("contact_points", "outbox_events", "history", "consents")
# Ids by name inside JSON (payloads, event data, history changes).
KEY_TABLE = {
    "lead_id": "leads",
    "customer_id": "customers",
    "responsible_id": "employees",
    "author_id": "employees",
    "employee_id": "employees",
    "state_id": "lead_states",
    "hide_reason_id": "hide_reasons",
    "form_id": "forms",
    "consent_text_id": "consent_texts",
    "marketing_text_id": "consent_texts",
    "submission_id": "form_submissions",
    "event_id": "events",
}
ENTITY_TABLE = {"lead": "leads", "customer": "customers", "event": "events"}
# A consent's source names the form and the submission it came from.
_SOURCE = re.compile(r"web form (\d+), submission (\d+)")
SKIP = {"id", "calendar_token"}  # (random)


def _map_json(value: Any, ranks: dict[str, dict[int, Any]], masked: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _map_key(k, v, ranks, masked) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_json(v, ranks, masked) for v in value]
    return value


def _map_key(key: str, value: Any, ranks, masked: set[str]) -> Any:
    if key in masked:
        return "masked"
    table = KEY_TABLE.get(key)
    if table is None:
        return _map_json(value, ranks, masked)
    if isinstance(value, list):  # a history change: [old, new]
        return [ranks[table].get(v, ("?", v)) if isinstance(v, int) else v for v in value]
    return ranks[table].get(value, ("?", value)) if isinstance(value, int) else value


async def snapshot(session: AsyncSession, *, masked: frozenset[str] = frozenset()) -> dict:
    """Every row of the intake's tables, ids as ranks; ``masked`` keys are blanked
    (after the caller checked them another way)."""
    tables = Base.metadata.tables
    raw = {
        name: [dict(r._mapping) for r in await session.execute(select(tables[name]))]
        for name in BY_ID + BY_CONTENT + PLAIN
    }
    ranks: dict[str, dict[int, Any]] = {}
    out: dict[str, list] = {}

    def normal(name: str, row: dict) -> dict:
        table = tables[name]
        result = {}
        for column, value in row.items():
            if column in SKIP:
                continue
            if column in masked:
                result[column] = "masked"
                continue
            fks = table.c[column].foreign_keys
            if fks and value is not None:
                target = next(iter(fks)).column.table.name
                value = ranks.get(target, {}).get(value, ("?", value))
            elif column == "entity_id" and row["entity_type"] in ENTITY_TABLE:
                value = ranks[ENTITY_TABLE[row["entity_type"]]].get(value, ("?", value))
            elif isinstance(value, dict | list):
                value = _map_json(value, ranks, masked)
            elif name == "consents" and column == "source" and value:
                value = _SOURCE.sub(
                    lambda m: (
                        f"web form {ranks['forms'].get(int(m[1]))}, submission "
                        f"{ranks['form_submissions'].get(int(m[2]))}"
                    ),
                    value,
                )
            result[column] = value
        return result

    def key(row: dict) -> str:
        return json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)

    for name in BY_ID:
        rows = sorted(raw[name], key=lambda r: r["id"])
        ranks[name] = {r["id"]: (name, n) for n, r in enumerate(rows)}
    for name in BY_CONTENT:  # (by content: what they refer to is ranked already)
        rows = sorted(raw[name], key=lambda r: (key(normal(name, r)), r["id"]))
        ranks[name] = {r["id"]: (name, n) for n, r in enumerate(rows)}
    for name in BY_ID:
        out[name] = [normal(name, r) for r in sorted(raw[name], key=lambda r: r["id"])]
    for name in BY_CONTENT:
        out[name] = sorted((normal(name, r) for r in raw[name]), key=key)
    for name in PLAIN:
        out[name] = sorted((normal(name, r) for r in raw[name]), key=key)
    return out
