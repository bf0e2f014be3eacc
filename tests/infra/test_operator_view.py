"""The operator's view against what the function really emits: the stack deployed in the sandbox,
the real handler run over a failure, a mute and an unreadable source, then every saved Logs
Insights query run over the log lines it wrote (and the events its transition log kept), and
every dashboard metric looked up among the metrics it emitted."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.constants import REMINDER_METRICS
from infra.insights import (
    ACCOUNT_TRANSITIONS,
    EXAMPLE_ACCOUNT,
    FAILED_RUNS,
    MUTED,
    RUNS,
    SAVED_QUERIES,
    Source,
)
from sandbox import Sandbox
from sandbox.deploy import Deployment, deploy, synthesize
from sandbox.lambda_runtime import ExecutionEnvironment
from tests.infra import insights_eval
from tests.infra.support import CDK_JSON_CONTEXT

pytestmark = pytest.mark.slow

REGION = "us-east-1"
ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
FAILING, MUTED_ACCOUNT = "222222222222", "333333333333"


@dataclass(frozen=True)
class Observed:
    """A deployed stack and what three runs of its function left behind."""

    stack: Deployment
    function_logs: list[dict[str, Any]]  # the JSON lines the function wrote: logs and EMF
    transition_log: list[dict[str, Any]]  # the events its transition log group received

    def logs_of(self, source: Source) -> list[dict[str, Any]]:
        return self.function_logs if source is Source.FUNCTION else self.transition_log


@pytest.fixture(scope="module")
def observed(
    sandbox: Sandbox,
    module_sandbox_env: dict[str, str],
    sandbox_boto3_session: boto3.Session,
    lambda_bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Observed:
    endpoint = module_sandbox_env["AWS_ENDPOINT_URL"]
    events = sandbox_boto3_session.client("events", region_name=REGION, endpoint_url=endpoint)
    bus = f"config-deployments-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    context = {
        **CDK_JSON_CONTEXT,
        "stackName": f"OperatorView-{uuid.uuid4().hex[:8]}",
        "eventBusName": bus,
        "mutes": [{"name": "sandbox-*"}],
    }
    synthesized = synthesize(context, tmp_path_factory.mktemp("cdk-operator"), lambda_bundle)
    stack = deploy(synthesized, sandbox_boto3_session, endpoint, REGION)
    config_sim = sandbox.config_sim
    config_sim.reset()
    config_sim.add_accounts(ACCOUNTS)
    region = config_sim.region(REGION)
    region.put_org_pack("ops-baseline")
    region.put_org_pack("sandbox-tools")
    lines = []
    try:
        # Given a baseline, then a failure in one account and one of a muted pack in another,
        lines += _run(stack, "tick-1")
        region.set_member_status("pack", "ops-baseline", FAILING, "CREATE_FAILED", "Denied", "no")
        region.set_member_status("pack", "sandbox-tools", MUTED_ACCOUNT, "CREATE_FAILED")
        lines += _run(stack, "tick-2")
        # then a run that cannot read the region's statuses at all
        config_sim.set_fault(region=REGION, access_denied=True)
        lines += _run(stack, "tick-3")
    finally:
        config_sim.reset()
    logs = sandbox_boto3_session.client("logs", region_name=REGION, endpoint_url=endpoint)
    return Observed(stack, lines, _events(logs, stack.outputs["TransitionLogGroupName"]))


def _run(stack: Deployment, tick: str) -> list[dict[str, Any]]:
    with ExecutionEnvironment(stack.function_environment, function_name=stack.function_name) as env:
        lines = list(env.invoke(tick).lines)
    # Insights' @timestamp is when a line arrived; the lines' own ISO times sort the same way.
    return [{**line, "@timestamp": line.get("timestamp", "")} for line in lines]


def _events(logs: Any, group: str) -> list[dict[str, Any]]:
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    return [
        {**json.loads(event["message"]), "@timestamp": f"{int(event['timestamp']):020d}"}
        for stream in streams
        for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])[
            "events"
        ]
    ]


def query(observed: Observed, saved: Any, account: str = EXAMPLE_ACCOUNT) -> list[dict[str, Any]]:
    text = saved.text.replace(EXAMPLE_ACCOUNT, account)
    return insights_eval.run(text, observed.logs_of(saved.source))


def test_transitions_of_one_account_are_the_events_published_about_it(observed: Observed) -> None:
    # When the saved query runs for the failing account over the transition log
    rows = query(observed, ACCOUNT_TRANSITIONS, account=FAILING)
    # Then it finds that account's failure, with the deployment, statuses and run
    assert [
        (r["detail.name"], r["detail.severity"], r["detail.new.status"], r["detail.run_id"])
        for r in rows
    ] == [("ops-baseline", "failure", "CREATE_FAILED", "tick-2")]
    assert rows[0]["detail.account_id"] == FAILING
    assert rows[0]["detail.new.error_code"] == "Denied"
    assert rows[0]["detail.region"] == REGION
    # And the muted account's transition was never published, so it is not there
    assert query(observed, ACCOUNT_TRANSITIONS, account=MUTED_ACCOUNT) == []


def test_what_was_muted_names_the_transitions_a_mute_held_back(observed: Observed) -> None:
    # When the saved query runs over the function's logs
    rows = query(observed, MUTED)
    # Then it lists the muted pack's transitions, the member account's and the organization's
    # (failed as soon as one member failed), from the run that found them
    assert sorted(
        (r["kind"], r["entity_name"], r.get("account_id"), r["severity"], r["correlation_id"])
        for r in rows
    ) == [
        ("organization-pack", "sandbox-tools", None, "failure", "tick-2"),
        ("organization-pack-member", "sandbox-tools", MUTED_ACCOUNT, "failure", "tick-2"),
    ]
    assert all(r["region"] == REGION for r in rows)


def test_failed_runs_and_why_finds_the_unreadable_run_only(observed: Observed) -> None:
    rows = query(observed, FAILED_RUNS)
    # Then every row is of the run that could not read, and says why
    assert rows
    assert {r["correlation_id"] for r in rows} == {"tick-3"}
    errors = [r for r in rows if r.get("level") == "ERROR"]
    assert errors
    assert all(r["region"] == REGION and "AccessDenied" in r["reason"] for r in errors)
    summaries = [r for r in rows if r.get("message") == "run finished"]
    assert len(summaries) == 1
    assert "AccessDenied" in summaries[0]["summary.failed_sources.0.reason"]


def test_runs_and_errors_lists_every_run(observed: Observed) -> None:
    rows = query(observed, RUNS)
    finished = [r["correlation_id"] for r in rows if r["message"] == "run finished"]
    assert finished == ["tick-3", "tick-2", "tick-1"]


# Fields this scenario cannot make the function write: a stuck report's status, account names
# (the sandbox's Organizations has none), a delegated administrator's, an exception's.
NOT_SHOWN_HERE = {
    "detail.status.status",
    "detail.account_name",
    "detail.admin_account",
    "delegated_admin",
    "exception",
}


@pytest.mark.parametrize("saved", SAVED_QUERIES, ids=lambda saved: saved.id)
def test_every_field_a_query_shows_is_one_the_function_writes(
    observed: Observed, saved: Any
) -> None:
    # Given the fields the query shows (Insights' own @ fields aside)
    names = [f for f in insights_eval.projected(saved.text) if not f.startswith("@")]
    assert names
    records = observed.logs_of(saved.source)
    # Then each is in at least one line the runs wrote, unless this scenario cannot show it
    missing = [
        name
        for name in names
        if all(insights_eval.value(r, name) is None for r in records) and name not in NOT_SHOWN_HERE
    ]
    assert missing == []


def test_the_saved_queries_are_deployed_on_the_log_groups_they_read(observed: Observed) -> None:
    # Given the stack's query definitions
    definitions = observed.stack.synthesized.resources("AWS::Logs::QueryDefinition")
    by_name = {d["Properties"]["Name"]: d["Properties"] for d in definitions.values()}
    outputs = observed.stack.synthesized.template["Outputs"]
    for saved in SAVED_QUERIES:
        name = f"{observed.stack.synthesized.stack_name}/{saved.title}"
        # Then each query is saved under the stack's folder, with its text, and named in outputs
        assert by_name[name]["QueryString"] == saved.text
        assert outputs[f"{saved.id}Query"]["Value"] == name
        (group,) = by_name[name]["LogGroupNames"]
        expected = (
            "TransitionLogGroupName" if saved.source is Source.TRANSITIONS else "LogGroupName"
        )
        assert group == outputs[expected]["Value"]


def _dashboard_metrics(observed: Observed) -> list[list[Any]]:
    (dashboard,) = observed.stack.synthesized.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))
    return [
        metric
        for widget in body["widgets"]
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    ]


def test_every_dashboard_metric_of_the_function_is_one_it_emits(observed: Observed) -> None:
    # Given what the runs emitted (Powertools EMF lines)
    emitted = {
        (directive["Namespace"], name, tuple((d, line[d]) for d in dimensions))
        for line in observed.function_logs
        if "_aws" in line
        for directive in line["_aws"]["CloudWatchMetrics"]
        for dimensions in directive["Dimensions"]
        for name in (m["Name"] for m in directive["Metrics"])
    }
    # Then every non-Lambda metric on the dashboard is among them, with the same dimensions
    own = [m for m in _dashboard_metrics(observed) if m[0] != "AWS/Lambda"]
    assert len(own) >= 8
    for metric in own:
        namespace, name, *rest = metric[:-1]
        dimensions = tuple(zip(rest[::2], rest[1::2], strict=True))
        assert (namespace, name, dimensions) in emitted, name
    # And the reminder metrics, once named, must be emitted too
    assert {m[1] for m in own} >= set(REMINDER_METRICS)


def test_the_dashboard_shows_runs_duration_and_every_alarm(observed: Observed) -> None:
    lambda_metrics = {m[1] for m in _dashboard_metrics(observed) if m[0] == "AWS/Lambda"}
    assert lambda_metrics == {"Invocations", "Errors", "Throttles", "Duration"}
    (dashboard,) = observed.stack.synthesized.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    text = "".join(p for p in parts if isinstance(p, str))
    alarms = observed.stack.synthesized.resources("AWS::CloudWatch::Alarm").values()
    for alarm in alarms:
        assert f":alarm:{alarm['Properties']['AlarmName']}" in text
    # And a Reminders graph (the metrics it graphs are checked against a real run above)
    assert '"title":"Reminders"' in text
