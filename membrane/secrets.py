"""Secrets at rest (silo database URLs, later IdP client secrets): Fernet, keys rotatable.

`MEMBRANE_SECRET_KEYS` holds one or more Fernet keys, comma-separated: the first encrypts,
all of them decrypt, so a new key is put first and the old one dropped once every secret
has been re-encrypted (`membrane tenants rotate-secrets`). In development, when the
variable is unset, a key is generated once in `MEMBRANE_KEYS_DIR`; in production nothing
is generated, and storing or reading a secret fails until the variable is set.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from membrane.config import ConfigurationError, Settings

KEY_FILE = "secret-keys"


class SecretError(ValueError):
    """A stored secret cannot be decrypted with the configured keys."""


class SecretBox:
    """Encrypts and decrypts with the configured keys; without keys (production with
    `MEMBRANE_SECRET_KEYS` unset) every use fails with a `SecretError` saying so."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet: MultiFernet | None = None
        if not keys:
            return
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError:
            raise ConfigurationError(
                "MEMBRANE_SECRET_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)"
            ) from None

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretError("MEMBRANE_SECRET_KEYS is not set: secrets cannot be stored or read")
        return self._fernet

    def encrypt(self, plaintext: str) -> str:
        return self._keys().encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._keys().decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretError(
                "a stored secret does not decrypt with MEMBRANE_SECRET_KEYS"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the first key."""
        try:
            return self._keys().rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretError(
                "a stored secret does not decrypt with MEMBRANE_SECRET_KEYS"
            ) from None


def secret_box(settings: Settings) -> SecretBox:
    if settings.secret_keys:
        return SecretBox([key.encode() for key in settings.secret_keys])
    if settings.production:
        return SecretBox([])
    return SecretBox([_development_key(settings.keys_dir)])


def _development_key(keys_dir: Path) -> bytes:
    path = keys_dir / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    return key
