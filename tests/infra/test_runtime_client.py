"""The deployment package run as Lambda runs it (docs/design.md rule 8).

AWS's runtime interface client (awslambdaric) runs in the built package, with nothing else on the
import path, on the tests' Python (the runtime's), and polls a Runtime API here. Its environment
is the deployed function's: the variables moto's Lambda reports for the stack it created from
the synthesized template, and those Lambda itself defines, with the function's log format and
active tracing as the template sets them. The sandbox (moto, the Config simulator) is behind it.

One execution environment takes four events in turn: a scheduled event (cold), another (warm),
a JSON array, and a scheduled event again. Each test asserts one facet of what happened.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from config_notifier.model import EVERYONE
from sandbox import Sandbox
from sandbox.lambda_runtime import scheduled_event
from sandbox.local_aws import ISOLATION
from sandbox.resources import Delivery, audience_filter, new_subscriber_queue, received
from sandbox.runtime_api import (
    FunctionConfiguration,
    Invocation,
    RuntimeApi,
    XRayDaemon,
    lambda_environment,
    running_function,
    runtime_directory,
)
from tests.infra.support import FAILING_ACCOUNT, PACK, REGION, deploy_stack, failing_pack

pytestmark = pytest.mark.slow

ACCOUNTS = ["111111111111", FAILING_ACCOUNT]


@dataclass(frozen=True)
class Ran:
    """What one execution environment did with the four events."""

    function: FunctionConfiguration
    cold: Invocation
    warm: Invocation
    not_an_object: Invocation
    after_the_error: Invocation
    lines: list[tuple[str, str]]  # (stream, line), everything the process wrote
    process_survived: bool
    loaded_libraries: set[str]  # the shared objects mapped into the process
    trace_documents: list[dict[str, Any]]
    messages: list[Delivery]  # what a subscriber of the deployed topic received


@pytest.fixture(scope="module")
def ran(
    sandbox: Sandbox,
    sandbox_boto3_session: boto3.Session,
    lambda_bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Ran]:
    # Given the stack, synthesized from the built package and created by moto's CloudFormation
    endpoint = sandbox.env()["AWS_ENDPOINT_URL"]
    clients: dict[str, Any] = {
        service: sandbox_boto3_session.client(service, region_name=REGION, endpoint_url=endpoint)
        for service in ("sns", "sqs")
    }
    deployment = deploy_stack(
        sandbox_boto3_session,
        endpoint,
        lambda_bundle,
        tmp_path_factory.mktemp("cdk-runtime"),
        "NotifierRuntime",
    )
    (resource,) = deployment.synthesized.resources("AWS::Lambda::Function").values()
    function = FunctionConfiguration.from_template(
        resource, deployment.function_name, deployment.function_environment
    )
    queue_url = new_subscriber_queue(
        clients["sns"],
        clients["sqs"],
        deployment.topic_arn,
        f"runtime-{uuid.uuid4().hex[:8]}",
        audience_filter(EVERYONE),
    )
    # And an organization whose pack failed in one member account
    sandbox.config_sim.reset()
    failing_pack(sandbox.config_sim, ACCOUNTS)
    # And the function's execution environment: Lambda's variables, the sandbox's endpoints and
    # credentials (the role's, in Lambda), an X-Ray daemon for its active tracing
    runtime_dir = runtime_directory(tmp_path_factory.mktemp("runtime") / "runtime")
    daemon = XRayDaemon()
    environment = {
        **lambda_environment(
            function,
            region=REGION,
            task_root=lambda_bundle,
            runtime_dir=runtime_dir,
            xray_daemon=daemon.address,
        ),
        **sandbox.env(),
        **ISOLATION,
    }
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function.name}"
    try:
        with (
            RuntimeApi(arn) as api,
            running_function(
                lambda_bundle, runtime_dir, function.handler, environment, api
            ) as process,
        ):
            # When the runtime is handed four events in turn
            cold = api.invoke(scheduled_event("tick-1"))
            warm = api.invoke(scheduled_event("tick-2"))
            not_an_object = api.invoke(["tick-3"])
            after_the_error = api.invoke(scheduled_event("tick-4"))
            survived = process.running()
            maps = Path(f"/proc/{process.pid}/maps").read_text()
        yield Ran(
            function=function,
            cold=cold,
            warm=warm,
            not_an_object=not_an_object,
            after_the_error=after_the_error,
            lines=process.lines(),
            process_survived=survived,
            loaded_libraries={line.split()[-1] for line in maps.splitlines() if ".so" in line},
            trace_documents=daemon.documents(),
            messages=received(clients["sqs"], queue_url),
        )
    finally:
        daemon.stop()


def log_records(ran: Ran) -> list[dict[str, Any]]:
    return [json.loads(line) for _, line in ran.lines]


def test_the_function_runs_on_the_python_the_tests_run_on(ran: Ran) -> None:
    # Then the deployed runtime is this interpreter's version, which ran the package
    assert ran.function.runtime == "python{}.{}".format(*sys.version_info[:2])


def test_a_scheduled_event_reports_the_failure_to_the_deployed_topic(ran: Ran) -> None:
    # Then the first run answered with its summary, every source read
    assert not ran.cold.failed, ran.cold.error
    summary = ran.cold.response
    assert summary["failed_sources"] == []
    assert summary["api_calls"] > 0
    # And the failing account reached a subscriber of the deployed topic
    failures = [
        message
        for message in ran.messages
        if message.attributes["severity"] == "failure" and message.attributes["name"] == PACK
    ]
    named = {account for message in failures for account in message.accounts}
    assert named == {FAILING_ACCOUNT}


def test_a_warm_invocation_reuses_the_execution_environment(ran: Ran) -> None:
    # Then the second run succeeded with nothing new to say
    assert not ran.warm.failed, ran.warm.error
    assert ran.warm.response["messages_published"] == 0
    assert ran.warm.response["failed_sources"] == []
    # And it ran in the same process as the first, which logged the cold start and this one not
    finished = {
        record["function_request_id"]: record["cold_start"]
        for record in log_records(ran)
        if record.get("message") == "run finished"
    }
    assert finished[ran.cold.request_id] is True
    assert finished[ran.warm.request_id] is False
    # And the ColdStart metric went out once
    cold_starts = [r for r in log_records(ran) if "ColdStart" in r]
    assert len(cold_starts) == 1


def test_an_event_that_is_not_an_object_fails_saying_what_was_expected(ran: Ran) -> None:
    # Then the invocation failed with the handler's own error, not a crash inside it
    error = ran.not_an_object.error
    assert error is not None
    assert error["errorType"] == "InvalidEventError"
    assert "must be a JSON object" in error["errorMessage"]
    assert '"detail-type": "Scheduled Event"' in error["errorMessage"]  # the valid example
    assert error["errorMessage"].endswith('this one is an array: ["tick-3"]')
    # And the execution environment went on to run the next event
    assert ran.process_survived
    assert not ran.after_the_error.failed, ran.after_the_error.error
    assert ran.after_the_error.response["failed_sources"] == []


def test_every_line_the_function_and_the_runtime_write_is_json(ran: Ran) -> None:
    # Given the function's log format, as the stack sets it
    assert ran.function.log_format == "JSON"
    # Then every line on stdout and stderr is one JSON object
    assert ran.lines
    not_json = []
    for stream, line in ran.lines:
        try:
            record = json.loads(line)
        except ValueError:
            not_json.append((stream, line))
            continue
        if not isinstance(record, dict):
            not_json.append((stream, line))
    assert not_json == []
    # Among them the runtime's own report of the failed invocation
    (reported,) = [r for r in log_records(ran) if r.get("errorType") == "InvalidEventError"]
    assert reported["level"] == "ERROR"
    assert reported["requestId"] == ran.not_an_object.request_id


def test_active_tracing_sends_the_run_s_calls_under_the_invocation_s_trace(ran: Ran) -> None:
    # Given the function's active tracing, as the stack sets it
    assert ran.function.tracing
    # Then the X-Ray SDK (and wrapt's compiled extension under it) loaded from the package, and
    # sent subsegments for the AWS calls under the trace Lambda passed with the first event
    root = ran.cold.trace_id.split(";")[0].removeprefix("Root=")
    traced = {d["name"] for d in ran.trace_documents if d.get("trace_id") == root}
    assert {"## lambda_handler", "config", "dynamodb", "sns"} <= traced, traced


def test_the_package_s_compiled_extensions_are_the_ones_loaded(
    ran: Ran, lambda_bundle: Path
) -> None:
    # Given the extension modules the package ships (wrapt's, under the X-Ray SDK)
    shipped = {str(path) for path in lambda_bundle.rglob("*.so")}
    assert shipped
    # Then the function's process loaded every one of them: built for this machine's
    # architecture, which is the function's
    assert shipped <= ran.loaded_libraries
