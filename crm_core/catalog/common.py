"""Input checks shared by the catalog and the orders: money, quantities, VAT rates."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from crm_core.errors import ValidationFailed

KOPECK = Decimal("0.01")
# Russian VAT rates: 0/10/20 (22 from 2026), 5/7 for the simplified tax system.
VAT_RATES = frozenset(Decimal(r) for r in (0, 5, 7, 10, 20, 22))
MAX_MONEY = Decimal("9999999999999.99")  # Numeric(15, 2)
MAX_QUANTITY = Decimal("999999999999.999")  # Numeric(15, 3)


def money(value: Any) -> Decimal:
    """Round to kopecks, half up (the rule of Russian accounting)."""
    return Decimal(value).quantize(KOPECK, rounding=ROUND_HALF_UP)


def to_decimal(value: Any, *, field: str, places: int, minimum: Decimal | None = None) -> Decimal:
    """A finite Decimal with at most ``places`` decimal places, or ValidationFailed."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationFailed(f"{field} must be a number", field=field) from exc
    if not number.is_finite():
        raise ValidationFailed(f"{field} must be a finite number", field=field)
    limit = MAX_MONEY if places == 2 else MAX_QUANTITY
    if abs(number) > limit:  # before quantize: 1E+400 cannot be quantized at all
        raise ValidationFailed(f"{field} is too large", field=field)
    if number != number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
        raise ValidationFailed(f"{field} allows at most {places} decimal places", field=field)
    if minimum is not None and number < minimum:
        raise ValidationFailed(f"{field} must be at least {minimum}", field=field)
    return number


def check_vat_rate(value: Any, *, field: str = "vat_rate") -> Decimal | None:
    """None (no VAT) or one of the Russian rates."""
    if value is None:
        return None
    rate = to_decimal(value, field=field, places=2)
    if rate not in VAT_RATES:
        allowed = ", ".join(str(r) for r in sorted(VAT_RATES))
        raise ValidationFailed(f"VAT rate must be one of {allowed} or empty", field=field)
    return rate


def clean(value: str | None, *, field: str, max_length: int, required: bool = False) -> str | None:
    """Strip a text input; empty is None (or an error when required)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(f"{field} is required", field=field)
        return None
    if len(text) > max_length:
        raise ValidationFailed(f"{field} is longer than {max_length} characters", field=field)
    return text
