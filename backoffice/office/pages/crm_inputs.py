"""Reading what the leads, customers, settings and campaigns pages receive: a form
post or a fetch() JSON body, ids from the path, numbers and lists typed by people."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

from crm_core.errors import NotFound, ValidationFailed

MAX_ID = 2**31 - 1
MAX_FIELD = 20_000
MAX_BODY = 256 * 1024


async def payload(request: Request) -> dict[str, Any]:
    """The request's fields: JSON object or form (urlencoded/multipart); strings are
    clipped to ``MAX_FIELD`` characters, repeated form keys become lists."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ValidationFailed("The request is too large")
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise ValidationFailed("The request is not valid JSON") from exc
        if not isinstance(data, dict):
            raise ValidationFailed("The request must be a JSON object")
        return data
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = [v if isinstance(v, str) else "" for v in form.getlist(key)]
        values = [v[:MAX_FIELD] for v in values]
        out[key] = values if len(values) > 1 else values[0]
    return out


def wants_json(request: Request) -> bool:
    """A fetch() call from office.js (or any client asking for JSON)."""
    return "application/json" in request.headers.get("accept", "") or (
        request.headers.get("x-requested-with", "").lower() == "fetch"
    )


def text(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, list):
        value = value[0] if value else default
    return str(value)[:MAX_FIELD].strip()


def object_id(value: int | str, what: str) -> int:
    """An id from the path; out of range is simply not found."""
    number = int(value) if str(value).isdigit() else 0
    if not 0 < number <= MAX_ID:
        raise NotFound(f"{what} {value} not found")
    return number


def optional_id(value: Any, field: str) -> int | None:
    """An id picked in a select; empty means none."""
    raw = str(value if value is not None else "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise ValidationFailed("Pick a value from the list", field=field)
    return int(raw)


def flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


_SPLIT = re.compile(r"[\n,;]+")


def items(value: Any) -> list[str]:
    """Values typed one per line or separated by commas."""
    parts = [str(v) for v in value] if isinstance(value, list) else _SPLIT.split(str(value or ""))
    return [p.strip() for p in parts if p.strip()]


def back_to(value: Any, default: str) -> str:
    """Where to return after a post: only a path inside the office."""
    target = str(value or "")
    if target.startswith("/office/") and "//" not in target and "\\" not in target:
        return target[:500]
    return default
