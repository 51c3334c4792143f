"""Staff accounts, their passwords and API tokens."""
