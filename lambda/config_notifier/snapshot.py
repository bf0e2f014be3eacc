"""Steps 2 and 5, load and commit: each entity as it was when its last transition was delivered.

Layout (pk / sk):
  "R#<region>"                / "records#<nnnn>"      org rules and packs, account packs
  "R#<region>"                / "#baseline#<source>"  the region's first run of that source is done
  "R#<region>"                / "outbox#<subject>"     statuses published, not yet committed
  "R#<region>"                / "outbox#<subject>#<generation>#<nnnn>"  the rest of a large one
  "M#<region>#<kind>#<name>"  / "chunk#<nnnn>"        member accounts of one rule or pack

What a delegated administrator account deployed lives in partitions of its own,
"R#<region>@<account>" and "M#<region>@<account>#<kind>#<name>", with the same items: its rules
and packs, outboxes and baseline markers never meet the management account's (rule and pack names
have no "@"), and a snapshot written before delegated administrators existed loads unchanged.

Records are stored in chunks: each key hashes to one of a power-of-two number of chunks, sized so
an item stays far below DynamoDB's 400 KB limit. A change in k records rewrites at most k chunks;
a region's rules and packs are one or two items, read with one query each run, and 10,000
accounts of a settled pack are a few items, so a first run or a full reconcile of a large
organization writes and reads hundreds of items, not millions.
Every write is conditional on the chunk revision the run loaded, so an overlapping run cannot
overwrite another's commit: its write fails, is counted, and the next run redoes the work.

The outbox closes the gap between publishing and committing: the new status of every entity a
message reports is written there before the message is published, and removed once the snapshot
holds it. A run that finds one (the function was killed, or its commit failed) knows the
subscriber may have been told that status, so a failure told and then undone is always followed
by its recovery, even when the entity is back to its committed status by then. Its head item is
written on condition that it is still the one the run loaded, so two overlapping runs never
publish the same rule or pack: the second one leaves it to the next run.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from config_notifier.model import EntityId, Kind, Record, Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# An error message is kept whole up to this size: enough to tell a person what the failure was.
MAX_STORED_MESSAGE = 2 * 1024
CHUNK_TARGET_BYTES = 128 * 1024  # what a chunk is sized for
CHUNK_MAX_BYTES = 300 * 1024  # a chunk above this (uneven hashing) doubles the chunk count
_BASELINE = "#baseline#"
_REGION_CHUNK = "records#"
_MEMBER_CHUNK = "chunk#"
_OUTBOX = "outbox#"
EVENTS_PENDING = "#events-pending"  # written by the event outbox (events.PENDING_MARKER)
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
    """One subject's outbox as stored: what it says, its generation, and every item it left."""

    told: Told
    generation: str | None  # None: only pieces of an unfinished write, no head
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RegionSnapshot(Chunked):
    baselined: frozenset[str] = frozenset()  # sources whose first run in this region is done
    events_pending: bool = False  # events of this region wait in the event outbox
    # Published but not committed, by subject (a rule or pack, or the region's single messages),
    # and how many stored parts each takes.
    outbox: Mapping[str, Outbox] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChunkCommit:
    written: int = 0
    deleted: int = 0
    conflicts: int = 0


class SnapshotStore:
    """The DynamoDB snapshot table; takes its boto3 client so tests can hand it one."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load_region(self, region: str, admin: str = "") -> RegionSnapshot:
        """Every top-level record of `region` (deployed by `admin`, "" this account) and which
        of its sources have a baseline."""
        records: dict[EntityId, Record] = {}
        revisions: dict[int, int] = {}
        baselined: set[str] = set()
        events_pending = False
        heads: dict[str, dict[str, Any]] = {}
        pieces: dict[str, list[dict[str, Any]]] = {}
        for item in self._query(region_pk(region, admin)):
            sk = item["sk"]["S"]
            if sk == EVENTS_PENDING:
                events_pending = True
                continue
            if sk.startswith(_BASELINE):
                baselined.add(sk.removeprefix(_BASELINE))
                continue
            if sk.startswith(_OUTBOX):
                subject = item["subject"]["S"]
                if "generation" in item:
                    heads[subject] = item
                else:
                    pieces.setdefault(subject, []).append(item)
                continue
            revisions[int(sk.removeprefix(_REGION_CHUNK))] = int(item["rev"]["N"])
            for key, fields in json.loads(item["records"]["S"]).items():
                kind, _, name = key.partition("#")
                entity = EntityId(region, Kind(kind), name, "", admin)
                records[entity] = _record(entity, fields)
        outbox = {
            subject: _outbox(region, admin, heads.get(subject), pieces.get(subject, []))
            for subject in heads.keys() | pieces.keys()
        }
        return RegionSnapshot(records, revisions, frozenset(baselined), events_pending, outbox)

    def save_region(
        self, region: str, before: Chunked, after: Mapping[EntityId, Record], admin: str = ""
    ) -> ChunkCommit:
        """Store `after` as the region's rules and packs, rewriting only the chunks that changed."""
        return self._save(
            region_pk(region, admin),
            _REGION_CHUNK,
            {_region_key(e): _fields(r) for e, r in before.records.items()},
            before.chunk_revisions,
            {_region_key(e): _fields(r) for e, r in after.items()},
        )

    def load_members(self, parent: EntityId) -> Chunked:
        """The member-account records of one organization rule or pack."""
        records: dict[EntityId, Record] = {}
        revisions: dict[int, int] = {}
        member_kind = parent.kind.member_kind
        for item in self._query(_member_pk(parent)):
            revisions[int(item["sk"]["S"].removeprefix(_MEMBER_CHUNK))] = int(item["rev"]["N"])
            for account, fields in json.loads(item["records"]["S"]).items():
                entity = EntityId(
                    parent.region, member_kind, parent.name, account, parent.admin_account
                )
                records[entity] = _record(entity, fields)
        return Chunked(records, revisions)

    def save_members(
        self, parent: EntityId, before: Chunked, after: Mapping[EntityId, Record]
    ) -> ChunkCommit:
        """Store `after` as the members of `parent`, rewriting only the chunks that changed."""
        return self._save(
            _member_pk(parent),
            _MEMBER_CHUNK,
            {e.account_id: _fields(r) for e, r in before.records.items()},
            before.chunk_revisions,
            {e.account_id: _fields(r) for e, r in after.items()},
        )

    def mark_baselined(self, region: str, source: str, at: str, admin: str = "") -> None:
        """Record that `source` in `region` (of `admin`) has had its silent first run."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": region_pk(region, admin)},
                "sk": {"S": _BASELINE + source},
                "at": {"S": at},
            },
        )

    def put_outbox(
        self,
        region: str,
        subject: str,
        told: Told,
        generation: str,
        replaces: Outbox | None,
        *,
        admin: str = "",
    ) -> tuple[str, ...] | None:
        """Write `told` as `subject`'s outbox, in place of `replaces` (what the run loaded).

        Returns the keys written, or None when another run wrote it since: that run is publishing
        this subject now. The pieces of a large outbox go first and the head last, so a write that
        fails halfway leaves the previous head, and what it says, as it was.
        """
        text = _dump_told(told)
        chunks = [text[i : i + OUTBOX_PART_CHARS] for i in range(0, len(text), OUTBOX_PART_CHARS)]
        keys = [f"{_OUTBOX}{subject}"] + [
            f"{_OUTBOX}{subject}#{generation}#{i:04d}" for i in range(1, len(chunks))
        ]
        for key, chunk in list(zip(keys, chunks, strict=True))[1:]:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": region_pk(region, admin)},
                    "sk": {"S": key},
                    "subject": {"S": subject},
                    "piece_of": {"S": generation},
                    "told": {"S": chunk},
                },
            )
        head = {
            "pk": {"S": region_pk(region, admin)},
            "sk": {"S": keys[0]},
            "subject": {"S": subject},
            "generation": {"S": generation},
            "parts": {"N": str(len(chunks))},
            "told": {"S": chunks[0]},
        }
        previous = replaces.generation if replaces is not None else None
        if previous is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sk)"}
        else:
            condition = {
                "ConditionExpression": "generation = :g",
                "ExpressionAttributeValues": {":g": {"S": previous}},
            }
        if not self._conditional(
            self._client.put_item, TableName=self._table, Item=head, **condition
        ):
            return None
        return tuple(keys)

    def delete_outbox(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> None:
        """Remove an outbox: the snapshot now holds what it said. The head goes only if it is
        still this generation, so a newer run's outbox stays."""
        head = f"{_OUTBOX}{subject}"
        for key in outbox.keys:
            request: dict[str, Any] = {
                "TableName": self._table,
                "Key": {"pk": {"S": region_pk(region, admin)}, "sk": {"S": key}},
            }
            if key == head and outbox.generation is not None:
                request["ConditionExpression"] = "generation = :g"
                request["ExpressionAttributeValues"] = {":g": {"S": outbox.generation}}
            self._conditional(self._client.delete_item, **request)

    def _save(
        self,
        pk: str,
        prefix: str,
        before: dict[str, Fields],
        revisions: dict[int, int],
        after: dict[str, Fields],
    ) -> ChunkCommit:
        old_count = len(revisions)
        count = _chunk_count(after, old_count)
        new_chunks = _bucket(after, count)
        if count == old_count:
            old_chunks = _bucket(before, count)
            changed = [i for i in range(count) if new_chunks[i] != old_chunks[i]]
        else:
            changed = list(range(count))
        written = deleted = conflicts = 0
        for index in changed:
            previous = revisions.get(index)
            if new_chunks[index]:
                ok = self._put_chunk(pk, f"{prefix}{index:04d}", new_chunks[index], previous)
                written += ok
            elif previous is not None:
                ok = self._delete_chunk(pk, f"{prefix}{index:04d}", previous)
                deleted += ok
            else:
                continue
            conflicts += not ok
        for index, revision in revisions.items():
            if index >= count:  # the layout changed: chunks beyond the new count go
                ok = self._delete_chunk(pk, f"{prefix}{index:04d}", revision)
                deleted += ok
                conflicts += not ok
        return ChunkCommit(written, deleted, conflicts)

    def _put_chunk(
        self, pk: str, sk: str, records: dict[str, Fields], previous: int | None
    ) -> bool:
        item = {
            "pk": {"S": pk},
            "sk": {"S": sk},
            "records": {"S": _dump(records)},
            "count": {"N": str(len(records))},
            "rev": {"N": str((previous or 0) + 1)},
        }
        if previous is None:
            return self._conditional(
                self._client.put_item,
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        return self._conditional(
            self._client.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression="rev = :rev",
            ExpressionAttributeValues={":rev": {"N": str(previous)}},
        )

    def _delete_chunk(self, pk: str, sk: str, revision: int) -> bool:
        return self._conditional(
            self._client.delete_item,
            TableName=self._table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConditionExpression="rev = :rev",
            ExpressionAttributeValues={":rev": {"N": str(revision)}},
        )

    def _conditional(self, call: Any, **request: Any) -> bool:
        try:
            call(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _query(self, pk: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            # The previous run's commits must be visible, or they would be reported again.
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def region_pk(region: str, admin: str = "") -> str:
    """The partition of a region's rules and packs: the management account's, or an admin's."""
    return f"R#{region}@{admin}" if admin else f"R#{region}"


def outbox_subject(entity: EntityId) -> str:
    """The outbox of an organization rule's or pack's messages."""
    return _region_key(entity)


SINGLES = "#singles"  # the outbox of a region's account-pack and removed-rule-or-pack messages


def _outbox(
    region: str, admin: str, head: dict[str, Any] | None, pieces: list[dict[str, Any]]
) -> Outbox:
    """An outbox from its stored items; the pieces of other generations are left-overs."""
    keys = tuple(p["sk"]["S"] for p in pieces)
    if head is None:
        return Outbox({}, None, keys)
    generation = head["generation"]["S"]
    mine = sorted(
        (p["sk"]["S"], p["told"]["S"]) for p in pieces if p["piece_of"]["S"] == generation
    )
    if len(mine) != int(head["parts"]["N"]) - 1:
        # Cannot happen (pieces are written before their head, and removed after it); should
        # it, an unreadable outbox must not stop the region: it is cleared with the next commit.
        return Outbox({}, generation, (head["sk"]["S"], *keys))
    text = head["told"]["S"] + "".join(chunk for _, chunk in mine)
    return Outbox(_load_told(region, admin, text), generation, (head["sk"]["S"], *keys))


def _dump_told(told: Told) -> str:
    rows = [[e.kind.value, e.name, e.account_id, _status(status)] for e, status in told.items()]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def _load_told(region: str, admin: str, text: str) -> Told:
    return {
        EntityId(region, Kind(kind), name, account, admin): _unstatus(status)
        for kind, name, account, status in json.loads(text)
    }


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


def _member_pk(parent: EntityId) -> str:
    scope = f"{parent.region}@{parent.admin_account}" if parent.admin_account else parent.region
    return f"M#{scope}#{parent.kind.value}#{parent.name}"


def _region_key(entity: EntityId) -> str:
    return f"{entity.kind.value}#{entity.name}"


def _fields(record: Record) -> Fields:
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


def _record(entity: EntityId, fields: Fields) -> Record:
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


def _dump(records: dict[str, Fields]) -> str:
    return json.dumps(records, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _bucket(records: dict[str, Fields], count: int) -> list[dict[str, Fields]]:
    chunks: list[dict[str, Fields]] = [{} for _ in range(count)]
    for key, fields in records.items():
        # crc32 is stable across processes (unlike hash()), so a key stays in its chunk.
        chunks[zlib.crc32(key.encode()) % count][key] = fields
    return chunks


def _chunk_count(records: dict[str, Fields], current: int) -> int:
    """A power of two that keeps every chunk under the limits; stays put while it fits."""
    if not records:
        return 0
    size = len(_dump(records).encode())
    wanted = 1 << max(math.ceil(size / CHUNK_TARGET_BYTES) - 1, 0).bit_length()
    # Keep the current layout unless it is too small or four times too large: moving records
    # between chunks rewrites them all.
    count = current if current and wanted <= current < wanted * 4 else wanted
    while count < 4096 and any(
        len(_dump(chunk).encode()) > CHUNK_MAX_BYTES for chunk in _bucket(records, count)
    ):
        count *= 2
    return count
