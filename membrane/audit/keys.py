"""Ed25519 keys that sign audit checkpoints, kept as JWK files beside the token keys
(`MEMBRANE_KEYS_DIR/audit`), and the offline verification of a checkpoint signature.

The newest key signs; every key in the folder stays published (`/.well-known/audit-keys.json`)
so checkpoints signed before a rotation still verify. `membrane audit keys add` rotates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from membrane.auth.keys import key_files, store_new_key

ALGORITHM = "Ed25519"  # RFC 9864's name for EdDSA over Ed25519


def audit_keys_dir(keys_dir: Path) -> Path:
    return keys_dir / "audit"


@dataclass(frozen=True, slots=True)
class AuditKeys:
    signing_key: OKPKey
    keys: KeySet

    def sign(self, payload: bytes) -> str:
        """A compact JWS over `payload`, naming the key that signed it."""
        header = {"alg": ALGORITHM, "kid": self.signing_key.kid}
        return jws.serialize_compact(header, payload, self.signing_key, algorithms=[ALGORITHM])

    def jwks(self) -> dict[str, Any]:
        return dict(self.keys.as_dict(private=False))


def generate_key(directory: Path) -> OKPKey:
    """Add a key; it signs from each process's next start."""
    key = OKPKey.generate_key("Ed25519", parameters={"alg": ALGORITHM, "use": "sig"})
    store_new_key(directory, key)
    return key


def load_or_create(directory: Path) -> AuditKeys:
    files = key_files(directory)
    if not files:
        generate_key(directory)
        files = key_files(directory)
    keys = [OKPKey.import_key(json.loads(f.path.read_text(encoding="utf-8"))) for f in files]
    return AuditKeys(signing_key=keys[-1], keys=KeySet(list[Any](keys)))


class SignatureError(Exception):
    """A checkpoint's signature does not verify with the published keys."""


def verify(token: str, public_keys: dict[str, Any]) -> bytes:
    """The payload of a checkpoint JWS, if a published key signed it."""
    try:
        key_set = KeySet.import_key_set(public_keys)  # type: ignore[arg-type]
        return jws.deserialize_compact(token, key_set, algorithms=[ALGORITHM]).payload
    except (JoseError, ValueError, KeyError) as error:
        raise SignatureError(str(error) or type(error).__name__) from None
