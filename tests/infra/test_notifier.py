"""The function, its schedule, its log group and its role, as the stack synthesizes them."""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable
from typing import Any

import aws_cdk.aws_lambda as lambda_
import pytest
from aws_cdk.assertions import Capture, Match, Template

from config_notifier import handler
from config_notifier.settings import Settings
from infra import REPO_ROOT
from infra.constants import RUNTIME_PYTHON_VERSION
from infra.notifier import ROLE_NAME_STACK_CHARS, function_role_name
from infra.regions import longest_region_name
from sandbox.deploy import Synthesized

pytestmark = pytest.mark.slow

# Every call the code makes, and X-Ray's writes for active tracing: nothing more.
FUNCTION_ACTIONS = {
    "config:DescribeOrganizationConfigRuleStatuses",
    "config:GetOrganizationConfigRuleDetailedStatus",
    "config:DescribeOrganizationConformancePackStatuses",
    "config:GetOrganizationConformancePackDetailedStatus",
    "config:DescribeConformancePackStatus",
    "organizations:ListAccounts",
    "events:PutEvents",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


# Lambda's name for the processor of the machine that builds and tests the package.
MACHINE_ARCHITECTURES = {"x86_64": "x86_64", "aarch64": "arm64"}


def function_of(synthesis: Synthesized) -> dict[str, Any]:
    (function,) = synthesis.resources("AWS::Lambda::Function").values()
    properties: dict[str, Any] = function["Properties"]
    return properties


def role_statements(synthesis: Synthesized) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the function's role."""
    role_id = function_of(synthesis)["Role"]["Fn::GetAtt"][0]
    role = synthesis.template["Resources"][role_id]["Properties"]
    statements = [
        statement
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    for policy in synthesis.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_function_runs_the_handler_on_the_tests_python_with_json_logs(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "config_notifier.handler.lambda_handler",
            "Runtime": "python{}.{}".format(*sys.version_info[:2]),
            "Architectures": [MACHINE_ARCHITECTURES[platform.machine()]],
            "MemorySize": 512,
            "ReservedConcurrentExecutions": 1,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
        },
    )


def test_handler_path_is_the_code_s_entry_point() -> None:
    # The string the stack deploys resolves to the decorated handler in the package.
    module, _, name = "config_notifier.handler.lambda_handler".rpartition(".")
    assert module == handler.__name__
    assert getattr(handler, name) is handler.lambda_handler


def test_the_runtime_is_the_python_the_tests_run_on() -> None:
    # Given every Python runtime this aws-cdk-lib knows, and this interpreter's version
    versions = {
        tuple(int(part) for part in name.removeprefix("PYTHON_").split("_"))
        for name in dir(lambda_.Runtime)
        if name.startswith("PYTHON_")
    }
    running = sys.version_info[:2]
    # Then the function's runtime is this interpreter's, which Lambda offers
    assert running in versions
    assert "{}.{}".format(*running) == RUNTIME_PYTHON_VERSION
    # And the Makefile builds the tests' virtualenv on that version
    (line,) = [
        line
        for line in (REPO_ROOT / "Makefile").read_text().splitlines()
        if line.startswith("RUNTIME_PYTHON :=")
    ]
    assert line.split(":=")[1].strip() == RUNTIME_PYTHON_VERSION


def test_timeout_is_one_schedule_period(default: Synthesized, full: Synthesized) -> None:
    # Given rate(5 minutes) the timeout is five minutes
    assert function_of(default)["Timeout"] == 300
    # Given rate(1 hour) it is Lambda's maximum, 15 minutes
    assert function_of(full)["Timeout"] == 900


def test_environment_is_exactly_what_the_code_reads(
    default: Synthesized, full: Synthesized
) -> None:
    for synthesis in (default, full):
        variables = function_of(synthesis)["Environment"]["Variables"]
        assert set(variables) == set(Settings.env_names())


def test_environment_carries_the_context_and_the_stack_s_resources(full: Synthesized) -> None:
    # Given the full variant's context
    variables = function_of(full)["Environment"]["Variables"]
    table_id = Capture()

    # Then each variable holds the configured value, or a reference to the resource it names
    Template.from_json(full.template).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"SNAPSHOT_TABLE_NAME": {"Ref": table_id}})
            }
        },
    )
    resources = full.template["Resources"]
    assert resources[table_id.as_string()]["Type"] == "AWS::DynamoDB::Table"
    # (the topics' ARNs are this prefix and their names' suffixes: test_publish_is_scoped_...)
    assert variables["TOPIC_ARN_PREFIX"]["Fn::Join"][1][-1] == ":NotifierEverythingOn-"
    assert variables["REGIONS"] == "us-east-1,eu-west-1"
    assert variables["BASELINE_MODE"] == "failures"
    assert variables["MAX_CONCURRENCY"] == "4"
    assert variables["FULL_RECONCILE_HOURS"] == "12"
    assert variables["STUCK_AFTER_MINUTES"] == "45"
    assert variables["ACCOUNT_NAMES_REFRESH_HOURS"] == "6"
    assert variables["EVENT_BUS_NAME"] == "config-deployments"
    assert json.loads(variables["MUTES"]) == [
        {"name": "sandbox-*"},
        {"account": "123456789012", "until": "2026-12-31"},
    ]
    # And the settings the function parses from them are the configured ones
    parsed = Settings.from_env(
        {
            **variables,
            "SNAPSHOT_TABLE_NAME": "snapshot",
            "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:topic-",
        }
    )
    assert parsed.regions == ("us-east-1", "eu-west-1")
    assert parsed.max_concurrency == 4
    assert [r.name for r in parsed.routes] == ["payments", "eu"]
    assert parsed.routes[0].deployments == ("payments-*",)


def test_function_logs_to_its_own_log_group_with_the_configured_retention(
    template: Template, full: Synthesized
) -> None:
    log_group = Capture()
    template.has_resource_properties(
        "AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": {"Ref": log_group}}}
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 90}, "DeletionPolicy": "Retain"},
    )
    assert template.to_json()["Resources"][log_group.as_string()]["Type"] == "AWS::Logs::LogGroup"
    Template.from_json(full.template).has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": 30}
    )


def test_failed_runs_are_not_retried_and_stale_ticks_are_dropped(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 300, "Qualifier": "$LATEST"},
    )


def test_schedule_runs_the_function_with_retries_and_a_dead_letter_queue(
    template: Template,
) -> None:
    # Given the default schedule
    function, queue = Capture(), Capture()

    # Then the rule targets the function, retries delivery, and dead-letters what it cannot deliver
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [function, "Arn"]},
                        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue, "Arn"]}},
                    }
                )
            ],
        },
    )
    resources = template.to_json()["Resources"]
    assert resources[function.as_string()]["Type"] == "AWS::Lambda::Function"
    assert resources[queue.as_string()]["Type"] == "AWS::SQS::Queue"
    # And EventBridge may invoke the function
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"},
    )


def test_custom_schedule_is_used_verbatim(full: Synthesized) -> None:
    Template.from_json(full.template).has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(1 hour)"}
    )


def test_dead_letter_queue_is_encrypted_and_ssl_only(template: Template) -> None:
    template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "sqs:SendMessage",
                                "Principal": {"Service": "events.amazonaws.com"},
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_role_reads_config_statuses(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Action": Match.array_with(
                                [
                                    "config:DescribeOrganizationConfigRuleStatuses",
                                    "config:GetOrganizationConformancePackDetailedStatus",
                                ]
                            ),
                            "Resource": "*",
                        }
                    ]
                )
            }
        },
    )


def test_role_has_exactly_the_actions_the_code_uses(
    default: Synthesized, full: Synthesized
) -> None:
    # Given no delegated administrator (default) and two of them (full)
    # Then the role may do exactly what the code does, and assume roles only with admins
    for synthesis, extra in ((default, set()), (full, {"sts:AssumeRole"})):
        actions = {a for s in role_statements(synthesis) for a in actions_of(s)}
        assert actions == FUNCTION_ACTIONS | extra


def test_assume_role_is_granted_on_the_delegated_admin_roles_only(full: Synthesized) -> None:
    # Given two delegated administrators, one as an ARN and one as account and role name
    # Then one statement allows sts:AssumeRole on exactly those two roles
    (statement,) = [s for s in role_statements(full) if "sts:AssumeRole" in actions_of(s)]
    assert actions_of(statement) == ["sts:AssumeRole"]
    assert sorted(statement["Resource"]) == [
        "arn:aws:iam::111122223333:role/config-notifier-read",
        "arn:aws:iam::444455556666:role/config-notifier-read",
    ]
    # And the function is told the same roles
    env = function_of(full)["Environment"]["Variables"]
    assert env["DELEGATED_ADMIN_ROLE_ARNS"] == ",".join(sorted(statement["Resource"]))


def test_the_role_s_name_is_fixed_by_the_stack_and_region(default: Synthesized) -> None:
    # Given the function's role
    role_id = function_of(default)["Role"]["Fn::GetAtt"][0]
    role = default.template["Resources"][role_id]["Properties"]
    # Then its name is the stack's, "function" and the region: the same every time the stack is
    # created, so a delegated administrator's trust policy can name it (docs/security.md)
    assert role["RoleName"] == {
        "Fn::Join": ["", ["ConfigDeploymentNotifier-function-", {"Ref": "AWS::Region"}]]
    }
    # And the stack's outputs give its ARN
    assert default.template["Outputs"]["FunctionRoleArn"]["Value"] == {
        "Fn::GetAtt": [role_id, "Arn"]
    }


def test_a_long_stack_name_still_makes_a_valid_role_name() -> None:
    # Given the longest stack name CloudFormation allows (128 characters)
    name = function_role_name("N" * 128)
    # Then the role name keeps its first characters, and with the longest region botocore knows
    # it fits IAM's 64 characters
    prefix = "N" * ROLE_NAME_STACK_CHARS + "-function-"
    assert name.startswith(prefix)
    assert len(prefix) + longest_region_name() <= 64


def test_role_has_no_managed_policies_and_no_wildcard_actions(default: Synthesized) -> None:
    role_id = function_of(default)["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in default.template["Resources"][role_id]["Properties"]
    for statement in role_statements(default):
        assert statement["Effect"] == "Allow"
        assert not any("*" in action for action in actions_of(statement)), statement


def test_only_actions_without_resource_level_permissions_use_resource_star(
    default: Synthesized,
) -> None:
    # Given the role's statements
    unscoped = {
        action
        for statement in role_statements(default)
        if statement["Resource"] == "*"
        for action in actions_of(statement)
    }
    # Then "*" is used only for Config's status reads, listing accounts and X-Ray's writes
    assert unscoped == {
        a for a in FUNCTION_ACTIONS if a.startswith(("config:", "organizations:", "xray:"))
    }


@pytest.mark.parametrize(
    ("actions", "resource_type"),
    [
        (["dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"], "AWS::DynamoDB::Table"),
        (["kms:Decrypt", "kms:GenerateDataKey"], "AWS::KMS::Key"),
        (["logs:CreateLogStream", "logs:PutLogEvents"], "AWS::Logs::LogGroup"),
    ],
)
def test_data_actions_are_scoped_to_their_resource(
    default: Synthesized, actions: list[str], resource_type: str
) -> None:
    (statement,) = [s for s in role_statements(default) if actions_of(s) == actions]
    target = statement["Resource"]["Fn::GetAtt"][0]
    assert default.template["Resources"][target]["Type"] == resource_type


@pytest.mark.parametrize(
    ("variant", "bus"), [("default", "default"), ("full", "config-deployments")]
)
def test_put_events_is_granted_on_the_configured_bus_only(
    synthesized: Callable[[str], Synthesized], variant: str, bus: str
) -> None:
    # Given the default bus, or one named in the context
    synthesis = synthesized(variant)
    # Then PutEvents is allowed on that bus's ARN in the stack's account and region, nothing else
    (statement,) = [s for s in role_statements(synthesis) if "events:PutEvents" in actions_of(s)]
    assert actions_of(statement) == ["events:PutEvents"]
    parts = statement["Resource"]["Fn::Join"][1]
    assert parts[0] == "arn:"
    assert parts[-1] == f":event-bus/{bus}"
    assert {"Ref": "AWS::Region"} in parts
    assert {"Ref": "AWS::AccountId"} in parts
    assert function_of(synthesis)["Environment"]["Variables"]["EVENT_BUS_NAME"] == bus


@pytest.mark.parametrize("variant", ["default", "full"])
def test_publish_is_scoped_to_the_topics_the_function_names(
    synthesized: Callable[[str], Synthesized], variant: str
) -> None:
    # Given the topics the function's settings name (their ARNs: its prefix and their suffixes)
    synthesis = synthesized(variant)
    variables = function_of(synthesis)["Environment"]["Variables"]
    prefix = "arn:aws:sns:us-east-1:123456789012:Stack-"
    topics = Settings.from_env(
        {**variables, "SNAPSHOT_TABLE_NAME": "snapshot", "TOPIC_ARN_PREFIX": prefix}
    ).topics
    named = sorted(arn.removeprefix(prefix) for arn in topics.arns)
    # Then the role may publish to exactly the stack's topics of those names
    (statement,) = [s for s in role_statements(synthesis) if actions_of(s) == ["sns:Publish"]]
    resources = synthesis.template["Resources"]
    granted = sorted(
        resources[ref["Ref"]]["Properties"]["TopicName"].removeprefix(f"{synthesis.stack_name}-")
        for ref in statement["Resource"]
    )
    assert granted == named
