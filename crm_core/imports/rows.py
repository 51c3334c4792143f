"""Rows in, results out: what an import reports for every row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm_core.errors import DomainError

CREATED, UPDATED, UNCHANGED, ERROR = "created", "updated", "unchanged", "error"
# A cell may hold several phones or emails: "8 900 000-00-00, +7 901 ..." or ";"-separated.
_SEVERAL = re.compile(r"[,;\n]")


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One data row: its number in the file (the header is row 1) and values by field."""

    number: int
    values: Mapping[str, str]

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def many(self, key: str) -> list[str]:
        value = self.get(key)
        return [v.strip() for v in _SEVERAL.split(value) if v.strip()] if value else []


@dataclass(slots=True)
class RowResult:
    row: int
    status: str
    id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "status": self.status}
        if self.id is not None:
            out["id"] = self.id
        if self.errors:
            out["errors"] = self.errors
        if self.note:
            out["note"] = self.note
        return out


def error_result(row: ImportRow, exc: DomainError) -> RowResult:
    return RowResult(row.number, ERROR, errors={exc.field or "row": exc.message})
