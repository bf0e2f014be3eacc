"""Step 4b, publish: hand rendered messages to SNS and say which ones it accepted.

Only an accepted message lets its transitions into the snapshot (DESIGN rule 2), so every failure
here is reported per message and never raised: the caller commits what was delivered and the rest
is published again next run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError
from botocore.exceptions import EndpointConnectionError as CouldNotConnect

from config_notifier.model import Message

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024  # the whole PublishBatch request, not each entry


class Refusal(str):
    """Why SNS did not take a message. `certain` when no attempt can have delivered it: every
    request was refused with a 4xx answer (throttled, invalid, denied) or never reached SNS.
    Otherwise (a 5xx answer, a connection lost after sending) SNS may have taken it."""

    certain: bool

    def __new__(cls, reason: str, *, certain: bool = False) -> Refusal:
        refusal = super().__new__(cls, reason)
        refusal.certain = certain
        return refusal


def certainly_refused(error: str | None) -> bool:
    """True for a publish SNS certainly did not deliver (see Refusal)."""
    return isinstance(error, Refusal) and error.certain


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

    def publish(self, messages: Sequence[Message]) -> list[str | None]:
        """Publish every message; returns, in order, None where SNS accepted one, else why not
        (a Refusal, which says whether SNS may have taken it all the same)."""
        self._watch_attempts()
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
        self._attempts.outcomes = []
        try:
            self._client.publish(TopicArn=self._topic_arn, **_entry(message))
        except (ClientError, BotoCoreError) as exc:
            return Refusal(str(exc), certain=all(self._attempts.outcomes))
        return None

    def _publish_batch(self, batch: list[tuple[int, Message]]) -> Iterator[tuple[int, str | None]]:
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
                yield index, Refusal(f"PublishBatch failed: {exc}", certain=certain)
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
                yield index, Refusal(failed[entry_id], certain=certain)
            else:
                yield index, Refusal("SNS did not report this entry")

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
