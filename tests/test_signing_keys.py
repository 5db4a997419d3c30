"""Rotating Membrane's signing keys with `membrane keys`: a new key is published before it
signs, and an old one verifies until it is retired."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from membrane.auth import keys
from membrane.auth.errors import AuthenticationError
from membrane.auth.tokens import TokenService
from membrane.cli.main import main


def _service(folder: Path) -> TokenService:
    """What an API process started now would use."""
    return TokenService(keys.load_or_create(folder), issuer="https://m.test", audience="membrane")


def _mint(service: TokenService) -> str:
    return service.mint(
        subject=uuid.uuid4(), tenant_id=uuid.uuid4(), organization_id=uuid.uuid4(), ttl_seconds=60
    )


def _states(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["keys", "list", "--json"]) == 0
    return {k["kid"]: k["state"] for k in json.loads(capsys.readouterr().out)}


def test_a_key_is_published_first_signs_next_and_verifies_until_retired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEMBRANE_KEYS_DIR", str(tmp_path))
    before = _service(tmp_path)
    old_kid = before.jwks()["keys"][0]["kid"]
    old_token = _mint(before)
    assert _states(capsys) == {old_kid: "signing"}

    assert main(["keys", "add"]) == 0
    capsys.readouterr()
    states = _states(capsys)
    (new_kid,) = set(states) - {old_kid}
    assert states == {old_kid: "signing", new_kid: "next"}
    published = _service(tmp_path)
    assert {k["kid"] for k in published.jwks()["keys"]} == {old_kid, new_kid}
    assert all("d" not in key for key in published.jwks()["keys"])  # public halves only
    assert _header_kid(_mint(published)) == old_kid  # still signing with the old key

    assert main(["keys", "activate", new_kid]) == 0
    assert main(["keys", "activate", new_kid]) == 1  # already active
    capsys.readouterr()
    assert _states(capsys) == {old_kid: "verifying", new_kid: "signing"}
    rotated = _service(tmp_path)
    assert _header_kid(_mint(rotated)) == new_kid
    assert rotated.verify(old_token).expires_at > 0  # the overlap

    assert main(["keys", "retire", new_kid]) == 1  # it signs
    assert main(["keys", "retire", "no-such-kid"]) == 1
    assert main(["keys", "retire", old_kid]) == 0
    capsys.readouterr()
    assert _states(capsys) == {new_kid: "signing"}
    with pytest.raises(AuthenticationError):
        _service(tmp_path).verify(old_token)


def _header_kid(token: str) -> str:
    import base64

    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])
