"""Stack outputs: where to find the topics, table, function and its logs after a deploy."""

from __future__ import annotations

from typing import Any

import pytest

from infra.insights import INSIGHTS_QUERY
from sandbox.deploy import Synthesized

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outputs(default: Synthesized) -> dict[str, Any]:
    return {name: output["Value"] for name, output in default.template["Outputs"].items()}


@pytest.mark.parametrize(
    ("output", "resource_type"),
    [
        ("TextTopicArn", "AWS::SNS::Topic"),
        ("JsonTopicArn", "AWS::SNS::Topic"),
        ("ChatTopicArn", "AWS::SNS::Topic"),
        ("OperationsTopicArn", "AWS::SNS::Topic"),
        ("SnapshotTableName", "AWS::DynamoDB::Table"),
        ("FunctionName", "AWS::Lambda::Function"),
        ("LogGroupName", "AWS::Logs::LogGroup"),
    ],
)
def test_outputs_name_the_stack_s_resources(
    default: Synthesized, outputs: dict[str, Any], output: str, resource_type: str
) -> None:
    target = outputs[output]["Ref"]
    assert default.template["Resources"][target]["Type"] == resource_type


def test_insights_query_finds_run_summaries_and_errors(outputs: dict[str, Any]) -> None:
    query = outputs["LogsInsightsQuery"]
    assert query == INSIGHTS_QUERY
    # "run finished" is the message the handler logs with each run's summary.
    assert 'message = "run finished"' in query
    assert 'level in ["ERROR", "WARNING"]' in query
    assert "summary.failed_sources" in query


def test_console_link_opens_the_query_on_the_function_s_log_group(
    outputs: dict[str, Any],
) -> None:
    parts = outputs["LogsInsightsUrl"]["Fn::Join"][1]
    assert parts[0] == "https://"
    assert {"Ref": "AWS::Region"} in parts
    assert {"Ref": outputs["LogGroupName"]["Ref"]} in parts
    text = "".join(p for p in parts if isinstance(p, str))
    assert "#logsV2:logs-insights$3FqueryDetail$3D" in text
    # the query, in the console's encoding: percent-encoded with '*' for '%'
    assert "editorString~'fields*20*40timestamp*2C*20level" in text
