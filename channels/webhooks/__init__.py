"""Stores that push orders as JSON: ``POST /channels/orders/{source}``."""

from channels.webhooks.orders import order_webhook_router, sign

__all__ = ["order_webhook_router", "sign"]
