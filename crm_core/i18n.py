"""Gettext catalogs for the doors' user-facing text.

Each door keeps its catalogs as ``<package>/locale/<lang>/LC_MESSAGES/<domain>.po``; the
message ids are the English source text, so English needs no catalog and Russian (the
default language of the firm) is one ``ru`` catalog. The ``.po`` files are the source
of truth: they are compiled in memory with Babel when first used, so there is no
compiled ``.mo`` artefact to keep in step.

    catalog = Catalog(Path(__file__).parent / "locale", "webforms")
    _ = catalog.translator("ru")
    _("Send")                         # "Отправить"
    _("Registered for {date}", date=d)  # str.format after translation

``Catalog.translations(lang)`` gives a ``gettext.NullTranslations`` for Jinja2's i18n
extension (``env.install_gettext_translations``).
"""

from __future__ import annotations

import gettext
import io
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: tuple[str, ...] = ("ru", "en")
DEFAULT_LANGUAGE = "ru"

Translate = Callable[..., str]


def N_(message: str) -> str:
    """Marks a text for extraction (``make messages``) where it is defined — a module-level
    constant — to be translated later, where it is shown."""
    return message


def normalize_language(value: str | None) -> str | None:
    """``"ru-RU"``, ``"RU"``, ``"ru_RU"`` → ``"ru"``; unknown or empty → ``None``."""
    if not value:
        return None
    code = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return code if code in LANGUAGES else None


def pick_language(*candidates: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The first candidate that names a supported language, else ``default``."""
    for candidate in candidates:
        code = normalize_language(candidate)
        if code:
            return code
    return default


class Catalog:
    """The translations of one gettext domain, loaded lazily and cached per language."""

    def __init__(self, locale_dir: Path, domain: str) -> None:
        self.locale_dir = Path(locale_dir)
        self.domain = domain
        self._cache: dict[str, gettext.NullTranslations] = {}
        self._lock = threading.Lock()

    def po_path(self, language: str) -> Path:
        return self.locale_dir / language / "LC_MESSAGES" / f"{self.domain}.po"

    def translations(self, language: str | None) -> gettext.NullTranslations:
        code = normalize_language(language) or DEFAULT_LANGUAGE
        found = self._cache.get(code)
        if found is not None:
            return found
        with self._lock:
            found = self._cache.get(code)
            if found is None:
                found = self._load(code)
                self._cache[code] = found
        return found

    def _load(self, language: str) -> gettext.NullTranslations:
        path = self.po_path(language)
        if not path.exists():
            return gettext.NullTranslations()
        with path.open("rb") as fp:
            catalog = read_po(fp, locale=language, domain=self.domain)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return Translations(buffer, domain=self.domain)

    def gettext(self, language: str | None, message: str, /, **values: object) -> str:
        text = self.translations(language).gettext(message)
        return text.format(**values) if values else text

    def ngettext(
        self, language: str | None, singular: str, plural: str, n: int, /, **values: object
    ) -> str:
        text = self.translations(language).ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def translator(self, language: str | None) -> Translate:
        """A ``_(message, **values)`` bound to one language."""
        translations = self.translations(language)

        def _(message: str, /, **values: object) -> str:
            text = translations.gettext(message)
            return text.format(**values) if values else text

        return _


def missing_translations(catalog: Catalog, language: str, messages: Iterable[str]) -> list[str]:
    """The message ids among ``messages`` that ``language``'s catalog does not translate
    (absent, empty or fuzzy) — for the tests that keep every catalog complete."""
    path = catalog.po_path(language)
    if not path.exists():
        return sorted(set(messages))
    with path.open("rb") as fp:
        po = read_po(fp, locale=language, domain=catalog.domain)
    missing = []
    for message_id in sorted(set(messages)):
        entry = po.get(message_id)
        strings = entry.string if entry is not None else ""
        complete = all(strings) if isinstance(strings, tuple) else bool(strings)
        if entry is None or entry.fuzzy or not complete:
            missing.append(message_id)
    return missing
