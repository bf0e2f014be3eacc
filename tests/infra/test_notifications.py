"""The topics, their KMS key, email subscriptions with severity filters, and Slack via Chatbot."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from config_notifier.model import Severity
from sandbox.deploy import Synthesized

pytestmark = pytest.mark.slow


def key_statements(synthesis: Synthesized) -> dict[str, dict[str, Any]]:
    (key,) = synthesis.resources("AWS::KMS::Key").values()
    return {s.get("Sid", ""): s for s in key["Properties"]["KeyPolicy"]["Statement"]}


def email_subscriptions(synthesis: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        s["Properties"]["Endpoint"]: s["Properties"]
        for s in synthesis.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    }


def test_both_topics_are_encrypted_with_the_rotating_customer_key(template: Template) -> None:
    key = Capture()
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"DisplayName": "Config deployments", "KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}},
    )
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {
            "DisplayName": "Config notifier alarms",
            "KmsMasterKeyId": {"Fn::GetAtt": [key.as_string(), "Arn"]},
        },
    )
    assert template.to_json()["Resources"][key.as_string()]["Type"] == "AWS::KMS::Key"


def test_topics_deny_publishing_without_ssl(template: Template) -> None:
    template.resource_properties_count_is(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sns:Publish",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
        2,
    )


def test_key_policy_lets_the_function_and_cloudwatch_use_the_key(default: Synthesized) -> None:
    statements = key_statements(default)
    use = ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statements["CloudWatchAlarms"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statements["CloudWatchAlarms"]["Action"] == use
    role_id = statements["NotifierFunction"]["Principal"]["AWS"]["Fn::GetAtt"][0]
    (function,) = default.resources("AWS::Lambda::Function").values()
    assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert statements["NotifierFunction"]["Action"] == use


def test_chatbot_may_use_the_key_only_when_slack_is_configured(
    default: Synthesized, full: Synthesized
) -> None:
    assert "AwsChatbot" not in key_statements(default)
    chatbot = key_statements(full)["AwsChatbot"]
    assert chatbot["Principal"] == {"Service": "chatbot.amazonaws.com"}
    assert chatbot["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def joined(value: Any) -> str:
    """An Fn::Join of literals and pseudo parameters, as text with ${Name} for each."""
    if isinstance(value, str):
        return value
    separator: str
    separator, parts = value["Fn::Join"]
    return separator.join(p if isinstance(p, str) else "${" + p["Ref"] + "}" for p in parts)


def test_cloudwatch_may_use_the_key_only_for_this_account_s_alarms(default: Synthesized) -> None:
    # Given the key policy's statement for CloudWatch
    condition = key_statements(default)["CloudWatchAlarms"]["Condition"]
    # Then it holds only for requests made for alarms of this account and region
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert joined(condition["ArnLike"]["aws:SourceArn"]) == (
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    )


def test_chatbot_may_use_the_key_only_for_this_stack_s_slack_channel(full: Synthesized) -> None:
    # Given the key policy's statement for AWS Chatbot, and the channel configuration
    condition = key_statements(full)["AwsChatbot"]["Condition"]
    (channel,) = full.resources("AWS::Chatbot::SlackChannelConfiguration").values()
    name = channel["Properties"]["ConfigurationName"]
    # Then it holds only for this account's channel of that name
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert joined(condition["ArnEquals"]["aws:SourceArn"]) == (
        f"arn:${{AWS::Partition}}:chatbot::${{AWS::AccountId}}:chat-configuration/slack-channel/{name}"
    )


def test_only_this_account_s_cloudwatch_alarms_may_publish_to_the_operations_topic(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Condition": {
                                    "StringEquals": {
                                        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
                                    },
                                    "ArnLike": {"aws:SourceArn": Match.any_value()},
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_subscriptions_and_no_slack_by_default(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Subscription", 0)
    template.resource_count_is("AWS::Chatbot::SlackChannelConfiguration", 0)


@pytest.mark.parametrize(
    ("address", "severities"),
    [
        ("failures@example.com", [Severity.FAILURE.value, Severity.STUCK.value]),
        (
            "changes@example.com",
            [Severity.FAILURE.value, Severity.STUCK.value, Severity.RECOVERY.value],
        ),
    ],
)
def test_email_filters_become_severity_filter_policies(
    full: Synthesized, address: str, severities: list[str]
) -> None:
    subscription = email_subscriptions(full)[address]
    assert subscription["FilterPolicy"] == {"severity": severities}
    # The policy applies to message attributes, where publish.py puts the severity.
    assert subscription.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"


def test_email_filter_all_receives_everything(full: Synthesized) -> None:
    assert "FilterPolicy" not in email_subscriptions(full)["everything@example.com"]


def test_email_subscribers_are_on_the_notification_topic(full: Synthesized) -> None:
    topics = {
        logical_id
        for logical_id, topic in full.resources("AWS::SNS::Topic").items()
        if topic["Properties"]["DisplayName"] == "Config deployments"
    }
    emails = email_subscriptions(full)
    assert set(emails) == {
        "failures@example.com",
        "changes@example.com",
        "everything@example.com",
        "oncall@example.com",
    }
    for address in ("failures@example.com", "changes@example.com", "everything@example.com"):
        assert emails[address]["TopicArn"]["Ref"] in topics
    # The alarm email is on the operations topic instead.
    assert emails["oncall@example.com"]["TopicArn"]["Ref"] not in topics


def test_slack_channel_is_configured_when_both_ids_are_given(full_template: Template) -> None:
    role = Capture()
    full_template.has_resource_properties(
        "AWS::Chatbot::SlackChannelConfiguration",
        {
            "SlackWorkspaceId": "T0123ABCD",
            "SlackChannelId": "C0123ABCD",
            "ConfigurationName": "NotifierEverythingOn-slack",
            "SnsTopicArns": Match.array_with(
                [{"Ref": Match.string_like_regexp("NotificationsTopic")}]
            ),
            "GuardrailPolicies": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/CloudWatchReadOnlyAccess",
                        ],
                    ]
                }
            ],
            "UserRoleRequired": False,
            "IamRoleArn": {"Fn::GetAtt": [role, "Arn"]},
        },
    )
    # And its role can do nothing: Chatbot only relays what the topics publish
    chatbot_role = full_template.to_json()["Resources"][role.as_string()]
    assert chatbot_role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "chatbot.amazonaws.com"
    }
    assert "ManagedPolicyArns" not in chatbot_role["Properties"]
    assert "Policies" not in chatbot_role["Properties"]
    full_template.resource_properties_count_is(
        "AWS::IAM::Policy", {"Roles": Match.array_with([{"Ref": role.as_string()}])}, 0
    )
