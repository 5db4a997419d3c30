"""Membrane's token signing keys: generated on first run, kept as JWK files outside the database.

The newest key signs; every key in the folder verifies, so a new key can be added before the
old one is retired (rotation with overlap). The public half is served as the JWKS.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

SIGNING_ALGORITHM = "ES256"
_CURVE = "P-256"


@dataclass(frozen=True, slots=True)
class SigningKeys:
    signing_key: ECKey
    verification_keys: KeySet

    def jwks(self) -> dict[str, Any]:
        return dict(self.verification_keys.as_dict(private=False))


def _write_private(path: Path, data: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def generate_key(keys_dir: Path) -> ECKey:
    """Add a new signing key to the folder; it signs from now on."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ECKey.generate_key(_CURVE, parameters={"alg": SIGNING_ALGORITHM, "use": "sig"})
    key.ensure_kid()
    existing = [path.name.split("-", 1)[0] for path in keys_dir.glob("*.jwk.json")]
    sequence = max((int(prefix) for prefix in existing if prefix.isdigit()), default=0) + 1
    _write_private(keys_dir / f"{sequence:04d}-{key.kid}.jwk.json", dict(key.as_dict(private=True)))
    return key


def load_or_create(keys_dir: Path) -> SigningKeys:
    files = sorted(keys_dir.glob("*.jwk.json")) if keys_dir.exists() else []
    if not files:
        generate_key(keys_dir)
        files = sorted(keys_dir.glob("*.jwk.json"))
    keys = [ECKey.import_key(json.loads(path.read_text(encoding="utf-8"))) for path in files]
    return SigningKeys(signing_key=keys[-1], verification_keys=KeySet(list(keys)))
