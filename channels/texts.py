"""The channels' gettext catalog (``channels/locale/ru/LC_MESSAGES/channels.po``)."""

from __future__ import annotations

from pathlib import Path

from crm_core.i18n import N_, Catalog

__all__ = ["N_", "catalog"]

catalog = Catalog(Path(__file__).resolve().parent / "locale", "channels")
