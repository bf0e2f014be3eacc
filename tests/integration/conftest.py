"""A deployed notifier in the sandbox: table, topic, a queue subscribed to it, and the real handler."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

import boto3
import pytest

from config_notifier import handler
from sandbox.lambda_runtime import frozen_clock
from sandbox.resources import create_snapshot_table, subscribe_queue

REGIONS = ("us-east-1", "eu-west-1")


@dataclass(frozen=True)
class FakeContext:
    """What Lambda hands the handler; Powertools reads these fields."""

    function_name: str = "config-deployment-notifier"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:111111111111:function:config-deployment-notifier"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass(frozen=True)
class Delivery:
    """One message as an SQS subscriber of the topic receives it."""

    subject: str
    attributes: dict[str, str]
    document: dict[str, Any]

    @property
    def accounts(self) -> list[str]:
        return [t["account_id"] for t in self.document["transitions"] if t["account_id"]]


@dataclass
class Notifier:
    """The notifier's resources in moto and a way to run its real handler against them."""

    env: dict[str, str]
    queue_url: str
    sns: Any
    sqs: Any
    ticks: int = 0

    def run(self, now: datetime | None = None, **overrides: str) -> dict[str, Any]:
        """One schedule tick: the real handler, in-process, with the function's environment.

        `now` sets the clock the handler reads, so a test can let hours pass between ticks.
        """
        self.ticks += 1
        clock = mock.patch.object(handler, "datetime", frozen_clock(now)) if now else nullcontext()
        with mock.patch.dict(os.environ, {**self.env, **overrides}), clock:
            handler.settings.cache_clear()
            handler.dependencies.cache_clear()
            try:
                summary: dict[str, Any] = handler.lambda_handler(
                    {"id": f"tick-{self.ticks}", "detail-type": "Scheduled Event"}, FakeContext()
                )
                return summary
            finally:
                handler.settings.cache_clear()
                handler.dependencies.cache_clear()

    def received(self) -> list[Delivery]:
        """Everything the queue got since the last call, oldest first."""
        deliveries: list[Delivery] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return deliveries
            for message in batch:
                envelope = json.loads(message["Body"])
                deliveries.append(
                    Delivery(
                        subject=envelope.get("Subject", ""),
                        attributes={
                            k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
                        },
                        document=json.loads(envelope["Message"]),
                    )
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def transitions(self) -> list[Delivery]:
        return [d for d in self.received() if d.attributes.get("event_type") == "transition"]

    def break_topic(self) -> None:
        """Make the next publishes fail for real: the topic is gone (SNS answers NotFound)."""
        self.sns.delete_topic(TopicArn=self.env["TOPIC_ARN"])

    def repair_topic(self) -> None:
        name = self.env["TOPIC_ARN"].rsplit(":", 1)[1]
        arn = self.sns.create_topic(Name=name)["TopicArn"]
        assert arn == self.env["TOPIC_ARN"]
        subscribe_queue(self.sns, self.sqs, arn, self.queue_url)


@pytest.fixture
def notifier(sandbox_env: dict[str, str], config_sim: Any) -> Iterator[Notifier]:
    """A freshly deployed notifier (its own table, topic and queue) watching two regions."""
    suffix = uuid.uuid4().hex[:8]
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    table = f"snapshot-{suffix}"
    create_snapshot_table(dynamodb, table)
    topic_arn = sns.create_topic(Name=f"deployments-{suffix}")["TopicArn"]
    # A bus of its own, so tests do not see each other's events (and moto's default bus may hold
    # a deployed stack's schedule rule, which moto wrongly hands custom events to).
    events = boto3.client("events", region_name="us-east-1")
    bus = events.create_event_bus(Name=f"deployments-{suffix}")["EventBusArn"].rsplit("/", 1)[1]
    queue_url = sqs.create_queue(QueueName=f"subscriber-{suffix}")["QueueUrl"]
    subscribe_queue(sns, sqs, topic_arn, queue_url)
    env = {
        "SNAPSHOT_TABLE_NAME": table,
        "TOPIC_ARN": topic_arn,
        "REGIONS": ",".join(REGIONS),
        "MAX_ATTEMPTS": "2",  # throttling tests give up quickly
        "MAX_CONCURRENCY": "4",
        "EVENT_BUS_NAME": bus,
    }
    yield Notifier(env=env, queue_url=queue_url, sns=sns, sqs=sqs)
    events.delete_event_bus(Name=bus)
    dynamodb.delete_table(TableName=table)
    sns.delete_topic(TopicArn=topic_arn)
    sqs.delete_queue(QueueUrl=queue_url)
