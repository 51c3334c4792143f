"""Small helpers the customer and lead services share: patch sentinel, text checks,
the INN checksum (search lives in crm_core.text_search)."""

from __future__ import annotations

import enum
from typing import Any

from crm_core.errors import ValidationFailed


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset.UNSET  # "leave as is" in patch functions, unlike None ("clear")


def is_set(value: Any) -> bool:
    return value is not UNSET


def clean_text(
    value: str | None, *, field: str, max_length: int, required: bool = False
) -> str | None:
    """Stripped text or None; too long is bad input (PostgreSQL would refuse it anyway)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(
                f"{field.replace('_', ' ').capitalize()} is required", field=field
            )
        return None
    if len(text) > max_length:
        raise ValidationFailed(f"At most {max_length} characters", field=field)
    return text


def clip(value: str | None, max_length: int) -> str | None:
    """Stripped and cut to length: for tracking values (UTM) we keep, never refuse."""
    text = (value or "").strip()
    return text[:max_length] or None


_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def validate_inn(raw: str | None, *, field: str = "inn") -> str | None:
    """A Russian taxpayer number: 10 digits (company) or 12 (person), checksum verified."""
    text = (raw or "").strip().replace(" ", "")
    if not text:
        return None
    if not text.isdigit() or len(text) not in (10, 12):
        raise ValidationFailed("INN must be 10 or 12 digits", field=field)
    d = [int(c) for c in text]
    if len(d) == 10:
        ok = _check_digit(d, _INN10) == d[9]
    else:
        ok = _check_digit(d, _INN11) == d[10] and _check_digit(d, _INN12) == d[11]
    if not ok:
        raise ValidationFailed(f"INN {text} has a wrong check digit", field=field)
    return text
