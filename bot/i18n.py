"""The bot's texts: gettext catalog ``bot`` (``bot/locale/ru/LC_MESSAGES/bot.po``).

Message ids are the English source text; Russian (the default) is the catalog. Handlers
receive ``_`` (a translator bound to the user's language) from the middleware and call
``_("Order {number}", number=n)``. Texts defined at module level are marked ``N_`` and
translated where they are shown.
"""

from __future__ import annotations

from pathlib import Path

from crm_core.i18n import LANGUAGES, N_, Catalog, Translate, pick_language

__all__ = ["CATALOG", "COMMANDS", "LANGUAGES", "N_", "Translate", "pick_language", "translator"]

CATALOG = Catalog(Path(__file__).parent / "locale", "bot")


# Descriptions of the commands registered with setMyCommands.
COMMANDS: dict[str, str] = {
    "start": N_("Start"),
    "catalog": N_("Catalog"),
    "cart": N_("Cart"),
    "orders": N_("My orders"),
    "help": N_("Help"),
    "language": N_("Language"),
    "today": N_("Today's plan"),
    "leads": N_("Unprocessed leads"),
    "tasks": N_("My tasks"),
    "find": N_("Find a customer or lead"),
}


def translator(language: str | None) -> Translate:
    """``_(message, **values)`` in ``language`` (Russian when unknown)."""
    return CATALOG.translator(language)
