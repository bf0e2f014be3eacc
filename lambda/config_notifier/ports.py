"""What a run needs of the world, as small protocols (docs/design.md, "Ports").

The run's steps depend on these, not on boto3: the DynamoDB, SNS and EventBridge adapters
(snapshot.SnapshotStore, publish.Publisher, events.EventPublisher) implement them for Lambda, and
the unit tests implement them in memory. Each raises only the project's own errors (errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from config_notifier.accounts import Names
from config_notifier.errors import PublishRefused
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

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient


class SnapshotPort(Protocol):
    """The snapshot: what subscribers were last told, and what may have been told since.

    Every method raises SnapshotUnavailable when the store cannot be read or written.
    """

    def load_region(self, region: str, admin: str = "") -> RegionSnapshot: ...

    def save_region(
        self, region: str, before: Chunked, after: Mapping[EntityId, Record], admin: str = ""
    ) -> ChunkCommit: ...

    def load_members(self, parent: EntityId) -> Chunked: ...

    def save_members(
        self, parent: EntityId, before: Chunked, after: Mapping[EntityId, Record]
    ) -> ChunkCommit: ...

    def mark_baselined(self, region: str, source: str, at: str, admin: str = "") -> None: ...

    def put_outbox(self, region: str, write: OutboxWrite, admin: str = "") -> tuple[str, ...]:
        """The keys written; raises OutboxTaken when another run wrote it since it was loaded."""
        ...

    def mark_taken(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> str:
        """Mark that SNS took every message of `outbox`'s generation; the key written."""
        ...

    def delete_outbox(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> bool:
        """False when a newer generation's head stands (then nothing of it is removed)."""
        ...

    def mark_reminded(self, region: str, reminded: Reminded, admin: str = "") -> None: ...


class PublisherPort(Protocol):
    """The topics people subscribe to."""

    def publish(self, messages: Sequence[Sequence[Message]]) -> list[PublishRefused | None]:
        """Each message as its copies, one per audience; in order: None where every copy of the
        message was accepted, else its refusal (never raised)."""
        ...


class EventPort(Protocol):
    """The event bus, with an outbox for what it did not take."""

    def put(
        self, entries: Sequence[Entry], now: str, region: str, admin: str = ""
    ) -> PutResult: ...

    def retry_pending(self, now: datetime) -> PutResult: ...

    def clear_markers(self, regions: Sequence[str | tuple[str, str]]) -> None:
        """Raises EventsUnavailable when the markers cannot be cleared."""
        ...


class NamesPort(Protocol):
    """Account names for messages; a courtesy that never raises."""

    def load(self, now: datetime) -> Names: ...


class AdminAccess(Protocol):
    """Config as one delegated administrator account sees it (delegated.DelegatedAdmin)."""

    @property
    def account(self) -> str: ...

    def check(self) -> None:
        """Raises AdminUnreachable when the account cannot be reached."""
        ...

    def config_client(self, region: str) -> ConfigServiceClient: ...
