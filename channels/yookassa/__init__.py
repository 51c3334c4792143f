"""ЮKassa (YooKassa) online payments: payment links for orders and notifications.

``client`` speaks the documented HTTP API v3; ``links`` creates a payment for an
order; ``notifications`` is ``POST /channels/yookassa/notifications``.
"""

from channels.yookassa.client import (
    DEFAULT_API_URL,
    PUBLISHED_NETWORKS,
    YookassaClient,
    YookassaConfig,
    YookassaError,
)

__all__ = [
    "DEFAULT_API_URL",
    "PUBLISHED_NETWORKS",
    "YookassaClient",
    "YookassaConfig",
    "YookassaError",
]
