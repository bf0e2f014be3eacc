"""Counts what the handler's own boto3 clients do: DynamoDB capacity and SNS publishes.

The handler creates its clients from `boto3.session.Session`; the benchmark swaps in a subclass
that registers botocore event hooks on each client it makes. The product code is unchanged.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass
from typing import Any

import boto3


@dataclass
class Counts:
    dynamodb_queries: int = 0
    dynamodb_items_read: int = 0
    dynamodb_rcu: float = 0.0
    dynamodb_puts: int = 0
    dynamodb_deletes: int = 0
    dynamodb_wcu: float = 0.0
    sns_publish_requests: int = 0
    sns_messages: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COUNTS = Counts()
_LOCK = threading.Lock()


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers about half their digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += len(value["N"]) // 2 + 1
        else:
            size += len(str(value).encode())
    return size


def _on_put(params: dict[str, Any], **_: Any) -> None:
    with _LOCK:
        COUNTS.dynamodb_puts += 1
        # A write costs one unit per KB of the item written.
        COUNTS.dynamodb_wcu += math.ceil(item_size(params["Item"]) / 1024)


def _on_delete(params: dict[str, Any], **_: Any) -> None:
    with _LOCK:
        COUNTS.dynamodb_deletes += 1
        COUNTS.dynamodb_wcu += 1  # at least one unit; the deleted item's size is not sent


def _on_query(parsed: dict[str, Any], **_: Any) -> None:
    size = sum(item_size(item) for item in parsed.get("Items", []))
    with _LOCK:
        COUNTS.dynamodb_queries += 1
        COUNTS.dynamodb_items_read += len(parsed.get("Items", []))
        # Strongly consistent: one unit per 4 KB read, rounded up per request.
        COUNTS.dynamodb_rcu += max(math.ceil(size / 4096), 1)


def _on_publish(params: dict[str, Any], **_: Any) -> None:
    with _LOCK:
        COUNTS.sns_publish_requests += 1
        COUNTS.sns_messages += 1


def _on_publish_batch(params: dict[str, Any], **_: Any) -> None:
    with _LOCK:
        COUNTS.sns_publish_requests += 1
        COUNTS.sns_messages += len(params["PublishBatchRequestEntries"])


class CountingSession(boto3.session.Session):
    def client(self, *args: Any, **kwargs: Any) -> Any:
        client = super().client(*args, **kwargs)
        events = client.meta.events
        events.register("before-parameter-build.dynamodb.PutItem", _on_put)
        events.register("before-parameter-build.dynamodb.DeleteItem", _on_delete)
        events.register("after-call.dynamodb.Query", _on_query)
        events.register("before-parameter-build.sns.Publish", _on_publish)
        events.register("before-parameter-build.sns.PublishBatch", _on_publish_batch)
        return client


def install() -> None:
    """Make every Session the handler creates a counting one."""
    boto3.session.Session = CountingSession  # type: ignore[misc]


def reset() -> None:
    global COUNTS  # noqa: PLW0603 - one run's counts, replaced between runs
    with _LOCK:
        COUNTS = Counts()


def snapshot() -> dict[str, Any]:
    with _LOCK:
        return COUNTS.as_dict()
