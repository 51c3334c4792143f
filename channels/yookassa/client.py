"""A small client of the ЮKassa HTTP API v3 (Basic auth with shop id and secret key).

Only what Firma needs: create a payment with a redirect confirmation
(``POST /payments`` with an ``Idempotence-Key``: a retried request never makes a
second payment), read a payment (``GET /payments/{id}``) and a refund
(``GET /refunds/{id}``) to verify a notification before trusting it.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.yookassa.ru/v3"
# The addresses ЮKassa documents as the sources of its HTTP notifications.
PUBLISHED_NETWORKS = (
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "2a02:5180::/32",
)


class YookassaError(Exception):
    """The API refused or could not be reached; ``status`` is its HTTP status (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class YookassaConfig:
    """``trusted_networks`` empty turns the source-address check off (behind a proxy
    that hides it); the API read-back is done regardless."""

    shop_id: str | None = None
    secret_key: str | None = None
    api_url: str = DEFAULT_API_URL
    trusted_networks: tuple[str, ...] = PUBLISHED_NETWORKS
    return_url: str = "http://127.0.0.1:8000/"
    timeout_s: float = 10.0
    networks: tuple[Any, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in self.trusted_networks)
        object.__setattr__(self, "networks", parsed)

    @property
    def configured(self) -> bool:
        return bool(self.shop_id and self.secret_key)

    def trusts(self, address: str | None) -> bool:
        """Whether a notification from ``address`` may be ЮKassa's."""
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in net for net in self.networks if net.version == ip.version)


def money_value(amount: Decimal) -> str:
    return f"{amount:.2f}"


class YookassaClient:
    """One client per process; ``transport`` lets tests pass their own."""

    def __init__(
        self, config: YookassaConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.config = config
        self._http = httpx.AsyncClient(
            base_url=config.api_url.rstrip("/") + "/",
            auth=(config.shop_id or "", config.secret_key or ""),
            timeout=config.timeout_s,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if not self.config.configured:
            raise YookassaError("ЮKassa is not configured (FIRMA_YOOKASSA_SHOP_ID/SECRET_KEY)")
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise YookassaError(f"ЮKassa API unreachable: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("description") or response.text
            except ValueError:
                detail = response.text
            raise YookassaError(
                f"ЮKassa API {response.status_code}: {detail[:300]}", response.status_code
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise YookassaError("ЮKassa API answered with non-JSON", 502) from exc
        if not isinstance(data, dict):
            raise YookassaError("ЮKassa API answered with an unexpected shape", 502)
        return data

    async def create_payment(
        self,
        *,
        amount: Decimal,
        currency: str,
        description: str,
        return_url: str,
        metadata: dict[str, str],
        idempotence_key: str,
    ) -> dict[str, Any]:
        """``POST /payments``: a one-stage payment (capture) with a redirect confirmation."""
        body = {
            "amount": {"value": money_value(amount), "currency": currency},
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "description": description[:128],
            "metadata": metadata,
        }
        return await self._call(
            "POST", "payments", json=body, headers={"Idempotence-Key": idempotence_key}
        )

    async def get_payment(self, payment_id: str) -> dict[str, Any]:
        return await self._call("GET", f"payments/{_safe_id(payment_id)}")

    async def get_refund(self, refund_id: str) -> dict[str, Any]:
        return await self._call("GET", f"refunds/{_safe_id(refund_id)}")


def _safe_id(value: str) -> str:
    # Provider ids are UUID-like: anything else must not travel into a URL path.
    if not value or len(value) > 64 or not all(c.isalnum() or c in "-_" for c in value):
        raise YookassaError(f"Not a ЮKassa object id: {value[:80]!r}", 404)
    return value
