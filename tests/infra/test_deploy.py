"""The synthesized stack deployed into the sandbox, and the real handler run with its environment.

moto's CloudFormation creates the stack from the template and the uploaded asset zip (alarms,
resource policies and subscriptions it skips: the template tests cover those); moto cannot
invoke a Lambda function without docker, so the handler runs in-process with exactly the deployed
function's environment. If the stack and the code disagreed on a name (a variable, the table's
keys, the topic, the metric), a message would not arrive or an assertion below would fail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from config_notifier.model import EVERYONE
from config_notifier.settings import Settings
from sandbox import Sandbox
from sandbox.deploy import Deployment
from sandbox.lambda_runtime import invoke
from sandbox.resources import audience_filter, new_subscriber_queue, received
from tests.infra.support import FAILING_ACCOUNT, PACK, REGION, deploy_stack, failing_pack

pytestmark = pytest.mark.slow

ACCOUNTS = ["111111111111", FAILING_ACCOUNT, "333333333333"]


@dataclass(frozen=True)
class Deployed:
    """The stack moto created, and clients of the sandbox for the assertions."""

    stack: Deployment
    clients: dict[str, Any]

    def client(self, service: str) -> Any:
        return self.clients[service]


@pytest.fixture(scope="module")
def deployment(
    sandbox: Sandbox,
    sandbox_boto3_session: boto3.Session,
    lambda_bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """The stack (baselineMode "failures", one region) created by moto's CloudFormation."""
    endpoint = sandbox.env()["AWS_ENDPOINT_URL"]
    clients: dict[str, Any] = {
        service: sandbox_boto3_session.client(service, region_name=REGION, endpoint_url=endpoint)
        for service in ("sns", "sqs", "dynamodb")
    }
    stack = deploy_stack(
        sandbox_boto3_session,
        endpoint,
        lambda_bundle,
        tmp_path_factory.mktemp("cdk-sandbox"),
        "NotifierSandbox",
    )
    return Deployed(stack, clients)


def test_stack_deploys_and_its_function_reads_exactly_its_settings(
    deployment: Deployed,
) -> None:
    # Given the deployed function's configuration, as moto's Lambda reports it
    environment = deployment.stack.function_environment

    # Then it has every variable the code reads, naming the deployed table and topics: each
    # topic's ARN is the prefix and the topic's suffix, as the function builds them
    assert set(environment) == set(Settings.env_names())
    topics = Settings.from_env(environment).topics
    outputs = deployment.stack.outputs
    assert (topics.text, topics.json, topics.chat["all"]) == (
        outputs["TextTopicArn"],
        outputs["JsonTopicArn"],
        outputs["ChatTopicArn"],
    )
    assert environment["SNAPSHOT_TABLE_NAME"] == deployment.stack.outputs["SnapshotTableName"]
    assert environment["BASELINE_MODE"] == "failures"
    table = deployment.client("dynamodb").describe_table(
        TableName=environment["SNAPSHOT_TABLE_NAME"]
    )["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    # And the settings the function would parse from it are valid
    Settings.from_env(environment)


def test_a_failing_pack_reaches_a_subscriber_of_the_deployed_topic(
    deployment: Deployed,
    sandbox_env: dict[str, str],
    config_sim: Any,
) -> None:
    # Given an organization whose pack failed in one member account, and a queue on the topic
    failing_pack(config_sim, ACCOUNTS)
    # (moto skips the template's own subscriptions)
    queue_url = new_subscriber_queue(
        deployment.client("sns"),
        deployment.client("sqs"),
        deployment.stack.topic_arn,
        f"subscriber-{uuid.uuid4().hex[:8]}",
        audience_filter(EVERYONE),
    )
    environment = deployment.stack.function_environment

    # When the handler runs once with the deployed function's environment
    invocation = invoke(environment, "tick-1", function_name=deployment.stack.function_name)
    summary, log_lines = invocation.summary_or_raise(), invocation.lines

    # Then the failure arrives at the subscriber, as a transition naming the account
    assert summary["failed_sources"] == []
    # And its events go onto the configured bus
    assert summary["events_put"] > 0
    assert summary["events_failed"] == summary["events_dropped"] == 0
    transitions = [
        d
        for d in received(deployment.client("sqs"), queue_url)
        if d.is_transition and d.attributes["name"] == PACK
    ]
    assert len(transitions) == 1
    assert transitions[0].attributes["severity"] == "failure"
    assert transitions[0].attributes["region"] == REGION
    assert FAILING_ACCOUNT in transitions[0].accounts
    # And what was delivered is committed to the deployed table
    scanned = deployment.client("dynamodb").scan(
        TableName=environment["SNAPSHOT_TABLE_NAME"], Select="COUNT"
    )
    assert scanned["Count"] > 0
    # And the run summary is logged where the stack's Logs Insights query looks for it
    assert any(line.get("message") == "run finished" and "summary" in line for line in log_lines)
    # And the FailedSources metric is emitted as the deployed alarm watches it
    (alarm,) = [
        a["Properties"]
        for a in deployment.stack.synthesized.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "FailedSources"
    ]
    (emf,) = [
        line
        for line in log_lines
        if "_aws" in line
        for directive in line["_aws"]["CloudWatchMetrics"]
        if "FailedSources" in {m["Name"] for m in directive["Metrics"]}
    ]
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == alarm["Namespace"]
    assert emf["FailedSources"] == [0.0]
    assert directive["Dimensions"] == [[d["Name"] for d in alarm["Dimensions"]]]
    for dimension in alarm["Dimensions"]:
        assert emf[dimension["Name"]] == dimension["Value"]
