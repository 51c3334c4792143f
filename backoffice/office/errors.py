"""Exceptions the office turns into pages: sign-in required, forbidden, not found."""

from __future__ import annotations


class LoginRequired(Exception):
    """No live session: pages redirect to the sign-in page, fetch calls get 401."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token."""
