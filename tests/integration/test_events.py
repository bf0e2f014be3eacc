"""EventBridge: every published transition is also an event, routed by a rule to any target."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from config_notifier.events import (
    DETAIL_TYPE_TRANSITION,
    EVENT_SCHEMA,
    EVENT_SCHEMA_VERSION,
    SOURCE,
)
from sandbox.resources import drain, queue_arn
from tests.integration.test_notifier_runs import FAILING, PACK, baselined, fail_pack

REGIONS = ("us-east-1", "eu-west-1")


class Bus:
    """An event bus with a rule that routes the notifier's events to an SQS queue."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queue_url = self.sqs.create_queue(QueueName=f"events-{name}")["QueueUrl"]
        self.created = False

    def create(self) -> None:
        self.events.create_event_bus(Name=self.name)
        self.events.put_rule(
            Name="config-deployments",
            EventBusName=self.name,
            EventPattern=json.dumps({"source": [SOURCE]}),
        )
        self.events.put_targets(
            Rule="config-deployments",
            EventBusName=self.name,
            Targets=[{"Id": "queue", "Arn": queue_arn(self.sqs, self.queue_url)}],
        )
        self.created = True

    def received(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in drain(self.sqs, self.queue_url)]

    def delete(self) -> None:
        if self.created:
            self.events.remove_targets(
                Rule="config-deployments", EventBusName=self.name, Ids=["queue"]
            )
            self.events.delete_rule(Name="config-deployments", EventBusName=self.name)
            self.events.delete_event_bus(Name=self.name)
        self.sqs.delete_queue(QueueUrl=self.queue_url)


@pytest.fixture
def bus(notifier) -> Iterator[Bus]:
    """A bus of the test's own, named in the notifier's EVENT_BUS_NAME (not created yet)."""
    made = Bus(f"deployments-{uuid.uuid4().hex[:8]}")
    notifier.env["EVENT_BUS_NAME"] = made.name
    yield made
    made.delete()


def test_every_published_transition_is_an_event_a_rule_can_route(notifier, config_sim, bus) -> None:
    # Given a baselined organization and a rule on the bus sending the notifier's events to a queue
    bus.create()
    baselined(notifier, config_sim)
    assert bus.received() == []  # a baseline summary is not a transition
    # When a pack fails in 3 accounts in both regions
    fail_pack(config_sim)
    summary = notifier.run()
    # Then one event per transition arrives: the pack and its 3 accounts, in each region
    events = bus.received()
    assert summary["events_put"] == len(events) == 2 * (1 + len(FAILING))
    assert {e["detail-type"] for e in events} == {DETAIL_TYPE_TRANSITION}
    assert {e["source"] for e in events} == {SOURCE}
    details = [e["detail"] for e in events]
    assert {(d["schema"], d["version"]) for d in details} == {(EVENT_SCHEMA, EVENT_SCHEMA_VERSION)}
    for region in REGIONS:
        accounts = sorted(
            d["account_id"] for d in details if d["region"] == region and d["account_id"]
        )
        assert accounts == FAILING
    member = next(d for d in details if d["account_id"])
    assert (member["name"], member["severity"], member["new"]["status"]) == (
        PACK,
        "failure",
        "CREATE_FAILED",
    )
    assert member["console_url"].startswith("https://")


def test_events_the_bus_refused_are_kept_and_put_next_run(notifier, config_sim, bus) -> None:
    # Given a baselined organization and a bus that does not exist yet
    baselined(notifier, config_sim)
    # When a pack fails
    fail_pack(config_sim)
    summary = notifier.run()
    # Then the email and SNS delivery happen anyway, and the events are kept, not lost
    assert len(notifier.transitions()) == 2
    assert summary["events_put"] == 0
    assert summary["events_failed"] == 2 * (1 + len(FAILING))
    assert summary["events_dropped"] == 0
    # When the bus exists at the next run, where nothing else changed
    bus.create()
    summary = notifier.run()
    # Then the kept events are put (and no message is published again)
    assert summary["messages_published"] == 0
    assert summary["events_put"] == 2 * (1 + len(FAILING))
    assert len(bus.received()) == 2 * (1 + len(FAILING))
    # And once only
    assert notifier.run()["events_put"] == 0
    assert bus.received() == []
