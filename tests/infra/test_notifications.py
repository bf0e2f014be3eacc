"""The topics (one per rendering, a chat topic per route) and their KMS key; the stack's own
subscribers and each route's, with filter policies on the audience and severity attributes; Slack
and Microsoft Teams through AWS Chatbot."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from config_notifier.model import Severity
from infra.filters import subscription_filter
from sandbox.deploy import Synthesized
from tests.infra.support import PAYMENTS_FUNCTION, PAYMENTS_QUEUE

pytestmark = pytest.mark.slow

FULL_STACK = "NotifierEverythingOn"
GUARDRAIL = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/CloudWatchReadOnlyAccess"],
    ]
}


def key_statements(synthesis: Synthesized) -> dict[str, dict[str, Any]]:
    (key,) = synthesis.resources("AWS::KMS::Key").values()
    return {s.get("Sid", ""): s for s in key["Properties"]["KeyPolicy"]["Statement"]}


def topic_ids(synthesis: Synthesized) -> dict[str, str]:
    """Topic name (or display name, for the unnamed operations topic) -> logical id."""
    return {
        topic["Properties"].get("TopicName", topic["Properties"]["DisplayName"]): logical_id
        for logical_id, topic in synthesis.resources("AWS::SNS::Topic").items()
    }


def subscriptions(synthesis: Synthesized, protocol: str) -> list[dict[str, Any]]:
    return [
        s["Properties"]
        for s in synthesis.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == protocol
    ]


def emails(synthesis: Synthesized, topic: str) -> dict[str, list[dict[str, Any]]]:
    """Address -> its subscriptions' filter policies, on the topic named `topic`."""
    topic_id = topic_ids(synthesis)[topic]
    found: dict[str, list[dict[str, Any]]] = {}
    for s in subscriptions(synthesis, "email"):
        if s["TopicArn"] == {"Ref": topic_id}:
            found.setdefault(s["Endpoint"], []).append(s.get("FilterPolicy", {}))
    return found


def test_every_topic_is_named_for_its_rendering_and_encrypted_with_the_rotating_key(
    full: Synthesized, full_template: Template
) -> None:
    # Given the stack with a route that has chat channels and one that has none
    key = Capture()
    full_template.resource_count_is("AWS::KMS::Key", 1)
    full_template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    # Then there is a topic per rendering, each route's chat topic and the operations topic
    assert set(topic_ids(full)) == {
        f"{FULL_STACK}-text",
        f"{FULL_STACK}-json",
        f"{FULL_STACK}-chat",
        f"{FULL_STACK}-chat-payments",
        f"{FULL_STACK}-chat-eu",
        "Config notifier alarms",
    }
    # And each is encrypted with the one key; the email sender's name is the text topic's
    full_template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": f"{FULL_STACK}-text", "DisplayName": "Config deployments"},
    )
    full_template.resource_properties_count_is(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}, 6
    )
    assert full.template["Resources"][key.as_string()]["Type"] == "AWS::KMS::Key"


def test_every_topic_denies_publishing_without_ssl(template: Template) -> None:
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
        4,
    )


def test_the_function_may_publish_to_every_topic_it_publishes_to(full: Synthesized) -> None:
    # Given the function's policy
    (policy,) = full.resources("AWS::IAM::Policy").values()
    [publish] = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sns:Publish"
    ]
    # Then it names the rendering topics and the routes' chat topics, and not the alarms' topic
    ids = topic_ids(full)
    assert sorted(r["Ref"] for r in publish["Resource"]) == sorted(
        ids[f"{FULL_STACK}-{suffix}"]
        for suffix in ("text", "json", "chat", "chat-payments", "chat-eu")
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


def test_chatbot_may_use_the_key_only_when_a_chat_channel_is_configured(
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


def test_chatbot_may_use_the_key_only_for_this_stack_s_chat_channels(full: Synthesized) -> None:
    # Given the key policy's statement for AWS Chatbot, and the channel configurations
    condition = key_statements(full)["AwsChatbot"]["Condition"]
    slack = [c["Properties"]["ConfigurationName"] for c in _slack(full)]
    teams = [c["Properties"]["ConfigurationName"] for c in _teams(full)]
    # Then it holds only for this account's channels of those names, Slack's and Teams'
    prefix = "arn:${AWS::Partition}:chatbot::${AWS::AccountId}:chat-configuration"
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert sorted(joined(arn) for arn in condition["ArnEquals"]["aws:SourceArn"]) == sorted(
        [f"{prefix}/slack-channel/{name}" for name in slack]
        + [f"{prefix}/microsoft-teams-channel/{name}" for name in teams]
    )
    assert sorted(slack + teams) == sorted(
        f"{FULL_STACK}-{suffix}"
        for suffix in ("slack", "teams", "payments-slack", "payments-teams")
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


def test_no_subscriptions_and_no_chat_channels_by_default(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Subscription", 0)
    template.resource_count_is("AWS::Chatbot::SlackChannelConfiguration", 0)
    template.resource_count_is("AWS::Chatbot::MicrosoftTeamsChannelConfiguration", 0)


@pytest.mark.parametrize(
    ("address", "severities"),
    [
        ("failures@example.com", [Severity.FAILURE, Severity.STUCK]),
        ("changes@example.com", [Severity.FAILURE, Severity.STUCK, Severity.RECOVERY]),
        ("everything@example.com", None),
    ],
)
def test_the_stack_s_own_emails_get_everyone_s_copies_of_the_severities_they_chose(
    full: Synthesized, address: str, severities: list[Severity] | None
) -> None:
    # Given an address of notificationEmails, then its subscription to the text topic selects
    # audience "all", and the severities its filter names (every severity for "all")
    [own, *_] = emails(full, f"{FULL_STACK}-text")[address]
    assert own == subscription_filter("all", severities)
    assert own["audience"] == ["all"]
    if severities:
        assert own["severity"] == [s.value for s in severities]


def test_email_filter_policies_act_on_message_attributes(full: Synthesized) -> None:
    # The attributes publish.py sends with every String-structured publish; the body is text.
    for email in subscriptions(full, "email"):
        assert email.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"


def test_email_subscribers_are_on_the_text_topic_and_the_alarm_email_on_the_operations_topic(
    full: Synthesized,
) -> None:
    assert set(emails(full, f"{FULL_STACK}-text")) == {
        "failures@example.com",
        "changes@example.com",
        "everything@example.com",
        "payments@example.com",
    }
    assert set(emails(full, "Config notifier alarms")) == {"oncall@example.com"}


def test_a_route_s_destinations_get_the_route_s_copies_alone(full: Synthesized) -> None:
    text = emails(full, f"{FULL_STACK}-text")
    # Given the payments route: its email gets its copies, of the severities its filter names
    assert text["payments@example.com"] == [
        subscription_filter("payments", [Severity.FAILURE, Severity.STUCK])
    ]
    # And an address that is the stack's and the eu route's gets each audience's copies
    assert sorted(text["everything@example.com"], key=str) == sorted(
        [subscription_filter("all"), subscription_filter("eu")], key=str
    )
    # And its queue and function get the route's JSON documents
    json_topic = {"Ref": topic_ids(full)[f"{FULL_STACK}-json"]}
    for protocol, endpoint in (("sqs", PAYMENTS_QUEUE), ("lambda", PAYMENTS_FUNCTION)):
        [subscription] = subscriptions(full, protocol)
        assert subscription["Endpoint"] == endpoint
        assert subscription["TopicArn"] == json_topic
        assert subscription["FilterPolicy"] == subscription_filter("payments")
    # And SNS may invoke the function for the json topic alone
    [permission] = [
        p["Properties"]
        for p in full.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == PAYMENTS_FUNCTION
    ]
    assert permission["Principal"] == "sns.amazonaws.com"
    assert permission["SourceArn"] == json_topic


def test_chat_channels_each_get_their_audience_s_chat_topic(full: Synthesized) -> None:
    # Chatbot receives everything its topics carry: the stack's own channels the chat topic of
    # audience "all" (and the alarms), the route's channels the route's chat topic alone
    ids = topic_ids(full)
    own = [{"Ref": ids[f"{FULL_STACK}-chat"]}, {"Ref": ids["Config notifier alarms"]}]
    route = [{"Ref": ids[f"{FULL_STACK}-chat-payments"]}]
    topics_of = {
        c["Properties"]["ConfigurationName"]: c["Properties"]["SnsTopicArns"]
        for c in [*_slack(full), *_teams(full)]
    }
    assert topics_of == {
        f"{FULL_STACK}-slack": own,
        f"{FULL_STACK}-teams": own,
        f"{FULL_STACK}-payments-slack": route,
        f"{FULL_STACK}-payments-teams": route,
    }


def test_slack_channel_is_configured_when_both_ids_are_given(full_template: Template) -> None:
    role = Capture()
    full_template.has_resource_properties(
        "AWS::Chatbot::SlackChannelConfiguration",
        {
            "SlackWorkspaceId": "T0123ABCD",
            "SlackChannelId": "C0123ABCD",
            "ConfigurationName": f"{FULL_STACK}-slack",
            "GuardrailPolicies": [GUARDRAIL],
            "UserRoleRequired": False,
            "LoggingLevel": "ERROR",
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


def test_teams_channels_are_set_up_like_slack_s(full: Synthesized) -> None:
    # Given the Slack and Microsoft Teams channel configurations
    [slack, *_] = _slack(full)
    teams = {c["Properties"]["ConfigurationName"]: c["Properties"] for c in _teams(full)}
    own = teams[f"{FULL_STACK}-teams"]
    # Then the stack's own Teams channel has the ids it was given
    assert (own["TeamId"], own["TeamsChannelId"], own["TeamsTenantId"]) == (
        "a1b2c3d4-0000-4000-8000-00000000beef",
        "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2",
        "e5f6a7b8-0000-4000-8000-00000000cafe",
    )
    # And every Teams channel has Slack's role, guardrail, logging and no user roles
    for config in teams.values():
        assert config["IamRoleArn"] == slack["Properties"]["IamRoleArn"]
        assert config["GuardrailPolicies"] == slack["Properties"]["GuardrailPolicies"]
        assert config["LoggingLevel"] == slack["Properties"]["LoggingLevel"] == "ERROR"
        assert config["UserRoleRequired"] is False


def _slack(synthesis: Synthesized) -> list[dict[str, Any]]:
    return list(synthesis.resources("AWS::Chatbot::SlackChannelConfiguration").values())


def _teams(synthesis: Synthesized) -> list[dict[str, Any]]:
    return list(synthesis.resources("AWS::Chatbot::MicrosoftTeamsChannelConfiguration").values())
