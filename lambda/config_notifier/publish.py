"""The SNS adapter: hand rendered messages to SNS and say which ones it accepted.

Each copy of a message is published once per rendering, to that rendering's topic, with
MessageStructure String (the default): the structure SNS delivers message attributes with, so
subscription filter policies select on them (docs/design.md, "AWS facts it relies on").

Only an accepted message lets its transitions into the snapshot (docs/design.md rule 2), so a
refusal is answered per message, as a PublishRefused that says whether SNS may have taken it all
the same, and never raised: delivery commits what SNS took and the rest goes again next run. A
message is accepted when every publish of it was; its refusal is certain only when every publish
of it surely delivered nothing.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError
from botocore.exceptions import EndpointConnectionError as CouldNotConnect

from config_notifier.errors import PublishRefused
from config_notifier.model import EVERYONE, Message, Rendering

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

MAX_BATCH_ENTRIES = 10
# A PublishBatch entry SNS failed on its side (SenderFault false) is published again in the same
# run, this many times, pausing a little longer each time.
ENTRY_RETRIES = 2
ENTRY_RETRY_PAUSE_S = 0.2
MAX_BATCH_BYTES = 256 * 1024  # the whole PublishBatch request, not each entry


def topic_suffix(rendering: Rendering, audience: str = EVERYONE) -> str:
    """What the stack names the topic of a rendering after `<stack name>-`: `text`, `json` and
    `chat`, and `chat-<route>` for the chat channels of a route."""
    if rendering is Rendering.CHAT and audience != EVERYONE:
        return f"{Rendering.CHAT.value}-{audience}"
    return rendering.value


@dataclass(frozen=True, slots=True)
class Topics:
    """Where each rendering goes. The text and JSON renderings of every audience go to one topic
    each, whose subscriptions' filter policies pick an audience; the chat rendering goes to a
    topic of the audience's own, because an AWS Chatbot channel receives everything published to
    its topics (docs/messages.md, "Topics")."""

    text: str
    json: str
    chat: Mapping[str, str] = field(default_factory=dict)  # audience -> topic ARN

    def of(self, rendering: Rendering, audience: str) -> str | None:
        if rendering is Rendering.TEXT:
            return self.text
        if rendering is Rendering.JSON:
            return self.json
        return self.chat.get(audience)

    @classmethod
    def named(cls, prefix: str, routes: Sequence[str]) -> Topics:
        """The topics whose ARNs are `prefix` and their `topic_suffix`."""
        return cls(
            prefix + topic_suffix(Rendering.TEXT),
            prefix + topic_suffix(Rendering.JSON),
            {a: prefix + topic_suffix(Rendering.CHAT, a) for a in (EVERYONE, *routes)},
        )

    @property
    def arns(self) -> list[str]:
        return [self.text, self.json, *self.chat.values()]


@dataclass(frozen=True, slots=True)
class _Publish:
    """One rendering of one copy of a message: what one Publish (or batch entry) sends."""

    message_index: int
    topic: str
    rendering: Rendering
    copy: Message

    @property
    def size(self) -> int:
        return self.copy.publish_size(self.rendering)


class Publisher:
    """Publishes each copy of a message to the topic of each rendering (MessageStructure
    String)."""

    def __init__(self, client: SNSClient, topics: Topics) -> None:
        self._client = client
        self._topics = topics
        # What each attempt of the current call came to, per thread (botocore retries inside
        # the call): only a call whose every attempt was refused surely delivered nothing.
        self._attempts = threading.local()
        self._watching = False
        self._lock = threading.Lock()

    def publish(self, messages: Sequence[Sequence[Message]]) -> list[PublishRefused | None]:
        """Publish every copy of every message in every rendering; returns, in order, None where
        SNS accepted all of a message's publishes, else its refusal."""
        self._watch_attempts()
        publishes = [
            _Publish(index, topic, rendering, copy)
            for index, copies in enumerate(messages)
            for copy in copies
            for rendering in Rendering
            if (topic := self._topics.of(rendering, copy.audience)) is not None
        ]
        results: list[PublishRefused | None] = [None] * len(publishes)
        todo = list(range(len(publishes)))
        for attempt in range(1 + ENTRY_RETRIES):
            if attempt:
                time.sleep(ENTRY_RETRY_PAUSE_S * attempt)
            answers = self._send([publishes[i] for i in todo])
            for i, (answer, _) in zip(todo, answers, strict=True):
                results[i] = _after(results[i], answer)
            # A batch entry SNS failed on its side is published again now: the message's other
            # copies may have been taken, and would otherwise all go again next run.
            todo = [i for i, (_, retryable) in zip(todo, answers, strict=True) if retryable]
            if not todo:
                break
        outcomes: list[list[PublishRefused | None]] = [[] for _ in messages]
        for publish, result in zip(publishes, results, strict=True):
            outcomes[publish.message_index].append(_about(publish, result))
        return [_answer(r) for r in outcomes]

    def _send(self, publishes: Sequence[_Publish]) -> list[tuple[PublishRefused | None, bool]]:
        """Each publish's answer, in order, and whether it is worth publishing again now (an
        entry a PublishBatch answer lists as failed by SNS, not by the sender)."""
        by_topic: dict[str, list[int]] = defaultdict(list)
        for position, publish in enumerate(publishes):
            by_topic[publish.topic].append(position)
        answers: list[tuple[PublishRefused | None, bool]] = [(None, False)] * len(publishes)
        for positions in by_topic.values():
            start = 0
            for batch in _batches([publishes[p] for p in positions]):
                results = (
                    [(self._publish_one(batch[0]), False)]
                    if len(batch) == 1
                    else self._publish_batch(batch)
                )
                end = start + len(batch)
                for position, result in zip(positions[start:end], results, strict=True):
                    answers[position] = result
                start = end
        return answers

    def _publish_one(self, publish: _Publish) -> PublishRefused | None:
        self._attempts.outcomes = []
        try:
            self._client.publish(TopicArn=publish.topic, **_entry(publish))
        except (ClientError, BotoCoreError) as exc:
            return _refused(str(exc), exc, certain=all(self._attempts.outcomes))
        return None

    def _publish_batch(self, batch: list[_Publish]) -> list[tuple[PublishRefused | None, bool]]:
        entries = [{"Id": f"m{n}", **_entry(publish)} for n, publish in enumerate(batch)]
        self._attempts.outcomes = []
        try:
            response = self._client.publish_batch(
                TopicArn=batch[0].topic,
                PublishBatchRequestEntries=entries,  # type: ignore[arg-type]
            )
        except (ClientError, BotoCoreError) as exc:
            certain = all(self._attempts.outcomes)
            refusal = _refused(f"PublishBatch failed: {exc}", exc, certain=certain)
            return [(refusal, False)] * len(batch)
        # An entry the answer lists as failed was not published by this attempt; an earlier
        # attempt may have published the whole batch unless each of them was refused.
        certain = all(self._attempts.outcomes[:-1])
        failed = {entry["Id"]: entry for entry in response.get("Failed", [])}
        succeeded = {entry["Id"] for entry in response.get("Successful", [])}
        results: list[tuple[PublishRefused | None, bool]] = []
        for n in range(len(batch)):
            entry_id = f"m{n}"
            if entry_id in succeeded:
                results.append((None, False))
            elif entry_id in failed:
                entry = failed[entry_id]
                reason = f"{entry.get('Code')}: {entry.get('Message')}"
                # SenderFault false: SNS's side failed it, so the same entry may go through now.
                retryable = not entry.get("SenderFault", True)
                results.append((PublishRefused(reason, certain=certain), retryable))
            else:
                results.append((PublishRefused("SNS did not report this entry"), False))
        return results

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


def _refused(reason: str, cause: BaseException | None, *, certain: bool) -> PublishRefused:
    """A refusal that keeps the botocore error it came from, as `raise ... from` would."""
    refusal = PublishRefused(reason, certain=certain)
    refusal.__cause__ = cause
    return refusal


def _about(publish: _Publish, result: PublishRefused | None) -> PublishRefused | None:
    """The refusal of one publish, saying which topic and copy it was."""
    if result is None:
        return None
    name = publish.topic.rsplit(":", 1)[-1]
    reason = f"{publish.rendering.value} topic {name} ({publish.copy.audience}): {result.reason}"
    return _refused(reason, result.__cause__, certain=result.certain)


def _after(before: PublishRefused | None, now: PublishRefused | None) -> PublishRefused | None:
    """One publish's answer after another attempt of it: taken if this one was; else refused,
    surely only if every attempt surely was."""
    if now is None or before is None:
        return now
    return _refused(now.reason, now.__cause__, certain=before.certain and now.certain)


def _answer(results: list[PublishRefused | None]) -> PublishRefused | None:
    """One message's answer from its publishes: accepted when every one was; a refusal, certain
    only when every one surely delivered nothing."""
    refusals = [r for r in results if r is not None]
    if not refusals:
        return None
    certain = len(refusals) == len(results) and all(r.certain for r in refusals)
    first = refusals[0]
    more = (
        f" (and {len(refusals) - 1} more of its {len(results)} publishes)"
        if len(refusals) > 1
        else ""
    )
    return _refused(first.reason + more, first.__cause__, certain=certain)


def _entry(publish: _Publish) -> dict[str, Any]:
    message = publish.copy
    return {
        "Subject": message.subject,
        "Message": message.body(publish.rendering),
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value}
            for name, value in message.sns_attributes.items()
        },
    }


def _batches(publishes: Sequence[_Publish]) -> Iterator[list[_Publish]]:
    """Groups of at most 10 publishes to one topic whose sizes add up to at most 256 KiB."""
    batch: list[_Publish] = []
    size = 0
    for publish in publishes:
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + publish.size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(publish)
        size += publish.size
    if batch:
        yield batch
