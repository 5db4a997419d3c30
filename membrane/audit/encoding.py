"""The canonical, versioned encoding of audit events and checkpoints, and the chain hash.

Version 1: an event is the JSON document below, serialised by RFC 8785 (JSON
Canonicalization Scheme: sorted keys, no whitespace, fixed number forms, UTF-8). Its hash
is the SHA-256 of those bytes, written as 64 lower-case hex digits; the document carries
the previous event's hash (`prevHash`; 64 zeros before the first event), so each hash
covers the whole chain before it. An export line is the document plus its `hash`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785

from membrane.audit.models import AuditEvent, Outcome

ENCODING = 1
GENESIS = "0" * 64


def timestamp(value: datetime) -> str:
    """UTC, microseconds, `Z`: the form every timestamp of the log is hashed in."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def event_document(event: AuditEvent) -> dict[str, Any]:
    """Everything the hash covers, in the export's field names."""
    return {
        "v": event.encoding,
        "id": str(event.id),
        "tenantId": str(event.tenant_id),
        "seq": event.seq,
        "occurredAt": timestamp(event.occurred_at),
        "actor": {
            "userId": _text(event.actor_user_id),
            "organizationId": _text(event.actor_organization_id),
            "client": event.actor_client,
            "ip": event.actor_ip,
            "userAgent": event.actor_user_agent,
        },
        "action": event.action,
        "target": {
            "type": event.target_type,
            "id": event.target_id,
            "organizationId": _text(event.target_organization_id),
        },
        "engagementId": _text(event.engagement_id),
        "zone": event.zone,
        "outcome": Outcome(event.outcome).value,
        "details": event.details,
        "prevHash": event.prev_hash,
    }


def canonical(document: dict[str, Any]) -> bytes:
    return rfc8785.dumps(document)


def document_hash(document: dict[str, Any]) -> str:
    """The SHA-256 of a document's canonical bytes (without its own `hash`)."""
    body = {key: value for key, value in document.items() if key != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def checkpoint_document(
    tenant_id: str, seq: int, chain_hash: str, signed_at: datetime
) -> dict[str, Any]:
    """What a checkpoint's signature covers."""
    return {
        "v": ENCODING,
        "type": "membrane.audit.checkpoint",
        "tenantId": tenant_id,
        "seq": seq,
        "hash": chain_hash,
        "signedAt": timestamp(signed_at),
    }
