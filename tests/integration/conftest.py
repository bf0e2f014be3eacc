"""A deployed notifier in the sandbox, with an event bus of its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest

from sandbox.notifier import Notifier
from tests.conftest import REGIONS

__all__ = ["REGIONS"]


@pytest.fixture
def event_bus(sandbox_boto3_session: boto3.Session) -> Iterator[str]:
    """The name of an event bus of the test's own, so tests do not see each other's events (and
    moto's default bus may hold a deployed stack's schedule rule, which moto wrongly hands custom
    events to)."""
    events = sandbox_boto3_session.client("events", region_name="us-east-1")
    bus = events.create_event_bus(Name=f"deployments-{uuid.uuid4().hex[:8]}")["EventBusArn"]
    name = bus.rsplit("/", 1)[1]
    yield name
    events.delete_event_bus(Name=name)


@pytest.fixture
def notifier(make_notifier: Callable[..., Notifier], event_bus: str) -> Notifier:
    """A freshly deployed notifier (its own table, topic and queue) watching two regions."""
    return make_notifier(EVENT_BUS_NAME=event_bus)
