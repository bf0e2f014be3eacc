"""The cold start builds only the clients every run uses; the others come when first needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest

from config_notifier import handler
from config_notifier.events import EventPublisher
from config_notifier.publish import Publisher
from sandbox.lambda_runtime import forget_environment

ENV = {
    "SNAPSHOT_TABLE_NAME": "notifier-snapshot",
    "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:deployments-",
    "REGIONS": "us-east-1,eu-west-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@pytest.fixture
def created() -> Iterator[list[str]]:
    """The service of every boto3 client created, in order."""
    services: list[str] = []
    real: Any = boto3.session.Session.client

    def record(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        services.append(service)
        return real(self, service, *args, **kwargs)

    with (
        mock.patch.dict("os.environ", ENV),
        mock.patch.object(boto3.session.Session, "client", record),
    ):
        forget_environment()  # a cold start
        yield services
        forget_environment()


def test_set_up_builds_the_clients_of_a_steady_run_only(created: list[str]) -> None:
    # When the function sets up
    deps = handler.dependencies()
    # Then Config (per region) and DynamoDB exist; SNS, Organizations and EventBridge do not yet
    assert sorted(created) == ["config", "config", "dynamodb"]
    # When a run first puts an event
    assert isinstance(deps.events, EventPublisher)
    assert deps.events._client.meta.region_name == "us-east-1"
    # Then the EventBridge client is made then, once
    assert sorted(created) == ["config", "config", "dynamodb", "events"]
    deps.events._client.meta  # noqa: B018 - a second use
    assert created.count("events") == 1


def test_the_sns_client_is_made_when_a_run_first_publishes(created: list[str]) -> None:
    # Given a set-up function
    deps = handler.dependencies()
    assert "sns" not in created
    assert isinstance(deps.publisher, Publisher)
    # When a run first reaches its publisher's client
    assert deps.publisher._client.meta.service_model.service_name == "sns"
    deps.publisher._client.meta  # noqa: B018 - a second use
    # Then the SNS client is made then, once
    assert created.count("sns") == 1
