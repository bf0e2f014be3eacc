"""Events: every delivered transition also goes to an EventBridge bus, for any target.

One event per transition (and per stuck report), so a rule can match on a single account, status
or severity. Source `config-deployment-notifier`; detail-type `Config Deployment Transition` or
`Config Deployment Stuck`; the detail is versioned (`schema`, `version`) and documented in
docs/messages.md. `event_entries` is pure; `EventPublisher` and `EventOutbox` are the adapters.

SNS stays the delivery that lets a transition into the snapshot (docs/design.md rule 2): an
event that EventBridge refused, or a PutEvents call that failed, must neither undo that delivery
nor vanish. It is written to an outbox in the snapshot table before the transition is committed,
and the next run puts it again. An event that still fails after OUTBOX_MAX_AGE is dropped, with
an error log and the EventsDropped metric.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from config_notifier.errors import EventsUnavailable
from config_notifier.model import Group, Severity, Status, Transition
from config_notifier.stored import region_pk
from config_notifier.wording import Context, deployment_doc

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient

SOURCE = "config-deployment-notifier"
DETAIL_TYPE_TRANSITION = "Config Deployment Transition"
DETAIL_TYPE_STUCK = "Config Deployment Stuck"
EVENT_SCHEMA = "config-deployment-notifier.event"
EVENT_SCHEMA_VERSION = 1
MAX_ENTRIES = 10  # PutEvents takes at most 10 entries
MAX_REQUEST_BYTES = 256 * 1024  # and at most 256 KiB of them
ERROR_MESSAGE_CHARS = 4_000
OUTBOX_PARTITION = "EVENTS#pending"
# Kept in a region's snapshot partition while its events wait, so the query a run makes anyway
# tells it whether to read the event outbox: a run with nothing waiting reads nothing more.
PENDING_MARKER = "#events-pending"
OUTBOX_MAX_AGE = timedelta(hours=24)

Entry = dict[str, Any]  # a PutEvents request entry, without EventBusName


def event_entries(group: Group, context: Context) -> list[Entry]:
    """One PutEvents entry per transition and stuck report of a published message."""
    base = deployment_doc(EVENT_SCHEMA, EVENT_SCHEMA_VERSION, group, context)
    entries = [
        _entry(DETAIL_TYPE_TRANSITION, base | _transition(t, context)) for t in group.transitions
    ]
    for s in group.stuck:
        detail = base | {
            "entity_kind": s.entity.kind.value,
            "account_id": s.entity.account_id or None,
            "account_name": context.account_names.get(s.entity.account_id),
            "severity": Severity.STUCK.value,
            "status": _status(s.status),
            "since": s.since,
            "members_finished": s.members_finished if not s.entity.account_id else None,
            "member_statuses": dict(s.member_statuses) if not s.entity.account_id else None,
        }
        entries.append(_entry(DETAIL_TYPE_STUCK, detail))
    return entries


def _transition(t: Transition, context: Context) -> dict[str, Any]:
    return {
        "entity_kind": t.entity.kind.value,
        "account_id": t.entity.account_id or None,
        "account_name": context.account_names.get(t.entity.account_id),
        "change": t.change.value,
        "severity": t.severity.value,
        "old": _status(t.old),
        "new": _status(t.new),
    }


def _status(status: Status | None) -> dict[str, Any] | None:
    if status is None:
        return None
    message = status.error_message
    if message and len(message) > ERROR_MESSAGE_CHARS:
        message = message[:ERROR_MESSAGE_CHARS] + " [cut]"
    return {
        "status": status.status,
        "error_code": status.error_code,
        "error_message": message,
        "updated_at": status.updated_at,
    }


def _entry(detail_type: str, detail: dict[str, Any]) -> Entry:
    return {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, separators=(",", ":")),
    }


def _size(entry: Entry) -> int:
    """What EventBridge counts against the 256 KiB of a PutEvents request."""
    return sum(len(entry[k].encode()) for k in ("Source", "DetailType", "Detail"))


@dataclass(frozen=True, slots=True)
class PutResult:
    put: int = 0
    failed: int = 0  # kept in the outbox for the next run
    dropped: int = 0  # neither put nor kept: logged and counted by the caller
    errors: tuple[str, ...] = ()
    cleared: bool = False  # a retry left nothing in the outbox


class EventOutbox:
    """Events EventBridge did not take, kept in the snapshot table until a run puts them."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def keep(self, entries: Sequence[Entry], now: str, region: str, admin: str = "") -> None:
        if not entries:
            return
        # The marker first: entries kept without it would wait for another region's marker.
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": region_pk(region, admin)},
                "sk": {"S": PENDING_MARKER},
                "at": {"S": now},
            },
        )
        for entry in entries:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": OUTBOX_PARTITION},
                    "sk": {"S": f"{now}#{uuid.uuid4().hex}"},
                    "entry": {"S": json.dumps(entry)},
                },
            )

    def pending(self) -> list[tuple[str, Entry]]:
        """Every kept event with its key, oldest first."""
        found: list[tuple[str, Entry]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": OUTBOX_PARTITION}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            found += [(i["sk"]["S"], json.loads(i["entry"]["S"])) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def clear_marker(self, region: str, admin: str = "") -> None:
        """The region (of `admin`) has no events waiting any more."""
        self._client.delete_item(
            TableName=self._table,
            Key={"pk": {"S": region_pk(region, admin)}, "sk": {"S": PENDING_MARKER}},
        )

    def remove(self, key: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key={"pk": {"S": OUTBOX_PARTITION}, "sk": {"S": key}}
        )


class EventPublisher:
    """Puts events on one bus; what EventBridge refuses goes to the outbox, never lost silently."""

    def __init__(self, client: EventBridgeClient, bus_name: str, outbox: EventOutbox) -> None:
        self._client = client
        self._bus = bus_name
        self._outbox = outbox

    def put(self, entries: Sequence[Entry], now: str, region: str, admin: str = "") -> PutResult:
        """Put `entries` (of `region`'s messages, deployed by `admin`); each one EventBridge did
        not accept is kept for the next run."""
        refused, errors = self._put(entries)
        try:
            self._outbox.keep([entries[i] for i in refused], now, region, admin)
        except (ClientError, BotoCoreError) as exc:
            errors.append(f"could not keep {len(refused)} events for the next run: {exc}")
            return PutResult(len(entries) - len(refused), 0, len(refused), tuple(errors))
        return PutResult(len(entries) - len(refused), len(refused), 0, tuple(errors))

    def retry_pending(self, now: datetime) -> PutResult:
        """Put the events earlier runs could not; drop those older than OUTBOX_MAX_AGE."""
        try:
            pending = self._outbox.pending()
        except (ClientError, BotoCoreError) as exc:
            return PutResult(errors=(f"could not read the event outbox: {exc}",))
        fresh: list[tuple[str, Entry]] = []
        stale: list[tuple[str, Entry]] = []
        for key, entry in pending:
            kept_at = datetime.fromisoformat(key.split("#", 1)[0])
            (stale if now - kept_at > OUTBOX_MAX_AGE else fresh).append((key, entry))
        refused, errors = self._put([entry for _, entry in fresh])
        put = 0
        try:
            for index, (key, _) in enumerate(fresh):
                if index not in refused:
                    self._outbox.remove(key)
                    put += 1
            for key, entry in stale:
                errors.append(f"dropped after {OUTBOX_MAX_AGE}: {entry.get('Detail', '')[:300]}")
                self._outbox.remove(key)
        except (ClientError, BotoCoreError) as exc:
            # Left in the outbox: put again next run (at least once, as with SNS).
            errors.append(f"could not clear the event outbox: {exc}")
            return PutResult(put, len(refused), len(stale), tuple(errors))
        cleared = not refused and put + len(stale) == len(pending)
        return PutResult(put, len(refused), len(stale), tuple(errors), cleared=cleared)

    def clear_markers(self, regions: Sequence[str | tuple[str, str]]) -> None:
        """Clear the markers of `regions`: names, or (region, delegated administrator) pairs."""
        try:
            for region in regions:
                name, admin = (region, "") if isinstance(region, str) else region
                self._outbox.clear_marker(name, admin)
        except (ClientError, BotoCoreError) as exc:
            raise EventsUnavailable(f"could not clear the event outbox markers: {exc}") from exc

    def _put(self, entries: Sequence[Entry]) -> tuple[set[int], list[str]]:
        """The indexes of the entries EventBridge did not accept, and why."""
        refused: set[int] = set()
        errors: list[str] = []
        for batch in _batches(entries):
            request = [{**entries[i], "EventBusName": self._bus} for i in batch]
            try:
                response = self._client.put_events(Entries=request)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                refused.update(batch)
                errors.append(f"PutEvents failed: {exc}")
                continue
            # The response's entries are in the request's order; a failed one has an ErrorCode.
            results = response.get("Entries", [])
            for position, index in enumerate(batch):
                result = results[position] if position < len(results) else {}
                if "EventId" not in result or result.get("ErrorCode"):
                    refused.add(index)
                    errors.append(
                        f"{result.get('ErrorCode', 'NoResult')}: {result.get('ErrorMessage', '')}"
                    )
        return refused, errors


def _batches(entries: Sequence[Entry]) -> Iterator[list[int]]:
    """Indexes of at most 10 entries whose sizes add up to at most 256 KiB."""
    batch: list[int] = []
    size = 0
    for index, entry in enumerate(entries):
        entry_size = _size(entry)
        if batch and (len(batch) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += entry_size
    if batch:
        yield batch
