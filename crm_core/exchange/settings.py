"""The 1C exchange account: login, password (argon2 hash) and the on/off switch,
kept in ``firm_settings`` under "exchange_1c"."""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.employees.service import hash_password
from crm_core.errors import ValidationFailed
from crm_core.models import FirmSetting
from crm_core.passwords import verify_secret

KEY = "exchange_1c"


async def get_exchange_settings(session: AsyncSession) -> dict[str, Any]:
    """``login``, ``enabled``, ``password_set``; the hash itself never leaves here
    except through ``password_fingerprint`` (it signs session cookies)."""
    row = await session.get(FirmSetting, KEY)
    stored = row.value if row else {}
    return {
        "login": stored.get("login") or "",
        "enabled": bool(stored.get("enabled")),
        "password_set": bool(stored.get("password_hash")),
    }


async def set_exchange_settings(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """Change ``login``, ``password`` (stored hashed), ``enabled``; others are refused."""
    unknown = set(values) - {"login", "password", "enabled"}
    if unknown:
        raise ValidationFailed(f"Unknown setting {sorted(unknown)[0]!r}", field="exchange_1c")
    row = await session.get(FirmSetting, KEY)
    stored = dict(row.value) if row else {}
    if "login" in values:
        login = (values["login"] or "").strip()
        if ":" in login:  # Basic auth splits on the first colon
            raise ValidationFailed("The login may not contain a colon", field="login")
        stored["login"] = login
    if "password" in values:
        password = values["password"] or ""
        stored["password_hash"] = hash_password(password) if password else None
    if values.get("enabled") is not None:
        stored["enabled"] = bool(values["enabled"])
    if stored.get("enabled") and not (stored.get("login") and stored.get("password_hash")):
        raise ValidationFailed("Set a login and a password to enable the exchange", field="enabled")
    if row is None:
        session.add(FirmSetting(key=KEY, value=stored))
    else:
        row.value = stored  # a new dict: JSON columns do not track in-place changes
    await session.flush()
    return await get_exchange_settings(session)


async def check_exchange_login(session: AsyncSession, login: str, password: str) -> bool:
    """True when the exchange is enabled and the login and password match."""
    row = await session.get(FirmSetting, KEY)
    stored = row.value if row else {}
    expected = stored.get("login") or ""
    password_hash = stored.get("password_hash")
    usable = stored.get("enabled") and expected and password_hash
    password_ok = await verify_secret(password_hash if usable else None, password)
    login_ok = hmac.compare_digest(login.encode(), expected.encode())
    return bool(usable) and login_ok and password_ok


async def password_fingerprint(session: AsyncSession) -> str | None:
    """Changes whenever the password changes (so old session cookies stop working);
    None while the exchange is off."""
    row = await session.get(FirmSetting, KEY)
    stored = row.value if row else {}
    if not stored.get("enabled"):
        return None
    return stored.get("password_hash")
