"""Errors that carry a message safe to show a user, and the short ids that tie a reply to a log line."""

from __future__ import annotations

import secrets


def new_error_id() -> str:
    """A short random id a user can quote and an operator can grep for."""
    return secrets.token_hex(4)


class UserError(Exception):
    """Bad input or a refusal: the message is written for the user and is shown as it is.

    Raising it never leaves anything half-written: domain functions raise it before they
    change anything, or after a change they could verify was refused.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(UserError):
    """The thing the user named does not exist (or they may not see it)."""


class Refused(UserError):
    """The backend refused the change (workflow, permissions, locked user...)."""


class BackendUnavailable(UserError):
    """A backend is down, slow or answered with a server error; nothing was changed."""


class BackendError(Exception):
    """A backend (a feed, a chat platform) failed or refused; `message` is one line, free of
    secrets. Background work reports every backend's failures the same way, under `backend`."""

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(message)
        self.backend = backend
        self.message = message
