"""Normalising what people type as contacts: phones to E.164, emails validated."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_core.errors import ValidationFailed

DEFAULT_REGION = "RU"


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION, field: str = "phone") -> str:
    """``8 (916) 123-45-67`` → ``+79161234567``; raise ValidationFailed if it is no phone."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed("Phone number is empty", field=field)
    if len(text) > 40:
        raise ValidationFailed("Phone number is too long", field=field)
    # A Russian "8" trunk prefix before 10 digits is the everyday way to write +7.
    digits = "".join(ch for ch in text if ch.isdigit())
    if region == "RU" and len(digits) == 11 and digits[0] == "8" and not text.startswith("+"):
        text = "+7" + digits[1:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(f"Not a phone number: {raw!r}", field=field) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(f"Not a valid phone number: {raw!r}", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str, *, field: str = "email") -> str:
    """Validate the syntax (no DNS look-up) and return the normalised address."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed("Email is empty", field=field)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(f"Not a valid email: {exc}", field=field) from exc
    # Domains are case-insensitive; local parts are in practice too, and matching
    # duplicates needs one spelling.
    return result.normalized.lower()


def format_phone(e164: str) -> str:
    """``+79161234567`` → ``+7 916 123-45-67`` for people to read."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
