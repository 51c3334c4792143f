"""Domain errors raised by services and mapped once per door (HTTP, bot, CLI)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a use case refused, with a message a person can act on."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing named by an id does not exist (or is not visible to the caller)."""


class Conflict(DomainError):
    """The request clashes with the current state (illegal transition, lost race, duplicate)."""


class ValidationFailed(DomainError):
    """The input is malformed or out of range."""


class Forbidden(DomainError):
    """The actor may not do this."""
