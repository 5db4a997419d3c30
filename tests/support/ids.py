"""Relay global ids in tests: `Type:raw-id`, base64-encoded."""

from __future__ import annotations

import base64


def gid(type_name: str, raw: str) -> str:
    return base64.b64encode(f"{type_name}:{raw}".encode()).decode()


def raw_id(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]
