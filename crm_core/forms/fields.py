"""Form fields: checking a form's field list, and checking answers against it.

Answer problems come back as codes (``required``, ``invalid_phone`` ...) per field, not
as sentences: the door that shows them (webforms) words them in the visitor's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from crm_core.contacts import normalize_email, normalize_phone
from crm_core.customers.contacts import MAX_CONTACTS_PER_KIND, Contacts
from crm_core.errors import ValidationFailed

FIELD_TYPES = ("name", "phone", "email", "text", "textarea", "select", "checkbox", "date", "hidden")
CONTACT_TYPES = ("name", "phone", "email")
MAX_LENGTH = {"name": 200, "phone": 40, "email": 254, "text": 1000, "textarea": 10000}
MAX_FIELDS = 50
LANGUAGES = ("ru", "en")
# Keys a submission carries besides the fields; a field may not take these names.
RESERVED = {"consent", "marketing_consent", "website", "referrer", "page_url", "lang"}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"", "0", "false", "off", "no"}


def _texts(value: Any, what: str, *, required: bool) -> dict[str, str] | None:
    """A label or help: one string (used for every language) or ``{"ru": .., "en": ..}``."""
    if value is None or value == "":
        if required:
            raise ValidationFailed(f"{what} is required", field="fields")
        return None
    if isinstance(value, str):
        value = {lang: value for lang in LANGUAGES}
    if not isinstance(value, Mapping) or not set(value) <= set(LANGUAGES):
        raise ValidationFailed(f"{what} must be a string or {{'ru': .., 'en': ..}}", field="fields")
    out = {k: str(v).strip()[:500] for k, v in value.items() if isinstance(v, str) and v.strip()}
    if required and not out:
        raise ValidationFailed(f"{what} is required", field="fields")
    return out or None


def check_fields(fields: Any, purpose: str) -> list[dict[str, Any]]:
    """The normalised field list, or ValidationFailed(field="fields")."""
    if not isinstance(fields, list) or not fields or len(fields) > MAX_FIELDS:
        raise ValidationFailed(f"A form needs 1 to {MAX_FIELDS} fields", field="fields")
    out, seen = [], set()
    for raw in fields:
        if not isinstance(raw, Mapping):
            raise ValidationFailed("Each field must be an object", field="fields")
        name, kind = raw.get("name"), raw.get("type")
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            raise ValidationFailed(f"Bad field name {name!r}", field="fields")
        if name.startswith("utm_") or name in seen:
            raise ValidationFailed(f"Field name {name!r} is taken", field="fields")
        if kind not in FIELD_TYPES:
            raise ValidationFailed(f"Unknown field type {kind!r}", field="fields")
        seen.add(name)
        field = {"name": name, "type": kind, "required": bool(raw.get("required", False))}
        field["label"] = _texts(raw.get("label"), f"Label of {name}", required=kind != "hidden")
        if raw.get("help"):
            field["help"] = _texts(raw.get("help"), f"Help of {name}", required=False)
        if kind == "select":
            options = raw.get("options")
            if not isinstance(options, list) or not options or len(options) > 100:
                raise ValidationFailed(f"Select {name} needs 1 to 100 options", field="fields")
            field["options"] = [str(o).strip()[:200] for o in options]
        if kind == "hidden" and raw.get("default") is not None:
            field["default"] = str(raw["default"])[:1000]
        out.append(field)
    if not any(f["type"] in CONTACT_TYPES for f in out):
        raise ValidationFailed("A form needs a name, phone or email field", field="fields")
    if purpose == "registration" and not any(f["type"] == "date" for f in out):
        raise ValidationFailed("A registration form needs a date field", field="fields")
    return out


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if value is None:
        return False
    return None


def _one(field: Mapping[str, Any], value: Any, today: date) -> tuple[Any, str | None]:
    kind = field["type"]
    if kind == "checkbox":
        flag = _flag(value)
        if flag is None:
            return None, "invalid_type"
        return flag, "required" if field["required"] and not flag else None
    if value is None:
        value = ""
    if not isinstance(value, str):
        return None, "invalid_type"
    value = value.replace("\x00", "").strip()
    if not value:
        return None, "required" if field["required"] else None
    if len(value) > MAX_LENGTH.get(kind, 1000):
        return None, "too_long"
    try:
        if kind == "phone":
            return normalize_phone(value), None
        if kind == "email":
            return normalize_email(value), None
    except ValidationFailed:
        return None, f"invalid_{kind}"
    if kind == "select" and value not in field["options"]:
        return None, "invalid_choice"
    if kind == "date":
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None, "invalid_date"
        return (day.isoformat(), None) if day >= today else (None, "date_past")
    return value, None


def check_answers(
    fields: list[Mapping[str, Any]], data: Mapping[str, Any], *, today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean answers by field name, and error codes by field name (empty: all good)."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        value, error = _one(field, data.get(field["name"], field.get("default")), today)
        if error:
            errors[field["name"]] = error
        elif value is not None:
            answers[field["name"]] = value
    contacts = [f for f in fields if f["type"] in CONTACT_TYPES]
    if not errors and not any(f["name"] in answers for f in contacts):
        errors[contacts[0]["name"]] = "contact_required"
    if _flag(data.get("consent")) is not True:
        errors["consent"] = "consent_required"
    return answers, errors


def contacts_of(fields: list[Mapping[str, Any]], answers: Mapping[str, Any]) -> Contacts | None:
    """The phones and emails of answers ``check_answers`` cleaned (so normalised
    already), in the order the intake would take them; None past the intake's limit
    per kind (the intake then refuses them itself)."""
    types = {f["name"]: f["type"] for f in fields}
    phones = [v for k, v in answers.items() if types.get(k) == "phone"]
    emails = [v for k, v in answers.items() if types.get(k) == "email"]
    if max(len(phones), len(emails)) > MAX_CONTACTS_PER_KIND:
        return None
    return Contacts(phones=tuple(dict.fromkeys(phones)), emails=tuple(dict.fromkeys(emails)))


def meta_of(data: Mapping[str, Any], lang: str | None = None) -> dict[str, str]:
    """The tracking a submission carries: ``utm_*``, referrer and page URL, clipped;
    and the visitor's language (for the confirmation they may be sent)."""
    out = {}
    for key in (*UTM_KEYS, "referrer", "page_url"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()[: 200 if key.startswith("utm_") else 1000]
    if lang in LANGUAGES:
        out["lang"] = lang
    return out
