"""The messaging catalog: what customers read (opt-out hints, the stop button,
the unsubscribe pages). Message ids are the English text; Russian is the catalog."""

from __future__ import annotations

from pathlib import Path

from crm_core.i18n import Catalog

catalog = Catalog(Path(__file__).parent / "locale", "messaging")
