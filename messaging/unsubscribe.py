"""Personal unsubscribe links: a token naming customer, channel and campaign, signed
with HMAC-SHA256 under FIRMA_SECRET_KEY so nobody can unsubscribe someone else."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from crm_core.models import Channel

_SIG_BYTES = 16


@dataclass(frozen=True)
class UnsubscribeRequest:
    customer_id: int
    channel: Channel
    campaign_id: int | None


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:_SIG_BYTES]).decode().rstrip("=")


def make_token(
    secret: str, *, customer_id: int, channel: Channel | str, campaign_id: int | None = None
) -> str:
    """``<customer>.<channel>.<campaign or 0>.<signature>``: short enough for an SMS."""
    payload = f"{customer_id}.{Channel(channel).value}.{campaign_id or 0}"
    return f"{payload}.{_sign(secret, payload)}"


def read_token(secret: str, token: str) -> UnsubscribeRequest | None:
    """The request a token carries, or None when it is malformed or forged."""
    parts = token.split(".")
    if len(parts) != 4:
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _sign(secret, payload)):
        return None
    try:
        customer_id, channel, campaign_id = int(parts[0]), Channel(parts[1]), int(parts[2])
    except ValueError:
        return None
    return UnsubscribeRequest(customer_id, channel, campaign_id or None)


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"
