"""Where messages go: the encrypted topics, their email subscribers, Slack through AWS Chatbot."""

from __future__ import annotations

from typing import Any

import aws_cdk.aws_chatbot as chatbot
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sns_subscriptions as subscriptions
from aws_cdk import Aws, RemovalPolicy
from constructs import Construct

from infra.config import AppConfig, EmailFilter, SlackChannel
from infra.constants import (
    CHATBOT_GUARDRAIL_POLICY,
    CHATBOT_SERVICE,
    KEY_USE_ACTIONS,
    SEVERITY_ATTRIBUTE,
)

CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"
# Requests CloudWatch makes for alarms of this stack's account and region only.
_ALARMS_OF_THIS_ACCOUNT: dict[str, Any] = {
    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
    "ArnLike": {
        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
    },
}


class Notifications(Construct):
    """The deployment topic people subscribe to, and the operations topic the alarms use."""

    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig) -> None:
        super().__init__(scope, construct_id)
        # A customer-managed key: the AWS managed aws/sns key's policy cannot be changed, so
        # CloudWatch alarms and AWS Chatbot could not use a topic encrypted with it.
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the Config deployment notifier's SNS topics.",
            enable_key_rotation=True,
            # Only in-flight SNS messages are encrypted with it; AWS still waits 30 days before
            # deleting it, and the deletion can be cancelled.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # For services, only on behalf of this account's own alarms and Slack channel (no
        # confused deputy), as the operations topic's policy says for publishing.
        self._allow_key_use(
            iam.ServicePrincipal(CLOUDWATCH_SERVICE), "CloudWatchAlarms", _ALARMS_OF_THIS_ACCOUNT
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Config deployments",  # the sender name of the emails
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in config.notification_emails:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(
                    email.address, filter_policy=severity_filter(email.filter)
                )
            )
        self.operations_topic = self._operations_topic(config.alarm_email)
        self.slack = self._slack(config.stack_name, config.slack) if config.slack else None

    def _operations_topic(self, alarm_email: str | None) -> sns.Topic:
        """The topic the notifier's own alarms publish to."""
        topic = sns.Topic(
            self,
            "OperationsTopic",
            display_name="Config notifier alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # The topic policy CDK writes for enforce_ssl replaces SNS's default one, so say who
        # may publish: CloudWatch, for alarms in this account only (no confused deputy).
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=_ALARMS_OF_THIS_ACCOUNT,
            )
        )
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    def _slack(self, stack_name: str, slack: SlackChannel) -> chatbot.SlackChannelConfiguration:
        """Both topics in a Slack channel, through AWS Chatbot."""
        name = f"{stack_name[:120]}-slack"
        self._allow_key_use(
            iam.ServicePrincipal(CHATBOT_SERVICE),
            "AwsChatbot",
            {
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                # Built from its name rather than read from the resource: the channel refers
                # to the topics, which refer to this key.
                "ArnEquals": {
                    "aws:SourceArn": f"arn:{Aws.PARTITION}:chatbot::{Aws.ACCOUNT_ID}:"
                    f"chat-configuration/slack-channel/{name}"
                },
            },
        )
        # Chatbot only relays what the topics publish; it needs no AWS permissions itself, and
        # the guardrail caps anyone in the channel at reading CloudWatch.
        role = iam.Role(
            self,
            "SlackRole",
            assumed_by=iam.ServicePrincipal(CHATBOT_SERVICE),
            description="AWS Chatbot channel role: no permissions, notifications only.",
        )
        return chatbot.SlackChannelConfiguration(
            self,
            "Slack",
            slack_channel_configuration_name=name,
            slack_workspace_id=slack.workspace_id,
            slack_channel_id=slack.channel_id,
            notification_topics=[self.topic, self.operations_topic],
            role=role,
            guardrail_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(CHATBOT_GUARDRAIL_POLICY)
            ],
            user_role_required=False,
            logging_level=chatbot.LoggingLevel.ERROR,
        )

    def allow_publisher(self, role: iam.IRole) -> None:
        """Name `role` in the key policy too, so the key policy alone lists everyone who uses it."""
        self._allow_key_use(role, "NotifierFunction")

    def _allow_key_use(
        self, principal: iam.IPrincipal, sid: str, conditions: dict[str, Any] | None = None
    ) -> None:
        # A key policy's Resource "*" is the key itself.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[principal],
                actions=list(KEY_USE_ACTIONS),
                resources=["*"],
                conditions=conditions,
            )
        )


def severity_filter(email_filter: EmailFilter) -> dict[str, sns.SubscriptionFilter] | None:
    """An SNS filter policy on the `severity` message attribute; None lets everything through."""
    severities = email_filter.severities
    if severities is None:
        return None
    return {
        SEVERITY_ATTRIBUTE: sns.SubscriptionFilter.string_filter(
            allowlist=[severity.value for severity in severities]
        )
    }
