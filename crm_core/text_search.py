"""Case-insensitive substring search that works for Cyrillic on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text`` escaped (use ``escape="\\\\"``)."""
    return f"%{escape_like(text)}%"


def contains(session: AsyncSession, column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text``, ignoring case, Cyrillic included."""
    if session.bind.dialect.name == "postgresql":
        return column.ilike(like_pattern(text), escape="\\")
    # SQLite folds only ASCII case in LIKE, so try the spellings people type a
    # Russian name in; the stored names are capitalised as written.
    variants = {text, text.lower(), text.upper(), text.capitalize(), text.title()}
    return or_(*(column.like(like_pattern(v), escape="\\") for v in sorted(variants)))
