"""The signed form token: which form, which consent texts were shown, and when.

``<form>.<consent>.<marketing>.<issued ms>.<nonce>.<hmac>`` with HMAC-SHA256 under a
key derived from ``FIRMA_SECRET_KEY``. It carries the consent versions so that the
evidence stored is the text the visitor actually saw, even if the form changed since.
The nonce is stored with the submission it was used for (unique per form), so one
token makes one submission: a second, different submission with it is a replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    form_id: int
    consent_text_id: int | None
    marketing_text_id: int | None
    issued_ms: int
    nonce: str  # one submission per token: stored with it, unique per form


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"firma-webforms-token:" + secret.encode()).digest()


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def issue_token(
    secret: str, form_id: int, consent_id: int | None, marketing_id: int | None, at: datetime
) -> str:
    payload = f"{form_id}.{consent_id or 0}.{marketing_id or 0}.{int(at.timestamp() * 1000)}"
    payload += f".{secrets.token_hex(8)}"
    return f"{payload}.{_sign(secret, payload)}"


def check_token(
    secret: str,
    token: object,
    *,
    form_id: int,
    at: datetime,
    min_age: float,
    max_age: float,
) -> tuple[TokenInfo | None, str | None]:
    """``(info, None)`` for a good token, else ``(None|info, reason)``."""
    if not isinstance(token, str) or not token:
        return None, "no_token"
    payload, _, signature = token.rpartition(".")
    if not payload or not hmac.compare_digest(_sign(secret, payload), signature):
        return None, "bad_token"
    try:
        form, consent, marketing, issued, nonce = payload.split(".")
        info = TokenInfo(
            int(form), int(consent) or None, int(marketing) or None, int(issued), nonce[:32]
        )
    except ValueError:
        return None, "bad_token"
    if info.form_id != form_id:
        return None, "wrong_form"
    age = at.timestamp() - info.issued_ms / 1000
    if age < min_age:
        return info, "too_fast"
    if age > max_age:
        return info, "expired_token"
    return info, None
