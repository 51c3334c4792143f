"""The back office's wording: gettext catalog ``backoffice`` (Russian first, English)."""

from __future__ import annotations

from pathlib import Path

from crm_core.i18n import Catalog

catalog = Catalog(Path(__file__).resolve().parent.parent / "locale", "backoffice")


def N_(message: str) -> str:
    """Mark a module-level text for extraction; translate it where it is shown."""
    return message
