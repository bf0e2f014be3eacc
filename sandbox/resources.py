"""The notifier's own resources, made in moto the way the CDK app makes them in AWS, and what a
subscriber of its topics receives.

moto's CloudFormation skips AWS::SNS::Subscription, so every tool subscribes its own SQS queues:
`new_subscriber_queue` (with `audience_filter`, as the stack's subscriptions select an audience),
then `received` (or `drain`) to read what SNS delivered to one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config_notifier.model import Severity
from infra.filters import subscription_filter


def create_snapshot_table(dynamodb: Any, name: str) -> None:
    """The snapshot table: `pk`/`sk` strings, on demand, as infra/ defines it."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def queue_arn(sqs: Any, queue_url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return arn


def subscribe_queue(
    sns: Any, sqs: Any, topic_arn: str, queue_url: str, attributes: dict[str, str] | None = None
) -> None:
    """Subscribe an SQS queue to the topic, as an `sqs` subscriber of the product would be
    (`attributes`: the subscription's, e.g. a FilterPolicy)."""
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, queue_url),
        Attributes=attributes or {},
    )


def new_subscriber_queue(
    sns: Any, sqs: Any, topic_arn: str, name: str, attributes: dict[str, str] | None = None
) -> str:
    """A new queue named `name`, subscribed to the topic; its URL."""
    queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    subscribe_queue(sns, sqs, topic_arn, queue_url, attributes)
    return queue_url


def audience_filter(audience: str, severities: Sequence[Severity] | None = None) -> dict[str, str]:
    """Subscription attributes whose filter policy selects one audience's copies (and of those
    only `severities`), the policy the stack writes for its subscribers."""
    return {"FilterPolicy": json.dumps(subscription_filter(audience, severities))}


def drain(sqs: Any, queue_url: str) -> list[str]:
    """Every message body the queue holds now, oldest first; each is deleted once read.

    SNS delivers to SQS before Publish returns, so what a run published is there when it ends.
    """
    bodies: list[str] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        for message in batch:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


@dataclass(frozen=True)
class Delivery:
    """One message as an SQS subscriber of a topic receives it: SNS's JSON envelope (not raw
    delivery) around the body published to that topic (the JSON document on the json topic,
    the email text on the text topic)."""

    message_id: str
    subject: str
    message: str  # the body, as published
    attributes: dict[str, str]

    @classmethod
    def parse(cls, body: str) -> Delivery:
        envelope = json.loads(body)
        return cls(
            message_id=envelope["MessageId"],
            subject=envelope.get("Subject", ""),
            message=envelope["Message"],
            attributes={k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
        )

    @property
    def document(self) -> dict[str, Any]:
        """The body's JSON document (what the json topic carries)."""
        document: dict[str, Any] = json.loads(self.message)
        return document

    @property
    def size(self) -> int:
        """Bytes of the SNS message as published."""
        return len(self.message.encode())

    @property
    def is_transition(self) -> bool:
        return self.attributes.get("event_type") == "transition"

    @property
    def groups(self) -> list[dict[str, Any]]:
        """The rules and packs (each in one region) the message is about: a notice lists them;
        a message about one is its own."""
        document = self.document
        groups: list[dict[str, Any]] = document.get("groups", [document])
        return groups

    @property
    def transitions(self) -> list[dict[str, Any]]:
        """Every transition the message lists, whatever its shape."""
        return [t for group in self.groups for t in group["transitions"]]

    @property
    def accounts(self) -> list[str]:
        """The member accounts the message's transitions name, each once, in order."""
        return list(dict.fromkeys(t["account_id"] for t in self.transitions if t["account_id"]))


def received(sqs: Any, queue_url: str) -> list[Delivery]:
    """Everything the subscriber's queue got since the last call, oldest first."""
    return [Delivery.parse(body) for body in drain(sqs, queue_url)]
