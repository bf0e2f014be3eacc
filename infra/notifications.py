"""Where messages go: a topic per rendering, encrypted; the stack's own subscribers, each route's
destinations, and Slack and Microsoft Teams channels through AWS Chatbot (docs/messages.md,
"Topics" and "Routes")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk.aws_chatbot as chatbot
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sns_subscriptions as subscriptions
import aws_cdk.aws_sqs as sqs
from aws_cdk import Aws, RemovalPolicy
from constructs import Construct

from config_notifier.model import EVERYONE, Rendering, Severity
from config_notifier.publish import topic_suffix
from infra.config import AppConfig, EmailSubscription, RouteConfig, SlackChannel, TeamsChannel
from infra.constants import CHATBOT_GUARDRAIL_POLICY, CHATBOT_SERVICE, KEY_USE_ACTIONS
from infra.environment import topic_name_prefix
from infra.filters import subscription_filter

CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"
# Requests CloudWatch makes for alarms of this stack's account and region only.
_ALARMS_OF_THIS_ACCOUNT: dict[str, Any] = {
    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
    "ArnLike": {
        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
    },
}


class Notifications(Construct):
    """The topics people subscribe to (one per rendering, and a chat topic per route), their
    subscribers, and the operations topic the alarms use."""

    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig) -> None:
        super().__init__(scope, construct_id)
        self._stack_name = config.stack_name
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
        # For services, only on behalf of this account's own alarms and chat channels (no
        # confused deputy), as the operations topic's policy says for publishing.
        self._allow_key_use(
            iam.ServicePrincipal(CLOUDWATCH_SERVICE), "CloudWatchAlarms", _ALARMS_OF_THIS_ACCOUNT
        )
        # Named, so the function knows each topic's ARN from one prefix (its environment has
        # 4 KB for everything) and a subscriber can find them: `<stack>-text`, `-json`, `-chat`.
        self.text_topic = self._topic("TextTopic", Rendering.TEXT, "Config deployments")
        self.json_topic = self._topic("JsonTopic", Rendering.JSON, "Config deployments (JSON)")
        self.chat_topic = self._topic("ChatTopic", Rendering.CHAT, "Config deployments (chat)")
        for email in config.notification_emails:
            self._email(email, EVERYONE)
        self.operations_topic = self._operations_topic(config.alarm_email)
        # Chatbot delivers everything its topics carry: the stack's own channels get the
        # chat topic of audience `all`, and each route's channels the route's own chat topic.
        self.route_chat_topics: dict[str, sns.Topic] = {}
        self._chat_channels: list[str] = []  # their ARNs, for the key policy
        self._chat_role: iam.Role | None = None
        self.slack = (
            self._slack("Slack", "slack", config.slack, [self.chat_topic, self.operations_topic])
            if config.slack
            else None
        )
        self.teams = (
            self._teams("Teams", "teams", config.teams, [self.chat_topic, self.operations_topic])
            if config.teams
            else None
        )
        for route in config.routes:
            self._route(route)
        if self._chat_channels:
            self._allow_chatbot()

    @property
    def topics(self) -> list[sns.Topic]:
        """Every topic the function publishes to."""
        return [
            self.text_topic,
            self.json_topic,
            self.chat_topic,
            *self.route_chat_topics.values(),
        ]

    @property
    def topic_arn_prefix(self) -> str:
        """The topics' ARNs up to their suffix, as the function's TOPIC_ARN_PREFIX."""
        return (
            f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
            f"{topic_name_prefix(self._stack_name)}"
        )

    def _topic(
        self, construct_id: str, rendering: Rendering, display_name: str, audience: str = EVERYONE
    ) -> sns.Topic:
        return sns.Topic(
            self,
            construct_id,
            topic_name=topic_name_prefix(self._stack_name) + topic_suffix(rendering, audience),
            display_name=display_name,  # the sender name of the emails
            master_key=self.key,
            enforce_ssl=True,
        )

    def _email(self, email: EmailSubscription, audience: str, construct_id: str = "") -> None:
        """An email subscriber of the text topic: the copies for `audience`, of the severities
        its filter lets through. A route's have ids of their own, so an address may be the
        stack's and a route's both."""
        filter_policy = audience_filter(audience, email.filter.severities)
        if not construct_id:
            self.text_topic.add_subscription(
                subscriptions.EmailSubscription(email.address, filter_policy=filter_policy)
            )
            return
        sns.Subscription(
            self,
            construct_id,
            topic=self.text_topic,
            protocol=sns.SubscriptionProtocol.EMAIL,
            endpoint=email.address,
            filter_policy=filter_policy,
        )

    def _route(self, route: RouteConfig) -> None:
        """A route's destinations, each selecting the route's copies (audience = its name)."""
        name = route.name
        for index, email in enumerate(route.emails):
            self._email(email, name, f"Route-{name}-Email{index}")
        only_the_route = audience_filter(name)
        for index, queue_arn in enumerate(route.queues):
            queue = sqs.Queue.from_queue_arn(self, f"Route-{name}-Queue{index}", queue_arn)
            self.json_topic.add_subscription(
                subscriptions.SqsSubscription(queue, filter_policy=only_the_route)
            )
        for index, function_arn in enumerate(route.functions):
            # Same environment: the stack adds SNS's permission to invoke it, which only works
            # for a function of the stack's own account and region (docs/settings.md, "Routes").
            function = lambda_.Function.from_function_attributes(
                self,
                f"Route-{name}-Function{index}",
                function_arn=function_arn,
                same_environment=True,
            )
            self.json_topic.add_subscription(
                subscriptions.LambdaSubscription(function, filter_policy=only_the_route)
            )
        # Every route has its chat topic, with or without chat channels: the function knows the
        # topics by name alone, and a channel can be added to it later.
        topic = self._topic(
            f"Route-{name}-ChatTopic", Rendering.CHAT, f"Config deployments ({name})", name
        )
        self.route_chat_topics[name] = topic
        if route.slack:
            self._slack(f"Route-{name}-Slack", f"{name}-slack", route.slack, [topic])
        if route.teams:
            self._teams(f"Route-{name}-Teams", f"{name}-teams", route.teams, [topic])

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

    def _configuration_name(self, suffix: str) -> str:
        """A chat configuration's name: the stack's, then what it is for (at most 128)."""
        return f"{self._stack_name[: 127 - len(suffix)]}-{suffix}"

    def _slack(
        self, construct_id: str, suffix: str, slack: SlackChannel, topics: Sequence[sns.ITopic]
    ) -> chatbot.SlackChannelConfiguration:
        """A Slack channel of `topics`, through AWS Chatbot."""
        name = self._configuration_name(suffix)
        self._chat_channels.append(_chat_configuration_arn("slack-channel", name))
        return chatbot.SlackChannelConfiguration(
            self,
            construct_id,
            slack_channel_configuration_name=name,
            slack_workspace_id=slack.workspace_id,
            slack_channel_id=slack.channel_id,
            notification_topics=list(topics),
            role=self._role(),
            guardrail_policies=[_guardrail()],
            user_role_required=False,
            logging_level=chatbot.LoggingLevel.ERROR,
        )

    def _teams(
        self, construct_id: str, suffix: str, teams: TeamsChannel, topics: Sequence[sns.ITopic]
    ) -> chatbot.CfnMicrosoftTeamsChannelConfiguration:
        """A Microsoft Teams channel of `topics`, through AWS Chatbot: the role, guardrail and
        logging of the Slack channel."""
        name = self._configuration_name(suffix)
        self._chat_channels.append(_chat_configuration_arn("microsoft-teams-channel", name))
        return chatbot.CfnMicrosoftTeamsChannelConfiguration(
            self,
            construct_id,
            configuration_name=name,
            team_id=teams.team_id,
            teams_channel_id=teams.channel_id,
            teams_tenant_id=teams.tenant_id,
            sns_topic_arns=[topic.topic_arn for topic in topics],
            iam_role_arn=self._role().role_arn,
            guardrail_policies=[_guardrail().managed_policy_arn],
            user_role_required=False,
            logging_level=chatbot.LoggingLevel.ERROR.value,
        )

    def _role(self) -> iam.Role:
        """The one role of every chat channel. Chatbot only relays what the topics publish; it
        needs no AWS permissions itself, and the guardrail caps anyone in a channel at reading
        CloudWatch."""
        if self._chat_role is None:
            self._chat_role = iam.Role(
                self,
                "ChatRole",
                assumed_by=iam.ServicePrincipal(CHATBOT_SERVICE),
                description="AWS Chatbot channel role: no permissions, notifications only.",
            )
        return self._chat_role

    def _allow_chatbot(self) -> None:
        self._allow_key_use(
            iam.ServicePrincipal(CHATBOT_SERVICE),
            "AwsChatbot",
            {
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                # Built from their names rather than read from the resources: the channels
                # refer to the topics, which refer to this key.
                "ArnEquals": {"aws:SourceArn": self._chat_channels},
            },
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


def _chat_configuration_arn(kind: str, name: str) -> str:
    return f"arn:{Aws.PARTITION}:chatbot::{Aws.ACCOUNT_ID}:chat-configuration/{kind}/{name}"


def _guardrail() -> iam.IManagedPolicy:
    return iam.ManagedPolicy.from_aws_managed_policy_name(CHATBOT_GUARDRAIL_POLICY)


def audience_filter(
    audience: str, severities: Sequence[Severity] | None = None
) -> dict[str, sns.SubscriptionFilter]:
    """An SNS filter policy on message attributes: the copies for `audience`, and of those only
    `severities` (None: all of them)."""
    policy = subscription_filter(audience, severities)
    return {
        name: sns.SubscriptionFilter.string_filter(allowlist=allowed)
        for name, allowed in policy.items()
    }
