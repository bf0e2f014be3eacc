"""The snapshot store: the DynamoDB adapter that loads and commits what the run knows.

Each entity is kept as it was when its last transition was delivered.

Layout (pk / sk):
  "R#<region>"                / "records#<nnnn>"      org rules and packs, account packs
  "R#<region>"                / "#baseline#<source>"  the region's first run of that source is done
  "R#<region>"                / "outbox#<subject>"     statuses published, not yet committed
  "R#<region>"                / "outbox#<subject>#<generation>#<nnnn>"  the rest of a large one
  "R#<region>"                / "taken#<subject>@<generation>"  SNS took that outbox's messages
  "M#<region>#<kind>#<name>"  / "chunk#<nnnn>"        member accounts of one rule or pack
  "R#<region>"                / "#reminded"            when a reminder digest last went out

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

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from config_notifier.errors import OutboxTaken, SnapshotUnavailable
from config_notifier.model import EntityId, Kind, Record
from config_notifier.stored import (
    BASELINE,
    EVENTS_PENDING,
    MEMBER_CHUNK,
    OUTBOX,
    OUTBOX_PART_CHARS,
    REGION_CHUNK,
    REMINDED,
    TAKEN,
    ChunkCommit,
    Chunked,
    Fields,
    Outbox,
    OutboxWrite,
    RegionSnapshot,
    Reminded,
    bucket,
    chunk_count,
    dump_chunk,
    dump_told,
    from_fields,
    member_pk,
    outbox_from_items,
    region_key,
    region_pk,
    taken_key,
    to_fields,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _aws_errors_unavailable[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """The store's own error for any DynamoDB failure, raised from the botocore error."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotUnavailable(str(exc)) from exc

    return wrapper


class SnapshotStore:
    """The DynamoDB snapshot table; takes its boto3 client so tests can hand it one."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        # Each region chunk as last loaded: its text and its records (see _region_chunk).
        self._region_chunks: dict[tuple[str, str], tuple[str, dict[EntityId, Record]]] = {}

    @_aws_errors_unavailable
    def load_region(self, region: str, admin: str = "") -> RegionSnapshot:
        """Every top-level record of `region` (deployed by `admin`, "" this account) and which
        of its sources have a baseline."""
        records: dict[EntityId, Record] = {}
        revisions: dict[int, int] = {}
        baselined: set[str] = set()
        events_pending = False
        reminded: Reminded | None = None
        heads: dict[str, dict[str, Any]] = {}
        pieces: dict[str, list[dict[str, Any]]] = {}
        for item in self._query(region_pk(region, admin)):
            sk = item["sk"]["S"]
            if sk == EVENTS_PENDING:
                events_pending = True
                continue
            if sk == REMINDED:
                sent = item.get("sent")
                reminded = Reminded(sent["S"] if sent else None, item["checked"]["S"])
                continue
            if sk.startswith(BASELINE):
                baselined.add(sk.removeprefix(BASELINE))
                continue
            if sk.startswith((OUTBOX, TAKEN)):
                subject = item["subject"]["S"]
                if "generation" in item:
                    heads[subject] = item
                else:
                    pieces.setdefault(subject, []).append(item)
                continue
            revisions[int(sk.removeprefix(REGION_CHUNK))] = int(item["rev"]["N"])
            records.update(self._region_chunk(region, admin, sk, item["records"]["S"]))
        outbox = {
            subject: outbox_from_items(region, admin, heads.get(subject), pieces.get(subject, []))
            for subject in heads.keys() | pieces.keys()
        }
        return RegionSnapshot(
            records, revisions, frozenset(baselined), events_pending, outbox, reminded
        )

    def _region_chunk(self, region: str, admin: str, sk: str, text: str) -> dict[EntityId, Record]:
        """The records of one stored region chunk. A steady run loads the very chunks the run
        before it loaded: a warm execution environment keeps what it decoded (records are
        frozen) and decodes a chunk again only when its text differs (docs/performance.md)."""
        key = (region_pk(region, admin), sk)
        known = self._region_chunks.get(key)
        if known is not None and known[0] == text:
            return known[1]
        records: dict[EntityId, Record] = {}
        for name_key, fields in json.loads(text).items():
            kind, _, name = name_key.partition("#")
            entity = EntityId(region, Kind(kind), name, "", admin)
            records[entity] = from_fields(entity, fields)
        self._region_chunks[key] = (text, records)
        return records

    @_aws_errors_unavailable
    def save_region(
        self, region: str, before: Chunked, after: Mapping[EntityId, Record], admin: str = ""
    ) -> ChunkCommit:
        """Store `after` as the region's rules and packs, rewriting only the chunks that changed."""
        return self._save(
            region_pk(region, admin),
            REGION_CHUNK,
            {region_key(e): to_fields(r) for e, r in before.records.items()},
            before.chunk_revisions,
            {region_key(e): to_fields(r) for e, r in after.items()},
        )

    @_aws_errors_unavailable
    def load_members(self, parent: EntityId) -> Chunked:
        """The member-account records of one organization rule or pack."""
        records: dict[EntityId, Record] = {}
        revisions: dict[int, int] = {}
        member_kind = parent.kind.member_kind
        for item in self._query(member_pk(parent)):
            revisions[int(item["sk"]["S"].removeprefix(MEMBER_CHUNK))] = int(item["rev"]["N"])
            for account, fields in json.loads(item["records"]["S"]).items():
                entity = EntityId(
                    parent.region, member_kind, parent.name, account, parent.admin_account
                )
                records[entity] = from_fields(entity, fields)
        return Chunked(records, revisions)

    @_aws_errors_unavailable
    def save_members(
        self, parent: EntityId, before: Chunked, after: Mapping[EntityId, Record]
    ) -> ChunkCommit:
        """Store `after` as the members of `parent`, rewriting only the chunks that changed."""
        return self._save(
            member_pk(parent),
            MEMBER_CHUNK,
            {e.account_id: to_fields(r) for e, r in before.records.items()},
            before.chunk_revisions,
            {e.account_id: to_fields(r) for e, r in after.items()},
        )

    @_aws_errors_unavailable
    def mark_baselined(self, region: str, source: str, at: str, admin: str = "") -> None:
        """Record that `source` in `region` (of `admin`) has had its silent first run."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": region_pk(region, admin)},
                "sk": {"S": BASELINE + source},
                "at": {"S": at},
            },
        )

    @_aws_errors_unavailable
    def mark_reminded(self, region: str, reminded: Reminded, admin: str = "") -> None:
        """Keep the reminder digest's marker in the partition of `region` (of `admin`)."""
        item = {
            "pk": {"S": region_pk(region, admin)},
            "sk": {"S": REMINDED},
            "checked": {"S": reminded.checked},
        }
        if reminded.sent is not None:
            item["sent"] = {"S": reminded.sent}
        self._client.put_item(TableName=self._table, Item=item)

    @_aws_errors_unavailable
    def put_outbox(self, region: str, write: OutboxWrite, admin: str = "") -> tuple[str, ...]:
        """Write `write.told` as its subject's outbox, in place of `write.replaces`.

        Returns the keys written; raises OutboxTaken when another run wrote it since: that run is
        publishing this subject now. The pieces of a large outbox go first and the head last, so
        a write that fails halfway leaves the previous head, and what it says, as it was.
        """
        subject, generation = write.subject, write.generation
        text = dump_told(write.told, write.covered)
        chunks = [text[i : i + OUTBOX_PART_CHARS] for i in range(0, len(text), OUTBOX_PART_CHARS)]
        keys = [f"{OUTBOX}{subject}"] + [
            f"{OUTBOX}{subject}#{generation}#{i:04d}" for i in range(1, len(chunks))
        ]
        for key, chunk in list(zip(keys, chunks, strict=True))[1:]:
            piece = _outbox_item(region, admin, key, subject, piece_of=generation, told=chunk)
            self._client.put_item(TableName=self._table, Item=piece)
        head = {
            **_outbox_item(region, admin, keys[0], subject, generation=generation, told=chunks[0]),
            "parts": {"N": str(len(chunks))},
        }
        previous = write.replaces.generation if write.replaces is not None else None
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
            raise OutboxTaken(f"another run is publishing {subject} in {region_pk(region, admin)}")
        return tuple(keys)

    @_aws_errors_unavailable
    def mark_taken(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> str:
        """Mark that SNS took every message of `outbox`'s generation; the key written.

        Unconditional: the mark is keyed by its generation and counts only while the head is
        that generation, so a newer run's outbox is never touched by it. It goes with the
        outbox."""
        generation = outbox.generation or ""
        key = taken_key(subject, generation)
        mark = _outbox_item(region, admin, key, subject, taken_of=generation)
        self._client.put_item(TableName=self._table, Item=mark)
        return key

    @_aws_errors_unavailable
    def delete_outbox(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> bool:
        """Remove an outbox: the snapshot now holds what it said. The head goes first, and only
        if it is still this generation; False when it is not (a newer run's outbox, or a write
        refused as one): then its pieces and its mark stay with it."""
        head = f"{OUTBOX}{subject}"
        pk = {"pk": {"S": region_pk(region, admin)}}
        if head in outbox.keys:
            request: dict[str, Any] = {"TableName": self._table, "Key": {**pk, "sk": {"S": head}}}
            if outbox.generation is not None:
                request["ConditionExpression"] = "generation = :g"
                request["ExpressionAttributeValues"] = {":g": {"S": outbox.generation}}
            if not self._conditional(self._client.delete_item, **request):
                return False
        for key in outbox.keys:
            if key != head:
                self._client.delete_item(TableName=self._table, Key={**pk, "sk": {"S": key}})
        return True

    def _save(
        self,
        pk: str,
        prefix: str,
        before: dict[str, Fields],
        revisions: dict[int, int],
        after: dict[str, Fields],
    ) -> ChunkCommit:
        old_count = len(revisions)
        count = chunk_count(after, old_count)
        new_chunks = bucket(after, count)
        if count == old_count:
            old_chunks = bucket(before, count)
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
            "records": {"S": dump_chunk(records)},
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


def _outbox_item(region: str, admin: str, key: str, subject: str, **text: str) -> dict[str, Any]:
    """An item of `subject`'s outbox (its head, a piece, or its mark), with its text attributes."""
    return {
        "pk": {"S": region_pk(region, admin)},
        "sk": {"S": key},
        "subject": {"S": subject},
        **{name: {"S": value} for name, value in text.items()},
    }
