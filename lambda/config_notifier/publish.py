"""The SNS adapter: hand rendered messages to SNS and say which ones it accepted.

Only an accepted message lets its transitions into the snapshot (docs/design.md rule 2), so a
refusal is answered per message, as a PublishRefused that says whether SNS may have taken it all
the same, and never raised: delivery commits what SNS took and the rest goes again next run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError
from botocore.exceptions import EndpointConnectionError as CouldNotConnect

from config_notifier.errors import PublishRefused
from config_notifier.model import Message

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024  # the whole PublishBatch request, not each entry


class Publisher:
    """Publishes to one SNS topic with MessageStructure=json."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn
        # What each attempt of the current call came to, per thread (botocore retries inside
        # the call): only a call whose every attempt was refused surely delivered nothing.
        self._attempts = threading.local()
        self._watching = False
        self._lock = threading.Lock()

    def publish(self, messages: Sequence[Message]) -> list[PublishRefused | None]:
        """Publish every message; returns, in order, None where SNS accepted one, else its
        refusal."""
        self._watch_attempts()
        outcome: list[PublishRefused | None] = [PublishRefused("not published")] * len(messages)
        for batch in _batches(messages):
            if len(batch) == 1:
                index, message = batch[0]
                outcome[index] = self._publish_one(message)
            else:
                for index, error in self._publish_batch(batch):
                    outcome[index] = error
        return outcome

    def _publish_one(self, message: Message) -> PublishRefused | None:
        self._attempts.outcomes = []
        try:
            self._client.publish(TopicArn=self._topic_arn, **_entry(message))
        except (ClientError, BotoCoreError) as exc:
            return _refused(str(exc), exc, certain=all(self._attempts.outcomes))
        return None

    def _publish_batch(
        self, batch: list[tuple[int, Message]]
    ) -> Iterator[tuple[int, PublishRefused | None]]:
        entries = [{"Id": f"m{index}", **_entry(message)} for index, message in batch]
        self._attempts.outcomes = []
        try:
            response = self._client.publish_batch(
                TopicArn=self._topic_arn,
                PublishBatchRequestEntries=entries,  # type: ignore[arg-type]
            )
        except (ClientError, BotoCoreError) as exc:
            certain = all(self._attempts.outcomes)
            for index, _ in batch:
                yield index, _refused(f"PublishBatch failed: {exc}", exc, certain=certain)
            return
        # An entry the answer lists as failed was not published by this attempt; an earlier
        # attempt may have published the whole batch unless each of them was refused.
        certain = all(self._attempts.outcomes[:-1])
        failed = {
            entry["Id"]: f"{entry.get('Code')}: {entry.get('Message')}"
            for entry in response.get("Failed", [])
        }
        succeeded = {entry["Id"] for entry in response.get("Successful", [])}
        for index, _ in batch:
            entry_id = f"m{index}"
            if entry_id in succeeded:
                yield index, None
            elif entry_id in failed:
                yield index, PublishRefused(failed[entry_id], certain=certain)
            else:
                yield index, PublishRefused("SNS did not report this entry")

    def _watch_attempts(self) -> None:
        # On the first publish: the client is made when first used, and most runs publish
        # nothing.
        with self._lock:
            if not self._watching:
                self._client.meta.events.register("needs-retry.sns", self._on_attempt)
                self._watching = True

    def _on_attempt(
        self,
        response: tuple[Any, Any] | None = None,
        caught_exception: Exception | None = None,
        **_: Any,
    ) -> None:
        """botocore's hook after each attempt of a call: records whether SNS surely did not take
        it (a 4xx answer, or no connection at all)."""
        if caught_exception is not None:
            refused = isinstance(caught_exception, CouldNotConnect | ConnectTimeoutError)
        else:
            status = response[0].status_code if response is not None else 0
            refused = 400 <= status < 500
        outcomes = getattr(self._attempts, "outcomes", None)
        if outcomes is not None:
            outcomes.append(refused)
        # None: this hook never asks botocore to retry; its retry handler decides.


def _refused(reason: str, cause: Exception, *, certain: bool) -> PublishRefused:
    """A refusal that keeps the botocore error it came from, as `raise ... from` would."""
    refusal = PublishRefused(reason, certain=certain)
    refusal.__cause__ = cause
    return refusal


def _entry(message: Message) -> dict[str, Any]:
    return {
        "Subject": message.subject,
        "Message": json.dumps(message.bodies),
        "MessageStructure": "json",
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value}
            for name, value in message.attributes.items()
        },
    }


def _batches(messages: Sequence[Message]) -> Iterator[list[tuple[int, Message]]]:
    """Groups of at most 10 messages whose sizes add up to at most 256 KiB."""
    batch: list[tuple[int, Message]] = []
    size = 0
    for index, message in enumerate(messages):
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + message.size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((index, message))
        size += message.size
    if batch:
        yield batch
