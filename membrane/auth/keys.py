"""Membrane's token signing keys: generated on first run, kept as JWK files outside the database.

Every key in the folder verifies and is published in the JWKS; the newest *active* key
signs. Rotation has an overlap on both sides (`membrane keys`): a key is first added as
*next* (`NNNN-<kid>.next.jwk.json`), published but not signing, until every API process
has loaded it (restart or roll out); activating it makes it sign; the old key keeps
verifying until it is retired, once the tokens it signed have expired.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet, OKPKey

from membrane.errors import ConflictError, NotFoundError

SIGNING_ALGORITHM = "ES256"
_CURVE = "P-256"
_SUFFIX = ".jwk.json"
_NEXT_SUFFIX = ".next.jwk.json"


class KeyState(StrEnum):
    SIGNING = "signing"  # the newest active key
    VERIFYING = "verifying"  # an older active key: still accepted, no longer signs
    NEXT = "next"  # published and accepted, signs once activated


@dataclass(frozen=True, slots=True)
class SigningKeys:
    signing_key: ECKey
    verification_keys: KeySet

    def jwks(self) -> dict[str, Any]:
        return dict(self.verification_keys.as_dict(private=False))


@dataclass(frozen=True, slots=True)
class KeyFile:
    path: Path
    sequence: int
    kid: str
    state: KeyState


def _write_private(path: Path, data: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def key_files(keys_dir: Path) -> list[KeyFile]:
    """The folder's keys, oldest first, each with its state."""
    found: list[tuple[int, str, bool, Path]] = []
    for path in keys_dir.glob(f"*{_SUFFIX}") if keys_dir.exists() else []:
        is_next = path.name.endswith(_NEXT_SUFFIX)
        stem = path.name.removesuffix(_NEXT_SUFFIX if is_next else _SUFFIX)
        prefix, _, kid = stem.partition("-")
        found.append((int(prefix) if prefix.isdigit() else 0, kid, is_next, path))
    found.sort()
    active = [entry for entry in found if not entry[2]]
    signing = (active or found)[-1][3] if found else None
    return [
        KeyFile(
            path,
            sequence,
            kid,
            KeyState.NEXT
            if is_next and path != signing
            else KeyState.SIGNING
            if path == signing
            else KeyState.VERIFYING,
        )
        for sequence, kid, is_next, path in found
    ]


def generate_key(keys_dir: Path, *, next_key: bool = False) -> ECKey:
    """Add a new key to the folder: signing from the next start, or (`next_key`) published
    only, until `activate`."""
    key = ECKey.generate_key(_CURVE, parameters={"alg": SIGNING_ALGORITHM, "use": "sig"})
    store_new_key(keys_dir, key, next_key=next_key)
    return key


def store_new_key(keys_dir: Path, key: ECKey | OKPKey, *, next_key: bool = False) -> None:
    """Write a new private key into the folder (made owner-only), after its newest one."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key.ensure_kid()
    sequence = max((k.sequence for k in key_files(keys_dir)), default=0) + 1
    suffix = _NEXT_SUFFIX if next_key else _SUFFIX
    _write_private(keys_dir / f"{sequence:04d}-{key.kid}{suffix}", dict(key.as_dict(private=True)))


def _find(keys_dir: Path, kid: str) -> KeyFile:
    for key in key_files(keys_dir):
        if key.kid == kid:
            return key
    raise NotFoundError(f"no key {kid!r} in {keys_dir}", field="kid")


def activate(keys_dir: Path, kid: str) -> None:
    """Let a next key sign (from each process's next start)."""
    key = _find(keys_dir, kid)
    if key.state is not KeyState.NEXT:
        raise ConflictError(f"key {kid!r} is already active", field="kid")
    key.path.rename(key.path.with_name(key.path.name.replace(_NEXT_SUFFIX, _SUFFIX)))


def retire(keys_dir: Path, kid: str) -> None:
    """Remove a key: tokens it signed are refused from each process's next start."""
    key = _find(keys_dir, kid)
    if key.state is KeyState.SIGNING:
        raise ConflictError(f"key {kid!r} signs; activate another key first", field="kid")
    key.path.unlink()


def load_or_create(keys_dir: Path) -> SigningKeys:
    files = key_files(keys_dir)
    if not files:
        generate_key(keys_dir)
        files = key_files(keys_dir)
    keys = {
        key.kid: ECKey.import_key(json.loads(key.path.read_text(encoding="utf-8"))) for key in files
    }
    signing = next(key.kid for key in files if key.state is KeyState.SIGNING)
    return SigningKeys(signing_key=keys[signing], verification_keys=KeySet(list(keys.values())))
