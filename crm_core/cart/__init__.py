"""The Telegram customer's cart (durable, keyed by the Telegram user id)."""
