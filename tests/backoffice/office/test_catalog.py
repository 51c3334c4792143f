"""Every text of the office is translated to Russian."""

from pathlib import Path

from backoffice.office.i18n import catalog
from crm_core.i18n import missing_translations
from tests.i18n_util import extracted_messages

BACKOFFICE = Path(__file__).resolve().parents[3] / "backoffice"


def test_russian_catalog_is_complete():
    messages = extracted_messages(BACKOFFICE)
    assert "Sign in" in messages and "Leads" in messages
    assert missing_translations(catalog, "ru", messages) == []


def test_english_is_the_source_text():
    assert catalog.gettext("en", "Sign in") == "Sign in"
    assert catalog.gettext("ru", "Sign in") == "Войти"
