"""The firm's requisites for documents, kept in ``firm_settings`` under the key "firm"."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contacts import normalize_email
from crm_core.errors import ValidationFailed
from crm_core.models import FirmSetting

FIRM_KEY = "firm"
FIELDS = (
    "name",
    "inn",
    "kpp",
    "address",
    "bank",
    "bik",
    "account",
    "corr_account",
    "phone",
    "email",
    "director",
    "accountant",
)
# Digits-only requisites and their allowed lengths (ИНН of a company 10, of an ИП 12).
_DIGITS = {"inn": (10, 12), "kpp": (9,), "bik": (9,), "account": (20,), "corr_account": (20,)}


async def get_firm(session: AsyncSession) -> dict[str, str]:
    """The requisites (every known field present, empty string when not set)."""
    row = await session.get(FirmSetting, FIRM_KEY)
    stored = row.value if row else {}
    return {key: str(stored.get(key) or "") for key in FIELDS}


async def set_firm(session: AsyncSession, values: Mapping[str, Any]) -> dict[str, str]:
    """Change the given requisites (None or "" clears one); unknown keys are refused."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown requisite {sorted(unknown)[0]!r}", field="firm")
    current = await get_firm(session)
    for key, value in values.items():
        text = str(value).strip() if value is not None else ""
        if len(text) > 500:
            raise ValidationFailed(f"{key} is too long", field=key)
        digits = _DIGITS.get(key)
        if text and digits and (not re.fullmatch(r"\d+", text) or len(text) not in digits):
            lengths = " or ".join(str(n) for n in digits)
            raise ValidationFailed(f"{key} must be {lengths} digits", field=key)
        if text and key == "email":
            text = normalize_email(text)  # printed on invoices: a typo would go out on paper
        current[key] = text
    row = await session.get(FirmSetting, FIRM_KEY)
    if row is None:
        session.add(FirmSetting(key=FIRM_KEY, value=current))
    else:
        row.value = dict(current)  # a new dict: JSON columns do not track in-place changes
    await session.flush()
    return current
