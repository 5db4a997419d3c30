"""Offline verification of an audit export (`membrane audit verify`): no database, only the
file and the published keys (`/.well-known/audit-keys.json`).

Each event's hash is recomputed from its document (`encoding.document_hash`); each event
must carry the next `seq` and the previous event's hash as `prevHash`; each checkpoint's
compact JWS must verify with the keys, sign exactly the document on its line, and name the
`seq` and hash of the event just before it. The first problem is named:

- `event seq N (id …) was modified`: its hash does not recompute (or, when whoever edited
  it recomputed the hash too, the next event does not link to it);
- `event seq N is missing (deleted)`: `seq` jumps, or a checkpoint covers an event the file
  does not have;
- `event seq N (id …) was inserted`: an event the chain steps over (the next one links to
  the event before it), or one repeating a `seq`;
- `event seq N (id …) is out of order (reordered)`: it links to an event that comes later
  in the file (a checkpoint out of place is named likewise);
- `checkpoint at seq N: signature does not verify` / `hash does not match` / `the line does
  not match its signed document` (a checkpoint line's `keyId` is informative: the JWS
  header names the key, which must be in the key set given).

To tell these apart the verifier reads on past the first anomaly (the rest of the file,
still one line at a time): memory stays constant.

Where a file may start. A complete export starts at seq 1 with `prevHash` 64 zeros. A file
that starts later (`export --since`, or once `membrane audit prune` has removed archived
events) starts with the signed checkpoint of the seq just before its first event, its
anchor: the first event must link to the checkpoint's hash. `after` (the CLI's
`--after ARCHIVE.jsonl`, repeatable, oldest first) verifies the archives first and then
requires the file to continue exactly where the last archive ends: verifying the archives
and the current export this way checks the whole chain, pruned or not. Without `after`,
what comes before an anchor is vouched for only by that checkpoint's signature, and the
summary says so.

Events after the last checkpoint are chained but not signed: deleting them from the end of
a file cannot be detected (`membrane audit checkpoint` signs the head before an export).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from membrane.audit.encoding import ENCODING, GENESIS, document_hash
from membrane.audit.keys import SignatureError, verify

CHECKPOINT_TYPE = "membrane.audit.checkpoint"

Line = Mapping[str, Any]


class ChainError(Exception):
    """The first problem of a file, named."""


@dataclass
class Report:
    """What a file was verified to hold, and where its chain ends."""

    tenant_id: str | None = None
    events: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    # The chain verified so far ends here (the last event, or the anchor before any event).
    end_seq: int = 0
    end_hash: str = GENESIS
    # The seq before the first event, vouched for by a signed checkpoint or an archive.
    anchor_seq: int | None = None
    anchored_by: str | None = None
    last_checkpoint_seq: int | None = None

    @property
    def ends_at_checkpoint(self) -> bool:
        return self.last_checkpoint_seq is not None and self.last_checkpoint_seq == self.end_seq

    def summary(self) -> str:
        noun = "event" if self.events == 1 else "events"
        text = f"{self.events} {noun}, {self.checkpoints} checkpoints verified"
        if self.first_seq is not None:
            text += f", from seq {self.first_seq} to {self.last_seq}"
        notes = []
        if self.anchor_seq is not None and self.events:
            notes.append(
                f"the chain up to seq {self.anchor_seq} is not in this file: "
                + (
                    "it is verified in the archive given with --after"
                    if self.anchored_by == "archive"
                    else f"the signed checkpoint at seq {self.anchor_seq} vouches for it "
                    "(verify the archive with --after to check it too)"
                )
            )
        if self.events and not self.ends_at_checkpoint:
            unsigned = self.end_seq - (self.last_checkpoint_seq or self.end_seq - self.events)
            notes.append(
                f"the last {unsigned} event(s) are chained but not yet covered by a signed "
                "checkpoint (`membrane audit checkpoint` signs the head)"
            )
        return "\n".join([text, *notes])


def read_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The objects of a JSONL file, one at a time (blank lines skipped)."""
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            raise ChainError(f"line {number} is not JSON") from None
        if not isinstance(value, dict):
            raise ChainError(f"line {number} is not a JSON object")
        yield value


def verify_lines(
    lines: Iterable[Line], public_keys: dict[str, Any], *, after: Report | None = None
) -> Report:
    """Verify an export's lines (an iterable, consumed once); its report, or `ChainError`
    naming the first problem."""
    chain = Verifier(public_keys, after=after)
    numbered = enumerate(lines, 1)
    for number, line in numbered:
        chain.feed(line, number, numbered)
    return chain.report


@dataclass
class _Event:
    number: int
    seq: int
    id: str
    hash: str
    prev_hash: str
    tenant_id: str
    version: object


def _text(line: Line, key: str) -> str:
    value = line.get(key)
    if not isinstance(value, str):
        raise ValueError(key)
    return value


def _event(line: Line, number: int) -> _Event:
    seq = line.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ChainError(f"line {number}: not an audit event (no whole-number seq)")
    try:
        return _Event(
            number,
            seq,
            _text(line, "id"),
            _text(line, "hash"),
            _text(line, "prevHash"),
            _text(line, "tenantId"),
            line.get("v"),
        )
    except ValueError as error:
        raise ChainError(f"line {number}: event seq {seq} has no {error.args[0]!r}") from None


def _intact(line: Line, stated: str) -> bool:
    try:
        return document_hash(dict(line)) == stated
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        return False


def _range(first: int, last: int) -> str:
    if first == last:
        return f"event seq {first} is missing (deleted)"
    return f"events seq {first} to {last} are missing (deleted)"


class Verifier:
    """The chain read so far. `feed` takes one line at a time; given the iterator of the
    lines after it, it reads on to name an anomaly precisely, else it names it from what
    came before."""

    def __init__(self, public_keys: dict[str, Any], *, after: Report | None = None) -> None:
        self.public_keys = public_keys
        self.report = Report()
        self.started = False
        self.prev_id: str | None = None  # None: the end is an anchor, not an event here
        self.prev_prev_hash: str | None = None
        self.prev_number = 0
        if after is not None:
            self.report.tenant_id = after.tenant_id
            self._anchor(after.end_seq, after.end_hash, "archive")

    # -- state -------------------------------------------------------------------------

    def _anchor(self, seq: int, chain_hash: str, by: str) -> None:
        self.started = True
        self.report.end_seq, self.report.end_hash = seq, chain_hash
        self.report.anchor_seq, self.report.anchored_by = seq, by

    def _advance(self, event: _Event) -> None:
        report = self.report
        self.prev_prev_hash, self.prev_id = report.end_hash, event.id
        self.prev_number = event.number
        report.end_seq, report.end_hash = event.seq, event.hash
        report.events += 1
        if report.first_seq is None:
            report.first_seq = event.seq
        report.last_seq = event.seq
        report.tenant_id = report.tenant_id or event.tenant_id

    # -- lines -------------------------------------------------------------------------

    def feed(self, line: Line, number: int, rest: Iterator[tuple[int, Line]] | None = None) -> None:
        if "checkpoint" in line:
            self._checkpoint(line, number, rest)
        else:
            self._event(line, number, rest)

    def _event(self, line: Line, number: int, rest: Iterator[tuple[int, Line]] | None) -> None:
        event = _event(line, number)
        if not self.started:
            self.started = True  # a complete export: the chain starts at genesis
        report = self.report
        intact = _intact(line, event.hash)
        if (
            intact
            and event.seq == report.end_seq + 1
            and event.prev_hash == report.end_hash
            and event.tenant_id == (report.tenant_id or event.tenant_id)
        ):
            if event.version != ENCODING:
                raise ChainError(
                    f"event seq {event.seq} uses encoding {event.version!r}, which this "
                    f"verifier does not know (line {number})"
                )
            self._advance(event)
            return
        raise ChainError(self._explain(event, intact, rest or iter(())))

    def _checkpoint(self, line: Line, number: int, rest: Iterator[tuple[int, Line]] | None) -> None:
        document, token = line.get("checkpoint"), line.get("jws")
        seq = document.get("seq") if isinstance(document, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(token, str):
            raise ChainError(f"line {number}: not an audit checkpoint (no seq or jws)")
        where = f"checkpoint at seq {seq}"
        try:
            payload = verify(token, self.public_keys)
        except SignatureError as error:
            raise ChainError(
                f"{where}: signature does not verify with the given keys ({error}) (line {number})"
            ) from None
        try:
            signed = json.loads(payload)
        except ValueError:
            raise ChainError(f"{where}: its signed payload is not JSON (line {number})") from None
        if signed != document:
            raise ChainError(
                f"{where}: the line does not match its signed document (line {number})"
            )
        if document.get("type") != CHECKPOINT_TYPE or document.get("v") != ENCODING:
            raise ChainError(f"{where}: not a version {ENCODING} audit checkpoint (line {number})")
        tenant, chain_hash = document.get("tenantId"), document.get("hash")
        report = self.report
        if report.tenant_id is not None and tenant != report.tenant_id:
            raise ChainError(f"{where} belongs to another tenant ({tenant}) (line {number})")
        if not isinstance(chain_hash, str) or not isinstance(tenant, str):
            raise ChainError(f"{where}: its document has no hash or tenant (line {number})")
        if not self.started:
            # The file starts after events it does not hold: this signature vouches for them.
            self._anchor(seq, chain_hash, "checkpoint")
            report.tenant_id = tenant
        elif seq != report.end_seq:
            raise ChainError(self._misplaced(seq, chain_hash, number, rest or iter(())))
        elif chain_hash != report.end_hash:
            for _, later in rest or ():
                if "checkpoint" in later or later.get("hash") != chain_hash:
                    continue
                if self.prev_id is not None and later.get("prevHash") == self.prev_prev_hash:
                    # The event it covers comes later, after one chained in its place.
                    raise ChainError(
                        f"event seq {seq} (id {self.prev_id}) was inserted: the checkpoint "
                        f"after it covers event id {later.get('id')} (line {self.prev_number})"
                    )
                break
            raise ChainError(
                f"{where}: hash does not match event seq {seq}'s (signed {chain_hash[:16]}..., "
                f"the chain has {report.end_hash[:16]}...): the events up to seq {seq} were "
                f"changed (line {number})"
            )
        report.checkpoints += 1
        report.last_checkpoint_seq = seq

    # -- naming the problem --------------------------------------------------------------

    def _misplaced(
        self, seq: int, chain_hash: str, number: int, rest: Iterator[tuple[int, Line]]
    ) -> str:
        report = self.report
        where = f"checkpoint at seq {seq}"
        if seq < report.end_seq:
            if seq == report.end_seq - 1 and chain_hash == self.prev_prev_hash:
                return (
                    f"event seq {report.end_seq} (id {self.prev_id}) was inserted: the "
                    f"checkpoint after it covers seq {seq} (line {self.prev_number})"
                )
            if self.prev_id is None and report.anchored_by == "archive":
                return (
                    f"the file overlaps the archive: its {where} comes before the archive's "
                    f"end, seq {report.end_seq} (line {number})"
                )
            return (
                f"{where} is out of order (reordered): it comes after seq {report.end_seq} "
                f"(line {number})"
            )
        for _, later in rest:
            if later.get("seq") == seq and later.get("hash") == chain_hash:
                return (
                    f"{where} is out of order (reordered): it comes before the event it "
                    f"covers (line {number})"
                )
        return f"{_range(report.end_seq + 1, seq)}: the checkpoint at line {number} covers it"

    def _explain(self, x: _Event, intact: bool, rest: Iterator[tuple[int, Line]]) -> str:
        report = self.report
        p, h = report.end_seq, report.end_hash
        e = p + 1
        here = f"(line {x.number})"
        name = f"event seq {x.seq} (id {x.id})"
        if report.events == 0 and report.anchored_by == "archive" and x.seq <= p:
            return (
                f"the file overlaps the archive: it starts at seq {x.seq}, the archive ends "
                f"at seq {p}"
            )
        # Read on (one line at a time) for what tells the cases apart.
        following: Line | None = None
        belongs_after: Line | None = None  # a later event that x links to
        found_expected = False  # the event that should follow the previous one comes later
        for _, later in rest:
            if "checkpoint" in later:
                continue
            if following is None:
                following = later
            if belongs_after is None and later.get("hash") == x.prev_hash and x.prev_hash != h:
                belongs_after = later
            if later.get("prevHash") == h:
                found_expected = True
            if belongs_after is not None and found_expected:
                break
        if self.prev_id is not None and x.prev_hash == self.prev_prev_hash:
            # x links to the event before the previous one: one of the two was inserted.
            if following is not None and following.get("prevHash") == h:
                return f"{name} was inserted after seq {p} {here}"
            return f"event seq {p} (id {self.prev_id}) was inserted (line {self.prev_number})"
        if belongs_after is not None:
            return (
                f"{name} is out of order (reordered): it follows event seq "
                f"{belongs_after.get('seq')} (id {belongs_after.get('id')}), which comes later "
                f"{here}"
            )
        if following is not None and following.get("prevHash") == h:
            return f"{name} was inserted before seq {e} {here}"
        if not intact:
            return f"{name} was modified {here}"
        if x.seq > e:
            if found_expected:
                return (
                    f"event seq {e} is out of order (reordered): it comes after seq {x.seq} {here}"
                )
            hint = ""
            if p == 0 and report.anchor_seq is None:
                hint = (
                    "; if they were archived, give the archive with --after, or export with "
                    "the checkpoint before them"
                )
            return f"{_range(e, x.seq - 1)} {here}{hint}"
        if x.seq == e:
            if x.tenant_id != report.tenant_id and x.prev_hash == h:
                return f"{name} was inserted: it belongs to tenant {x.tenant_id} {here}"
            if self.prev_id is None:
                what = "the chain's start" if p == 0 else f"the signed checkpoint at seq {p}"
                return (
                    f"{name} does not link to {what}: it was modified, or events before it "
                    f"are missing {here}"
                )
            return (
                f"event seq {p} (id {self.prev_id}) was modified: seq {e} does not link to "
                f"its hash (line {self.prev_number})"
            )
        return f"{name} was inserted after seq {p}: seq {x.seq} came before {here}"
