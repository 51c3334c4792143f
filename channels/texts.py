"""The channels' gettext catalog (``channels/locale/ru/LC_MESSAGES/channels.po``)."""

from __future__ import annotations

from pathlib import Path

from crm_core.i18n import Catalog

catalog = Catalog(Path(__file__).resolve().parent / "locale", "channels")


def N_(message: str) -> str:
    """Mark a module-level text for extraction; it is translated where it is used."""
    return message
