"""What the handler published, as its SNS client sent it and SNS accepted it.

Each rendering of a message goes to a topic of its own, and a subscriber sees only its topic's, so
no one queue can show the email text, the Slack card and the JSON document of one message. The
tap listens on the handler's own SNS client (botocore events, in this process) and keeps each
accepted publish's parameters exactly as the handler passed them to the client: its topic, body,
subject and attributes; `take` puts the renderings of each copy of a message back together.
Nothing is rendered again; SNS's MessageId of each publish ties it to what a queue received.

(moto server's /moto-api/data.json lists what each topic was sent, but answers HTTP 500 once the
stack's Lambda function exists: it reads every attribute of every model, and one of the
function's asks for docker, which is not here.)
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3.session
from botocore.hooks import BaseEventHooks

from config_notifier.model import AUDIENCE_ATTRIBUTE, EVERYONE, Rendering
from config_notifier.publish import Topics

_OPERATIONS = ("Publish", "PublishBatch")
# Where a call's parameters wait for its response: botocore hands both events the same dict.
_CONTEXT_KEY = "demo_tap_params"


@dataclass(frozen=True)
class _Publish:
    """One publish SNS accepted: the Publish (or PublishBatch entry) parameters as sent."""

    message_id: str
    topic_arn: str
    subject: str
    message: str
    attributes: dict[str, str]

    @property
    def copy_key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """What the renderings of one copy of a message share (one tick's copies differ in it)."""
        return self.subject, tuple(sorted(self.attributes.items()))


@dataclass(frozen=True)
class Published:
    """One copy of a message SNS accepted in every rendering: each body, and the MessageId SNS
    gave each publish."""

    subject: str
    attributes: dict[str, str]
    bodies: dict[Rendering, str] = field(default_factory=dict)
    message_ids: dict[Rendering, str] = field(default_factory=dict)

    @property
    def audience(self) -> str:
        return self.attributes.get(AUDIENCE_ATTRIBUTE, EVERYONE)

    @property
    def message_id(self) -> str:
        """The MessageId of its JSON document: what the SQS subscriber received."""
        return self.message_ids[Rendering.JSON]


class PublishTap:
    """Collects what every SNS client created while `installed()` is active publishes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the handler publishes from its worker threads
        self._published: list[_Publish] = []

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Every boto3 session created inside (the handler creates its own) carries the tap.

        The handler builds its clients from `boto3.session.Session()`; swapping the class for
        one that registers the tap is the one way in without touching the handler's code.
        """
        tap = self

        class TappedSession(boto3.session.Session):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                tap.attach(self.events)

        with mock.patch.object(boto3.session, "Session", TappedSession):
            yield

    def attach(self, events: BaseEventHooks) -> None:
        for operation in _OPERATIONS:
            events.register(f"before-parameter-build.sns.{operation}", self._before)
            events.register(f"after-call.sns.{operation}", self._after)

    def take(self, topics: Topics) -> list[Published]:
        """Each copy of a message accepted since the last call, put together from its publishes
        to `topics`, in the order SNS first answered for it."""
        with self._lock:
            taken, self._published = self._published, []
        renderings = {topics.text: Rendering.TEXT, topics.json: Rendering.JSON}
        renderings |= dict.fromkeys(topics.chat.values(), Rendering.CHAT)
        copies: dict[Any, Published] = {}
        for publish in taken:
            rendering = renderings.get(publish.topic_arn)
            if rendering is None:
                continue  # another topic's (the alarms')
            found = copies.setdefault(
                publish.copy_key, Published(publish.subject, publish.attributes)
            )
            found.bodies[rendering] = publish.message
            found.message_ids[rendering] = publish.message_id
        return list(copies.values())

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_CONTEXT_KEY] = copy.deepcopy(params)

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], model: Any, **_: Any) -> None:
        params = context.pop(_CONTEXT_KEY, None)
        if params is None:
            return
        if model.name == "Publish":
            accepted = [(params, parsed.get("MessageId"))]
        else:
            ids = {e["Id"]: e["MessageId"] for e in parsed.get("Successful", [])}
            accepted = [(e, ids.get(e["Id"])) for e in params["PublishBatchRequestEntries"]]
        records = [
            _Publish(
                message_id=message_id,
                topic_arn=params["TopicArn"],
                subject=entry.get("Subject", ""),
                message=entry["Message"],
                attributes={
                    name: value["StringValue"]
                    for name, value in entry.get("MessageAttributes", {}).items()
                },
            )
            for entry, message_id in accepted
            if message_id  # refused by SNS: nobody received it
        ]
        with self._lock:
            self._published.extend(records)
