"""What the handler published, as its SNS client sent it and SNS accepted it.

A subscriber only ever sees the body SNS picks for its protocol, so no one queue can show the
email text, the Slack card and the JSON document of one message. The tap listens on the handler's
own SNS client (botocore events, in this process) and keeps each accepted message's parameters
exactly as the handler passed them to the client: every protocol's body, the subject and the
attributes. Nothing is rendered again; SNS's MessageId ties each record to what a queue received.

(moto server's /moto-api/data.json lists what each topic was sent, but answers HTTP 500 once the
stack's Lambda function exists: it reads every attribute of every model, and one of the
function's asks for docker, which is not here.)
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3.session
from botocore.hooks import BaseEventHooks

_OPERATIONS = ("Publish", "PublishBatch")
# Where a call's parameters wait for its response: botocore hands both events the same dict.
_CONTEXT_KEY = "demo_tap_params"


@dataclass(frozen=True)
class Published:
    """One message SNS accepted: the Publish (or PublishBatch entry) parameters as sent."""

    message_id: str
    topic_arn: str
    subject: str
    message: str  # the Message parameter: with MessageStructure=json, one body per protocol
    attributes: dict[str, str]

    @property
    def bodies(self) -> dict[str, str]:
        """Protocol -> body, as SNS picks them: the protocol's own key, else "default"."""
        bodies: dict[str, str] = json.loads(self.message)
        return bodies

    def body_for(self, protocol: str) -> str:
        bodies = self.bodies
        return bodies.get(protocol, bodies["default"])


class PublishTap:
    """Collects what every SNS client created while `installed()` is active publishes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the handler publishes from its worker threads
        self._published: list[Published] = []

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

    def take(self) -> list[Published]:
        """What was accepted since the last call, in the order SNS answered."""
        with self._lock:
            taken, self._published = self._published, []
        return taken

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
            Published(
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
