"""Authentication failures, each with a reason a client can act on and nothing more."""

from __future__ import annotations


class AuthenticationError(Exception):
    """The request's credentials are missing, invalid, expired or no longer honoured."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DevModeDisabledError(Exception):
    """A dev-only feature was asked for outside dev mode or in production."""
