"""The visitor-facing wording: gettext catalog ``webforms``
(``webforms/locale/ru/LC_MESSAGES/webforms.po``).

Message ids are the English source text; Russian (the firm's default) is the catalog.
Code calls ``_ = translator(lang)`` then ``_("Send")``; texts defined at module level
are marked ``N_`` and translated where they are shown; the templates use Jinja2's i18n
extension (see ``render.py``). The language of a request: ``?lang=``, else the
browser's ``Accept-Language``, else the firm's ``FIRMA_LANGUAGE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crm_core.i18n import LANGUAGES, N_, Catalog, Translate, normalize_language, pick_language

__all__ = ["CATALOG", "ERRORS", "LANGUAGES", "N_", "accept_language", "language", "translator"]

CATALOG = Catalog(Path(__file__).parent / "locale", "webforms")


# The answer problems that crm_core.forms.fields reports as codes, worded here.
ERRORS: dict[str, str] = {
    "required": N_("Please fill in this field."),
    "too_long": N_("The text is too long."),
    "invalid_type": N_("Invalid value."),
    "invalid_phone": N_("Enter a phone number, e.g. +7 916 123-45-67."),
    "invalid_email": N_("Enter an email address, e.g. name@example.com."),
    "invalid_choice": N_("Choose one of the options."),
    "invalid_date": N_("Enter a date as YYYY-MM-DD."),
    "date_past": N_("This date has passed."),
    "contact_required": N_("Tell us how to reach you."),
    "consent_required": N_("We cannot accept the request without consent to data processing."),
}

# What the embed script shows, by the key the script uses.
SCRIPT_TEXTS: dict[str, str] = {
    "submit": N_("Send"),
    "sending": N_("Sending…"),
    "consent": N_("I consent to the processing of my personal data"),
    "marketing": N_("I agree to receive advertising messages"),
    "consent_text": N_("Consent text"),
    "thanks": N_("Thank you! We have your request and will contact you soon."),
    "errors_above": N_("Please check the fields marked below."),
    "too_many": N_("Too many submissions. Please try again in a minute."),
    "failed": N_("Could not send. Check your connection and try again."),
    "choose": N_("— choose —"),
}


def translator(lang: str | None) -> Translate:
    """``_(message, **values)`` in ``lang`` (Russian when unknown)."""
    return CATALOG.translator(lang)


def error_messages(lang: str, errors: dict[str, str]) -> dict[str, str]:
    """Field → sentence in ``lang`` for the codes of ``check_answers``."""
    _ = translator(lang)
    return {name: _(ERRORS.get(code, ERRORS["invalid_type"])) for name, code in errors.items()}


def script_texts() -> dict[str, dict[str, str]]:
    """The embed script's texts in every language."""
    return {
        lang: {key: CATALOG.gettext(lang, text) for key, text in SCRIPT_TEXTS.items()}
        for lang in LANGUAGES
    }


def accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (``q`` weights), or None."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        code = normalize_language(tag)
        if code and q > 0:
            ranked.append((-q, position, code))
    return min(ranked)[2] if ranked else None


def language(value: Any, default: str = "ru", accept: str | None = None) -> str:
    """An explicit choice (``?lang=``), else ``Accept-Language``, else ``default``."""
    explicit = value if isinstance(value, str) else None
    return pick_language(explicit, accept_language(accept), default=pick_language(default))


def label(texts: dict[str, str] | None, lang: str) -> str:
    """A field label/help in the language asked for, else any language given."""
    if not texts:
        return ""
    return texts.get(lang) or texts.get("ru") or next(iter(texts.values()), "")
