"""Why a sign-in, refresh or token exchange was refused.

`reason` is one specific word for logs and clients (the table in docs/federation.md);
`error` is the OAuth 2.0 error code the answer carries (RFC 6749, section 5.2); `status`
is the HTTP status. Messages name what went wrong, never a token, code or secret.
"""

from __future__ import annotations


class SignInError(Exception):
    def __init__(
        self, reason: str, message: str, *, status: int = 400, error: str = "access_denied"
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        self.error = error
