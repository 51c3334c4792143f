"""The bot's texts: every extracted message has a Russian translation, English is the
source text, and the language follows /language, then Telegram's language_code."""

from __future__ import annotations

from pathlib import Path

import bot
from bot.i18n import CATALOG, COMMANDS, translator
from crm_core.i18n import missing_translations
from tests.i18n_util import extracted_messages

BOT_DIR = Path(bot.__file__).parent


def test_every_bot_message_has_a_russian_translation() -> None:
    messages = extracted_messages(BOT_DIR)
    assert len(messages) > 100  # the extractor found the customer and the staff texts
    assert missing_translations(CATALOG, "ru", messages) == []


def test_every_translation_keeps_the_placeholders() -> None:
    import re

    placeholder = re.compile(r"\{(\w+)\}")
    ru = translator("ru")
    for message in extracted_messages(BOT_DIR):
        assert set(placeholder.findall(ru(message))) == set(placeholder.findall(message)), message


def test_english_is_the_source_and_russian_the_default() -> None:
    assert translator("en")("Catalog: choose a section.") == "Catalog: choose a section."
    assert translator("ru")("Catalog: choose a section.") == "Каталог: выберите раздел."
    assert translator(None)("Cart") == "Корзина"
    assert translator("de")("Cart") == "Корзина"  # unsupported → the firm's default
    assert translator("ru")("Order {number}", number="ЗК-1") == "Заказ № ЗК-1"
    assert {translator("ru")(text) for text in COMMANDS.values()} >= {"Каталог", "Мои заказы"}
