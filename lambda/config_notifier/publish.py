"""Step 4b, publish: hand rendered messages to SNS and say which ones it accepted.

Only an accepted message lets its transitions into the snapshot (DESIGN rule 2), so every failure
here is reported per message and never raised: the caller commits what was delivered and the rest
is published again next run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

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

    def publish(self, messages: Sequence[Message]) -> list[str | None]:
        """Publish every message; returns, in order, None where SNS accepted one, else why not."""
        outcome: list[str | None] = ["not published"] * len(messages)
        for batch in _batches(messages):
            if len(batch) == 1:
                index, message = batch[0]
                outcome[index] = self._publish_one(message)
            else:
                for index, error in self._publish_batch(batch):
                    outcome[index] = error
        return outcome

    def _publish_one(self, message: Message) -> str | None:
        try:
            self._client.publish(TopicArn=self._topic_arn, **_entry(message))
        except (ClientError, BotoCoreError) as exc:
            return str(exc)
        return None

    def _publish_batch(self, batch: list[tuple[int, Message]]) -> Iterator[tuple[int, str | None]]:
        entries = [{"Id": f"m{index}", **_entry(message)} for index, message in batch]
        try:
            response = self._client.publish_batch(
                TopicArn=self._topic_arn,
                PublishBatchRequestEntries=entries,  # type: ignore[arg-type]
            )
        except (ClientError, BotoCoreError) as exc:
            for index, _ in batch:
                yield index, f"PublishBatch failed: {exc}"
            return
        failed = {
            entry["Id"]: f"{entry.get('Code')}: {entry.get('Message')}"
            for entry in response.get("Failed", [])
        }
        succeeded = {entry["Id"] for entry in response.get("Successful", [])}
        for index, _ in batch:
            entry_id = f"m{index}"
            if entry_id in succeeded:
                yield index, None
            else:
                yield index, failed.get(entry_id, "SNS did not report this entry")


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
