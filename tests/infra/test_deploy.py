"""The synthesized stack deployed into the sandbox, and the real handler run with its environment.

moto's CloudFormation creates the stack from the template and the uploaded asset zip (alarms,
resource policies and subscriptions it skips: the template tests cover those); moto cannot
invoke a Lambda function without docker, so the handler runs in-process with exactly the deployed
function's environment. If the stack and the code disagreed on a name (a variable, the table's
keys, the topic, the metric), a message would not arrive or an assertion below would fail.
"""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

import boto3
import pytest
from aws_cdk import DefaultStackSynthesizer

from config_notifier import handler
from config_notifier.settings import Settings
from sandbox import Sandbox
from tests.infra.support import CDK_JSON_CONTEXT, Synthesis, synthesize

pytestmark = [
    pytest.mark.slow,
    # moto's CloudFormation skips (and warns about) the resource types it does not model:
    # topic and queue policies, alarms, the async invoke config, subscriptions, Chatbot.
    pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning"),
]

REGION = "us-east-1"
ASSET_BUCKET = "notifier-sandbox-assets"
ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
FAILING_ACCOUNT = "222222222222"
PACK = "ops-baseline"


@dataclass(frozen=True)
class FakeContext:
    """The fields of Lambda's context object that the handler and Powertools read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:notifier"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass(frozen=True)
class Deployment:
    synthesis: Synthesis
    outputs: dict[str, str]
    clients: dict[str, Any]

    def client(self, service: str) -> Any:
        return self.clients[service]


def upload_assets(outdir: Path, stack_name: str, s3: Any) -> None:
    """Do what `cdk deploy` does with file assets: zip directories, put them where the
    template looks for them."""
    manifest = json.loads((outdir / f"{stack_name}.assets.json").read_text())
    for asset in manifest["files"].values():
        source = outdir / asset["source"]["path"]
        if asset["source"].get("packaging") == "zip":
            buffer = io.BytesIO()
            # Stored, not deflated: the sandbox only needs the bytes, and this is 10x faster.
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
                for path in sorted(source.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(source))
            body = buffer.getvalue()
        else:
            body = source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(Bucket=destination["bucketName"], Key=destination["objectKey"], Body=body)


@pytest.fixture(scope="module")
def deployment(
    sandbox: Sandbox,
    sandbox_boto3_session: boto3.Session,
    lambda_bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployment:
    """The stack (baselineMode "failures", one region) created by moto's CloudFormation."""
    endpoint = sandbox.env()["AWS_ENDPOINT_URL"]
    clients: dict[str, Any] = {
        service: sandbox_boto3_session.client(service, region_name=REGION, endpoint_url=endpoint)
        for service in ("cloudformation", "s3", "lambda", "sns", "sqs", "dynamodb", "cloudwatch")
    }
    stack_name = f"NotifierSandbox-{uuid.uuid4().hex[:8]}"
    context = {**CDK_JSON_CONTEXT, "stackName": stack_name, "baselineMode": "failures"}
    synthesis = synthesize(
        context,
        tmp_path_factory.mktemp("cdk-sandbox"),
        lambda_bundle,
        # No SSM bootstrap-version parameter in the sandbox, and a bucket name without tokens.
        synthesizer=DefaultStackSynthesizer(
            generate_bootstrap_version_rule=False, file_assets_bucket_name=ASSET_BUCKET
        ),
    )
    s3 = clients["s3"]
    s3.create_bucket(Bucket=ASSET_BUCKET)
    upload_assets(synthesis.outdir, stack_name, s3)

    cloudformation = clients["cloudformation"]
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(synthesis.template_json),
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    # Not deleted afterwards: the retained table keeps deletion protection on, as in AWS; the
    # sandbox and everything in it go away with the session.
    return Deployment(synthesis=synthesis, outputs=outputs, clients=clients)


def function_environment(deployment: Deployment) -> dict[str, str]:
    configuration = deployment.client("lambda").get_function_configuration(
        FunctionName=deployment.outputs["FunctionName"]
    )
    variables: dict[str, str] = configuration["Environment"]["Variables"]
    return variables


def subscribe_queue(deployment: Deployment) -> str:
    """An SQS subscriber of the deployed topic (moto skips the template's own subscriptions)."""
    sqs = deployment.client("sqs")
    queue_url: str = sqs.create_queue(QueueName=f"subscriber-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    deployment.client("sns").subscribe(
        TopicArn=deployment.outputs["TopicArn"], Protocol="sqs", Endpoint=queue_arn
    )
    return queue_url


def received(deployment: Deployment, queue_url: str) -> list[dict[str, Any]]:
    envelopes: list[dict[str, Any]] = []
    sqs = deployment.client("sqs")
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return envelopes
        for message in batch:
            envelopes.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def run_handler(
    environment: dict[str, str], function_name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One schedule tick: the real handler, in-process, with the deployed function's environment.

    Returns the run's summary and the JSON lines it wrote to stdout (logs and EMF metrics), which
    is what Lambda would put in the function's log group.
    """
    stdout = io.StringIO()
    # The Logger's handler holds the stream it was created with; Metrics prints to sys.stdout.
    log_handler = cast(logging.StreamHandler[Any], handler.logger.registered_handler)
    log_stream = log_handler.setStream(stdout)
    with mock.patch.dict(os.environ, environment), mock.patch("sys.stdout", stdout):
        handler.settings.cache_clear()
        handler.dependencies.cache_clear()
        try:
            summary: dict[str, Any] = handler.lambda_handler(
                {"id": "tick-1", "detail-type": "Scheduled Event"}, FakeContext(function_name)
            )
        finally:
            handler.settings.cache_clear()
            handler.dependencies.cache_clear()
            if log_stream is not None:
                log_handler.setStream(log_stream)
    lines = [json.loads(line) for line in stdout.getvalue().splitlines() if line.startswith("{")]
    return summary, lines


def test_stack_deploys_and_its_function_reads_exactly_its_settings(
    deployment: Deployment,
) -> None:
    # Given the deployed function's configuration
    environment = function_environment(deployment)

    # Then it has every variable the code reads, naming the deployed table and topic
    assert set(environment) == set(Settings.env_names())
    assert environment["TOPIC_ARN"] == deployment.outputs["TopicArn"]
    assert environment["SNAPSHOT_TABLE_NAME"] == deployment.outputs["SnapshotTableName"]
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
    deployment: Deployment,
    sandbox_env: dict[str, str],
    config_sim: Any,
) -> None:
    # Given an organization whose pack failed in one member account, and a queue on the topic
    config_sim.add_accounts(ACCOUNTS)
    config_sim.region(REGION).put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    config_sim.region(REGION).set_member_status(
        "pack",
        PACK,
        FAILING_ACCOUNT,
        "CREATE_FAILED",
        error_code="ConformancePackCreationFailed",
        error_message="AccessDenied on s3:PutBucketPolicy",
    )
    queue_url = subscribe_queue(deployment)
    environment = function_environment(deployment)

    # When the handler runs once with the deployed function's environment
    summary, log_lines = run_handler(environment, deployment.outputs["FunctionName"])

    # Then the failure arrives at the subscriber, as a transition naming the account
    assert summary["failed_sources"] == []
    envelopes = received(deployment, queue_url)
    transitions = [
        e
        for e in envelopes
        if e["MessageAttributes"]["event_type"]["Value"] == "transition"
        and e["MessageAttributes"]["name"]["Value"] == PACK
    ]
    assert len(transitions) == 1
    attributes = {k: v["Value"] for k, v in transitions[0]["MessageAttributes"].items()}
    assert attributes["severity"] == "failure"
    assert attributes["region"] == REGION
    document = json.loads(transitions[0]["Message"])
    assert FAILING_ACCOUNT in {t["account_id"] for t in document["transitions"]}
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
        for a in deployment.synthesis.resources("AWS::CloudWatch::Alarm").values()
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
