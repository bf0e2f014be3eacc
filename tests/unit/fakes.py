"""In-memory implementations of the run's ports (config_notifier.ports), for fast rule tests.

They keep the contracts the adapters keep against DynamoDB, SNS and EventBridge: conditional
outbox heads, chunk revisions that conflict when another writer moved them, typed errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from config_notifier.errors import OutboxTaken, PublishRefused, SnapshotUnavailable
from config_notifier.events import Entry, PutResult
from config_notifier.model import EntityId, Message, Record
from config_notifier.stored import (
    ChunkCommit,
    Chunked,
    Outbox,
    OutboxWrite,
    RegionSnapshot,
    Reminded,
)


@dataclass
class _Partition:
    records: dict[EntityId, Record] = field(default_factory=dict)
    revision: int = 0


class MemorySnapshot:
    """The snapshot store in memory: one chunk per partition, revisioned like DynamoDB's."""

    def __init__(self) -> None:
        self.regions: dict[tuple[str, str], _Partition] = {}
        self.members: dict[EntityId, _Partition] = {}
        self.outboxes: dict[tuple[str, str, str], Outbox] = {}
        self.baselined: set[tuple[str, str, str]] = set()
        self.unavailable = False  # every call raises SnapshotUnavailable, as on an outage
        self.calls: list[str] = []
        self.reminded: dict[tuple[str, str], Reminded] = {}

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.unavailable:
            raise SnapshotUnavailable(f"{name}: the table is unreachable")

    def load_region(self, region: str, admin: str = "") -> RegionSnapshot:
        self._call("load_region")
        part = self.regions.setdefault((region, admin), _Partition())
        outbox = {s: o for (r, a, s), o in self.outboxes.items() if (r, a) == (region, admin)}
        baselined = frozenset(s for r, a, s in self.baselined if (r, a) == (region, admin))
        return RegionSnapshot(
            dict(part.records),
            {0: part.revision},
            baselined,
            outbox=outbox,
            reminded=self.reminded.get((region, admin)),
        )

    def save_region(
        self, region: str, before: Chunked, after: Mapping[EntityId, Record], admin: str = ""
    ) -> ChunkCommit:
        self._call("save_region")
        return _save(self.regions.setdefault((region, admin), _Partition()), before, after)

    def load_members(self, parent: EntityId) -> Chunked:
        self._call("load_members")
        part = self.members.setdefault(parent, _Partition())
        return Chunked(dict(part.records), {0: part.revision})

    def save_members(
        self, parent: EntityId, before: Chunked, after: Mapping[EntityId, Record]
    ) -> ChunkCommit:
        self._call("save_members")
        return _save(self.members.setdefault(parent, _Partition()), before, after)

    def mark_baselined(self, region: str, source: str, at: str, admin: str = "") -> None:
        self._call("mark_baselined")
        self.baselined.add((region, admin, source))

    def put_outbox(self, region: str, write: OutboxWrite, admin: str = "") -> tuple[str, ...]:
        self._call("put_outbox")
        key = (region, admin, write.subject)
        current = self.outboxes.get(key)
        expected = write.replaces.generation if write.replaces is not None else None
        if (current.generation if current else None) != expected:
            raise OutboxTaken(f"another run is publishing {write.subject}")
        keys = (f"outbox#{write.subject}",)
        self.outboxes[key] = Outbox(dict(write.told), write.generation, keys, write.covered)
        return keys

    def mark_taken(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> str:
        self._call("mark_taken")
        key = (region, admin, subject)
        current = self.outboxes.get(key)
        if current is not None and current.generation == outbox.generation:
            self.outboxes[key] = replace(current, taken=True)
        return f"taken#{subject}@{outbox.generation}"

    def delete_outbox(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> bool:
        self._call("delete_outbox")
        key = (region, admin, subject)
        current = self.outboxes.get(key)
        if current is not None and current.generation != outbox.generation:
            return False
        self.outboxes.pop(key, None)
        return True

    def mark_reminded(self, region: str, reminded: Reminded, admin: str = "") -> None:
        self._call("mark_reminded")
        self.reminded[(region, admin)] = reminded

    def another_writer_moves(self, parent: EntityId, record: Record) -> None:
        """Another run commits `record` among `parent`'s members since this run loaded them."""
        part = self.members.setdefault(parent, _Partition())
        part.records[record.entity] = record
        part.revision += 1


def _save(part: _Partition, before: Chunked, after: Mapping[EntityId, Record]) -> ChunkCommit:
    if before.chunk_revisions.get(0, 0) != part.revision:
        return ChunkCommit(conflicts=1)
    part.records = dict(after)
    part.revision += 1
    return ChunkCommit(written=1)


class ScriptedPublisher:
    """Accepts every message unless told to refuse the next ones; keeps what it accepted."""

    def __init__(self, snapshot: MemorySnapshot | None = None) -> None:
        self.accepted: list[Message] = []
        # Answers for the next messages, in order (None: accepted); then every one is accepted.
        self.refusals: list[PublishRefused | None] = []
        self._snapshot = snapshot
        self.outboxes_seen: list[dict[tuple[str, str, str], Outbox]] = []

    def publish(self, messages: Sequence[Sequence[Message]]) -> list[PublishRefused | None]:
        """One answer per message, for all its copies; `accepted` keeps every copy taken."""
        if self._snapshot is not None:
            self.outboxes_seen.append(dict(self._snapshot.outboxes))
        results: list[PublishRefused | None] = []
        for copies in messages:
            refusal = self.refusals.pop(0) if self.refusals else None
            if refusal is None:
                self.accepted.extend(copies)
            results.append(refusal)
        return results


class MemoryEvents:
    """An event bus that takes every entry."""

    def __init__(self) -> None:
        self.put_entries: list[Entry] = []

    def put(self, entries: Sequence[Entry], now: str, region: str, admin: str = "") -> PutResult:
        self.put_entries.extend(entries)
        return PutResult(put=len(entries))

    def retry_pending(self, now: datetime) -> PutResult:
        return PutResult(cleared=True)

    def clear_markers(self, regions: Sequence[str | tuple[str, str]]) -> None:
        return None
