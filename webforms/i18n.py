"""The visitor-facing wording, Russian first and English. A dict of both languages
for now (small and reviewed in one place); it can move to a gettext catalog later."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("ru", "en")

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "submit": "Отправить",
        "sending": "Отправляем…",
        "required_mark": "обязательное поле",
        "consent": "Я даю согласие на обработку персональных данных",
        "marketing": "Я согласен(на) получать рекламные сообщения",
        "consent_text": "Текст согласия",
        "thanks": "Спасибо! Мы получили вашу заявку и скоро свяжемся с вами.",
        "registered": "Вы записаны на {date}. Подтверждение придёт на указанные контакты.",
        "errors_above": "Проверьте поля, отмеченные ниже.",
        "too_many": "Слишком много заявок. Попробуйте ещё раз через минуту.",
        "failed": "Не удалось отправить. Проверьте соединение и попробуйте ещё раз.",
        "choose": "— выберите —",
        "not_found": "Форма не найдена.",
        "disabled": "Эта форма больше не принимает заявки.",
        "foreign_origin": "Этот сайт не может отправлять заявки в эту форму.",
        "too_large": "Слишком большой запрос.",
        "content_type": "Отправьте данные формы или JSON.",
        "malformed": "Запрос не удалось прочитать.",
        "required": "Заполните это поле.",
        "too_long": "Слишком длинный текст.",
        "invalid_type": "Неверное значение.",
        "invalid_phone": "Укажите номер телефона, например +7 916 123-45-67.",
        "invalid_email": "Укажите адрес почты, например name@example.ru.",
        "invalid_choice": "Выберите один из вариантов.",
        "invalid_date": "Укажите дату в формате ГГГГ-ММ-ДД.",
        "date_past": "Эта дата уже прошла.",
        "contact_required": "Укажите, как с вами связаться.",
        "consent_required": "Без согласия на обработку данных мы не можем принять заявку.",
    },
    "en": {
        "submit": "Send",
        "sending": "Sending…",
        "required_mark": "required",
        "consent": "I consent to the processing of my personal data",
        "marketing": "I agree to receive advertising messages",
        "consent_text": "Consent text",
        "thanks": "Thank you! We have your request and will contact you soon.",
        "registered": "You are registered for {date}. A confirmation will follow.",
        "errors_above": "Please check the fields marked below.",
        "too_many": "Too many submissions. Please try again in a minute.",
        "failed": "Could not send. Check your connection and try again.",
        "choose": "— choose —",
        "not_found": "Form not found.",
        "disabled": "This form no longer accepts submissions.",
        "foreign_origin": "This site may not submit to this form.",
        "too_large": "The request is too large.",
        "content_type": "Send form data or JSON.",
        "malformed": "The request could not be read.",
        "required": "Please fill in this field.",
        "too_long": "The text is too long.",
        "invalid_type": "Invalid value.",
        "invalid_phone": "Enter a phone number, e.g. +7 916 123-45-67.",
        "invalid_email": "Enter an email address, e.g. name@example.com.",
        "invalid_choice": "Choose one of the options.",
        "invalid_date": "Enter a date as YYYY-MM-DD.",
        "date_past": "This date has passed.",
        "contact_required": "Tell us how to reach you.",
        "consent_required": "We cannot accept the request without consent to data processing.",
    },
}


def language(value: Any, default: str = "ru") -> str:
    return value if value in LANGUAGES else (default if default in LANGUAGES else "ru")


def t(lang: str, key: str, **values: str) -> str:
    text = TEXTS[language(lang)].get(key, key)
    return text.format(**values) if values else text


def label(texts: dict[str, str] | None, lang: str) -> str:
    """A field label/help in the language asked for, else any language given."""
    if not texts:
        return ""
    return texts.get(lang) or texts.get("ru") or next(iter(texts.values()), "")
