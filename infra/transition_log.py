"""The transition log: every event the function puts on its bus, kept in a log group to query.

The function puts one event per published transition and stuck report on the configured bus
(config_notifier/events.py); a rule on that bus sends them to this log group, so Logs Insights can
answer "what happened to account X this week" (infra/insights.py). EventBridge writes to a log
group only under a CloudWatch Logs resource policy that lets it (docs/security.md quotes the
EventBridge guide); the policy names this log group alone.
"""

from __future__ import annotations

import aws_cdk.aws_events as events
import aws_cdk.aws_iam as iam
import aws_cdk.aws_logs as logs
from aws_cdk import ArnFormat, RemovalPolicy, Stack
from constructs import Construct

from config_notifier.events import SOURCE
from infra.config import AppConfig

# Where the EventBridge guide's example policy lets EventBridge write: "/aws/events/*".
LOG_GROUP_PREFIX = "/aws/events/"
WRITERS = ("events.amazonaws.com", "delivery.logs.amazonaws.com")
WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


class TransitionLog(Construct):
    """A log group that receives the notifier's own events from its bus, and the rule that
    sends them there."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, bus: events.IEventBus
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{LOG_GROUP_PREFIX}{config.stack_name}/transitions",
            retention=config.log_retention,
            # What people were told, kept as long as the function's own logs.
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The ARN EventBridge takes as a target: the log group's, without the ":*" of its
        # log streams that Fn::GetAtt Arn ends with.
        target_arn = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        policy = logs.ResourcePolicy(
            self,
            "Policy",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(writer) for writer in WRITERS],
                    actions=list(WRITE_ACTIONS),
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )
        self.rule = events.CfnRule(
            self,
            "Rule",
            description="Keeps the Config deployment notifier's events in its transition log.",
            event_bus_name=bus.event_bus_name,
            event_pattern={"source": [SOURCE]},
            targets=[events.CfnRule.TargetProperty(id="TransitionLog", arn=target_arn)],
        )
        # No event lands before EventBridge may write it.
        self.rule.node.add_dependency(policy)
