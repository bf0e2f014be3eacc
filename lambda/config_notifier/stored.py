"""What the snapshot holds, as plain data and as the DynamoDB items it is stored in. Pure: no I/O.

The layout is described in docs/design.md ("The snapshot"); the store (snapshot.py) reads and
writes these items.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config_notifier.model import EntityId, Kind, Record, Status

# An error message is kept whole up to this size: enough to tell a person what the failure was.
MAX_STORED_MESSAGE = 2 * 1024
CHUNK_TARGET_BYTES = 128 * 1024  # what a chunk is sized for
CHUNK_MAX_BYTES = 300 * 1024  # a chunk above this (uneven hashing) doubles the chunk count
BASELINE = "#baseline#"
REGION_CHUNK = "records#"
MEMBER_CHUNK = "chunk#"
OUTBOX = "outbox#"
TAKEN = "taken#"  # taken#<subject>@<generation>: SNS took that outbox's messages
EVENTS_PENDING = "#events-pending"  # written by the event outbox (events.PENDING_MARKER)
REMINDED = "#reminded"  # the reminder digest's marker (Reminded)
OUTBOX_PART_CHARS = 90_000  # at most 4 bytes a character: a part stays under the item limit
MAX_OUTBOX_MESSAGE = 512  # a repeated message needs the status and code; the text is a courtesy

Fields = list[str | None]


@dataclass(frozen=True, slots=True)
class Chunked:
    """Records as loaded, with the revision of each stored chunk they came from."""

    records: dict[EntityId, Record]
    chunk_revisions: dict[int, int]


Told = Mapping[EntityId, Status | None]  # what a subscriber may have been told (None: removed)


@dataclass(frozen=True, slots=True)
class Outbox:
    """One subject's outbox as stored: what it says, its generation, and every item it left.

    `covered` are the entries subscribers surely have once SNS took the generation's messages:
    what those messages told, and what earlier messages SNS took told (docs/design.md rule 2,
    "An outbox SNS took"). `taken`: a run marked that SNS took every one of them."""

    told: Told
    generation: str | None  # None: only pieces of an unfinished write, no head
    keys: tuple[str, ...]
    covered: frozenset[EntityId] = frozenset()
    taken: bool = False

    @property
    def delivered(self) -> frozenset[EntityId]:
        """The entries whose told status subscribers surely have: nothing left to tell of them
        while they keep it."""
        return self.covered if self.taken else frozenset()


@dataclass(frozen=True, slots=True)
class OutboxWrite:
    """A subject's outbox as a run writes it: what it tells, the run's generation, and the
    outbox it replaces (what the run loaded; None: there was none)."""

    subject: str
    told: Told
    generation: str
    replaces: Outbox | None
    covered: frozenset[EntityId] = frozenset()  # see Outbox


@dataclass(frozen=True, slots=True)
class Reminded:
    """The reminder digest's marker (docs/design.md, "Reminders"): when SNS last took a digest
    (None: never), and when a run last read the snapshot to make one. It is kept in every
    region's partition, which each run loads anyway, so deciding that no digest is due costs no
    read of its own."""

    sent: str | None
    checked: str


@dataclass(frozen=True, slots=True)
class RegionSnapshot(Chunked):
    baselined: frozenset[str] = frozenset()  # sources whose first run in this region is done
    events_pending: bool = False  # events of this region wait in the event outbox
    # Published but not committed, by subject (a rule or pack, or the region's single messages),
    # and how many stored parts each takes.
    outbox: Mapping[str, Outbox] = field(default_factory=dict)
    reminded: Reminded | None = None  # None: no reminder digest was ever weighed here


@dataclass(frozen=True, slots=True)
class ChunkCommit:
    written: int = 0
    deleted: int = 0
    conflicts: int = 0


def region_pk(region: str, admin: str = "") -> str:
    """The partition of a region's rules and packs: the management account's, or an admin's."""
    return f"R#{region}@{admin}" if admin else f"R#{region}"


def outbox_subject(entity: EntityId) -> str:
    """The outbox of an organization rule's or pack's messages."""
    return region_key(entity)


SINGLES = "#singles"  # the outbox of a region's account-pack and removed-rule-or-pack messages


def taken_key(subject: str, generation: str) -> str:
    """The item marking that SNS took the messages of `subject`'s outbox of `generation`. Its own
    prefix: whatever a rule's name holds, it never meets a head or a piece. One per generation:
    a run marking its own outbox, or removing the items it loaded, never touches a newer run's
    mark."""
    return f"{TAKEN}{subject}@{generation}"


def outbox_from_items(
    region: str, admin: str, head: dict[str, Any] | None, items: list[dict[str, Any]]
) -> Outbox:
    """An outbox from its stored items; the pieces and marks of other generations are
    left-overs."""
    keys = tuple(p["sk"]["S"] for p in items)
    if head is None:
        return Outbox({}, None, keys)
    generation, parts = head["generation"]["S"], int(head["parts"]["N"])
    taken = any(p.get("taken_of", {}).get("S") == generation for p in items)
    pieces = [p for p in items if "piece_of" in p]
    # A run that puts a shorter outbox in place of its own (same generation) leaves the longer
    # one's last pieces behind: only those numbered below the head's count are its own.
    mine = sorted(
        (p["sk"]["S"], p["told"]["S"])
        for p in pieces
        if p["piece_of"]["S"] == generation and int(p["sk"]["S"].rpartition("#")[2]) < parts
    )
    if len(mine) != parts - 1:
        # Cannot happen (pieces are written before their head, and removed after it); should
        # it, an unreadable outbox must not stop the region: it is cleared with the next commit.
        return Outbox({}, generation, (head["sk"]["S"], *keys))
    text = head["told"]["S"] + "".join(chunk for _, chunk in mine)
    told, covered = load_told(region, admin, text)
    return Outbox(told, generation, (head["sk"]["S"], *keys), covered, taken)


def dump_told(told: Told, covered: frozenset[EntityId] = frozenset()) -> str:
    """Rows of [kind, name, account, status], with a fifth field 1 for a covered entry (an
    outbox written before marks existed has none: nothing in it counts as delivered)."""
    rows = [
        [e.kind.value, e.name, e.account_id, _status(status), *([1] if e in covered else [])]
        for e, status in told.items()
    ]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def load_told(region: str, admin: str, text: str) -> tuple[Told, frozenset[EntityId]]:
    """What an outbox told, and which of its entries are covered."""
    told: dict[EntityId, Status | None] = {}
    covered: set[EntityId] = set()
    for kind, name, account, status, *mark in json.loads(text):
        entity = EntityId(region, Kind(kind), name, account, admin)
        told[entity] = _unstatus(status)
        if mark == [1]:
            covered.add(entity)
    return told, frozenset(covered)


def _status(status: Status | None) -> Fields | None:
    if status is None:
        return None
    message = status.error_message
    if message and len(message) > MAX_OUTBOX_MESSAGE:
        message = message[:MAX_OUTBOX_MESSAGE] + " [cut]"
    return [status.status, status.error_code, message, status.updated_at]


def _unstatus(fields: Fields | None) -> Status | None:
    if fields is None:
        return None
    status, code, message, updated = fields
    return Status(status or "STATUS_NOT_REPORTED", code, message, updated)


def member_pk(parent: EntityId) -> str:
    scope = f"{parent.region}@{parent.admin_account}" if parent.admin_account else parent.region
    return f"M#{scope}#{parent.kind.value}#{parent.name}"


def region_key(entity: EntityId) -> str:
    return f"{entity.kind.value}#{entity.name}"


def to_fields(record: Record) -> Fields:
    """A record as a compact list; trailing empty fields are left out."""
    status = record.status
    message = status.error_message
    if message and len(message) > MAX_STORED_MESSAGE:
        message = message[:MAX_STORED_MESSAGE] + " [cut]"
    fields: Fields = [
        status.status,
        status.error_code,
        message,
        status.updated_at,
        record.first_seen,
        record.last_changed,
        record.detail_synced,
        record.detail_read_at,
        record.stuck_reported,
    ]
    while fields and fields[-1] is None:
        fields.pop()
    return fields


def from_fields(entity: EntityId, fields: Fields) -> Record:
    status, code, message, updated, first_seen, last_changed, synced, read_at, stuck = (
        fields + [None] * 9
    )[:9]
    return Record(
        entity,
        Status(status or "STATUS_NOT_REPORTED", code, message, updated),
        first_seen=first_seen or "",
        last_changed=last_changed or "",
        detail_synced=synced,
        detail_read_at=read_at,
        stuck_reported=stuck,
    )


def dump_chunk(records: dict[str, Fields]) -> str:
    return json.dumps(records, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def bucket(records: dict[str, Fields], count: int) -> list[dict[str, Fields]]:
    chunks: list[dict[str, Fields]] = [{} for _ in range(count)]
    for key, fields in records.items():
        # crc32 is stable across processes (unlike hash()), so a key stays in its chunk.
        chunks[zlib.crc32(key.encode()) % count][key] = fields
    return chunks


def chunk_count(records: dict[str, Fields], current: int) -> int:
    """A power of two that keeps every chunk under the limits; stays put while it fits."""
    if not records:
        return 0
    size = len(dump_chunk(records).encode())
    wanted = 1 << max(math.ceil(size / CHUNK_TARGET_BYTES) - 1, 0).bit_length()
    # Keep the current layout unless it is too small or four times too large: moving records
    # between chunks rewrites them all.
    count = current if current and wanted <= current < wanted * 4 else wanted
    while count < 4096 and any(
        len(dump_chunk(chunk).encode()) > CHUNK_MAX_BYTES for chunk in bucket(records, count)
    ):
        count *= 2
    return count
