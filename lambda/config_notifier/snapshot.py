"""Steps 2 and 5, load and commit: each entity as it was when its last transition was delivered.

Layout:
  pk "R#<region>"                sk "<kind>#<name>"       org rules and packs, account packs
  pk "R#<region>"                sk "#baseline#<source>"  the region's first run is done
  pk "M#<region>#<kind>#<name>"  sk "chunk#<nnnn>"        member accounts of one rule or pack
A run reads the region partition (its size follows the number of rules and packs, not accounts)
and a member partition only when it reads that rule's or pack's member accounts.

Member accounts are stored in chunks: each account hashes to one of a power-of-two number of
chunks, sized so an item stays far below DynamoDB's 400 KB limit. A change in k accounts rewrites
at most k chunks, and 10,000 accounts of a settled pack take two items, not 10,000, so a first run
or a full reconcile of a large organization writes and reads hundreds of items, not millions.
Every write is conditional on the revision the run loaded, so an overlapping run cannot overwrite.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from config_notifier.model import EntityId, Kind, Record, Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# An error message is kept whole up to this size; items stay far below 400 KB.
MAX_STORED_MESSAGE = 16 * 1024
# A member's error message inside a chunk: enough to tell a person what the failure was.
MAX_MEMBER_MESSAGE = 2 * 1024
CHUNK_TARGET_BYTES = 128 * 1024  # what a chunk is sized for
CHUNK_MAX_BYTES = 300 * 1024  # a chunk above this (uneven hashing) doubles the chunk count
_BASELINE = "#baseline#"
_CHUNK = "chunk#"


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """The member-account records of one rule or pack, and the revision of each stored chunk."""

    records: dict[EntityId, Record]
    chunk_revisions: dict[int, int]


@dataclass(frozen=True, slots=True)
class ChunkCommit:
    written: int = 0
    deleted: int = 0
    conflicts: int = 0


@dataclass(frozen=True, slots=True)
class RegionSnapshot:
    records: dict[EntityId, Record]
    baselined: frozenset[str]  # sources whose first run in this region is done


class SnapshotStore:
    """The DynamoDB snapshot table; takes its boto3 client so tests can hand it one."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load_region(self, region: str) -> RegionSnapshot:
        """Every top-level record of `region` and which of its sources have a baseline."""
        records: dict[EntityId, Record] = {}
        baselined: set[str] = set()
        for item in self._query(f"R#{region}"):
            sk = item["sk"]["S"]
            if sk.startswith(_BASELINE):
                baselined.add(sk.removeprefix(_BASELINE))
            else:
                record = item_to_record(item)
                records[record.entity] = record
        return RegionSnapshot(records, frozenset(baselined))

    def load_members(self, parent: EntityId) -> MemberSnapshot:
        """The member-account records of one organization rule or pack."""
        records: dict[EntityId, Record] = {}
        revisions: dict[int, int] = {}
        member_kind = parent.kind.member_kind
        for item in self._query(_member_pk(parent)):
            revisions[int(item["sk"]["S"].removeprefix(_CHUNK))] = int(item["rev"]["N"])
            for account, fields in json.loads(item["members"]["S"]).items():
                entity = EntityId(parent.region, member_kind, parent.name, account)
                records[entity] = _member_record(entity, fields)
        return MemberSnapshot(records, revisions)

    def save_members(
        self, parent: EntityId, before: MemberSnapshot, after: Mapping[EntityId, Record]
    ) -> ChunkCommit:
        """Store `after` as the members of `parent`, rewriting only the chunks that changed."""
        encoded = {e.account_id: _member_fields(r) for e, r in after.items()}
        old_count = len(before.chunk_revisions)
        count = _chunk_count(encoded, old_count)
        new_chunks = _bucket(encoded, count)
        if count == old_count:
            old = _bucket(
                {e.account_id: _member_fields(r) for e, r in before.records.items()}, count
            )
            changed = [i for i in range(count) if new_chunks[i] != old[i]]
        else:
            changed = list(range(count))
        written = deleted = conflicts = 0
        pk = _member_pk(parent)
        for index in changed:
            previous = before.chunk_revisions.get(index)
            if not new_chunks[index] and previous is not None:
                ok = self._delete_chunk(pk, index, previous)
                deleted += ok
            elif new_chunks[index]:
                ok = self._put_chunk(pk, index, new_chunks[index], previous)
                written += ok
            else:
                continue
            conflicts += not ok
        for index, revision in before.chunk_revisions.items():
            if index >= count:  # the chunk count shrank or grew: old chunks go
                ok = self._delete_chunk(pk, index, revision)
                deleted += ok
                conflicts += not ok
        return ChunkCommit(written, deleted, conflicts)

    def _put_chunk(
        self, pk: str, index: int, members: dict[str, list[str | None]], previous: int | None
    ) -> bool:
        item = {
            "pk": {"S": pk},
            "sk": {"S": f"{_CHUNK}{index:04d}"},
            "members": {"S": _dump(members)},
            "count": {"N": str(len(members))},
            "rev": {"N": str((previous or 0) + 1)},
        }
        if previous is None:
            condition, values = "attribute_not_exists(pk)", None
        else:
            condition, values = "rev = :rev", {":rev": {"N": str(previous)}}
        return self._conditional(
            self._client.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )

    def _delete_chunk(self, pk: str, index: int, revision: int) -> bool:
        return self._conditional(
            self._client.delete_item,
            TableName=self._table,
            Key={"pk": {"S": pk}, "sk": {"S": f"{_CHUNK}{index:04d}"}},
            ConditionExpression="rev = :rev",
            ExpressionAttributeValues={":rev": {"N": str(revision)}},
        )

    def put(self, record: Record, previous: Record | None) -> bool:
        """Write `record` unless someone changed the item since `previous` was loaded."""
        item = record_to_item(record)
        if previous is None:
            condition, values = "attribute_not_exists(pk)", None
        else:
            condition, values = "rev = :rev", {":rev": {"N": str(previous.revision)}}
        return self._conditional(
            self._client.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )

    def delete(self, previous: Record) -> bool:
        """Remove a record unless someone changed it since it was loaded."""
        return self._conditional(
            self._client.delete_item,
            TableName=self._table,
            Key=_key(previous.entity),
            ConditionExpression="rev = :rev",
            ExpressionAttributeValues={":rev": {"N": str(previous.revision)}},
        )

    def mark_baselined(self, region: str, source: str, at: str) -> None:
        """Record that `source` in `region` has had its silent first run."""
        self._client.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"R#{region}"}, "sk": {"S": _BASELINE + source}, "at": {"S": at}},
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


def _member_pk(parent: EntityId) -> str:
    return f"M#{parent.region}#{parent.kind.value}#{parent.name}"


def _key(entity: EntityId) -> dict[str, Any]:
    return {"pk": {"S": f"R#{entity.region}"}, "sk": {"S": entity.sort_key}}


def _member_fields(record: Record) -> list[str | None]:
    status = record.status
    message = status.error_message
    if message and len(message) > MAX_MEMBER_MESSAGE:
        message = message[:MAX_MEMBER_MESSAGE] + " [cut]"
    return [
        status.status,
        status.error_code,
        message,
        status.updated_at,
        record.first_seen,
        record.last_changed,
    ]


def _member_record(entity: EntityId, fields: list[str | None]) -> Record:
    status, code, message, updated, first_seen, last_changed = fields
    return Record(
        entity,
        Status(status or "STATUS_NOT_REPORTED", code, message, updated),
        first_seen=first_seen or "",
        last_changed=last_changed or "",
    )


def _dump(members: dict[str, list[str | None]]) -> str:
    return json.dumps(members, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _bucket(members: dict[str, list[str | None]], count: int) -> list[dict[str, list[str | None]]]:
    chunks: list[dict[str, list[str | None]]] = [{} for _ in range(count)]
    for account, fields in members.items():
        # crc32 is stable across processes (unlike hash()), so an account stays in its chunk.
        chunks[zlib.crc32(account.encode()) % count][account] = fields
    return chunks


def _chunk_count(members: dict[str, list[str | None]], current: int) -> int:
    """A power of two that keeps every chunk under the limits; stays put while it fits."""
    if not members:
        return 0
    size = len(_dump(members).encode())
    wanted = 1 << max(math.ceil(size / CHUNK_TARGET_BYTES) - 1, 0).bit_length()
    # Keep the current layout unless it is too small or four times too large: moving accounts
    # between chunks rewrites them all.
    count = current if current and wanted <= current < wanted * 4 else wanted
    while count < 4096 and any(
        len(_dump(chunk).encode()) > CHUNK_MAX_BYTES for chunk in _bucket(members, count)
    ):
        count *= 2
    return count


def record_to_item(record: Record) -> dict[str, Any]:
    """A snapshot record as a DynamoDB item; absent optional fields are left out."""
    entity, status = record.entity, record.status
    item: dict[str, Any] = {
        **_key(entity),
        "region": {"S": entity.region},
        "kind": {"S": entity.kind.value},
        "name": {"S": entity.name},
        "status": {"S": status.status},
        "first_seen": {"S": record.first_seen},
        "last_changed": {"S": record.last_changed},
        "rev": {"N": str(record.revision)},
    }
    optional = {
        "account_id": entity.account_id or None,
        "error_code": status.error_code,
        "error_message": status.error_message[:MAX_STORED_MESSAGE]
        if status.error_message
        else None,
        "aws_updated_at": status.updated_at,
        "detail_synced": record.detail_synced,
        "detail_read_at": record.detail_read_at,
    }
    item.update({k: {"S": v} for k, v in optional.items() if v})
    return item


def item_to_record(item: dict[str, Any]) -> Record:
    """The inverse of record_to_item."""

    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    entity = EntityId(
        region=item["region"]["S"],
        kind=Kind(item["kind"]["S"]),
        name=item["name"]["S"],
        account_id=text("account_id") or "",
    )
    return Record(
        entity=entity,
        status=Status(
            status=item["status"]["S"],
            error_code=text("error_code"),
            error_message=text("error_message"),
            updated_at=text("aws_updated_at"),
        ),
        first_seen=item["first_seen"]["S"],
        last_changed=item["last_changed"]["S"],
        revision=int(item["rev"]["N"]),
        detail_synced=text("detail_synced"),
        detail_read_at=text("detail_read_at"),
    )
