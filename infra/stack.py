"""The notifier's stack: composes the capabilities and says where to find them."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CfnOutput, IStackSynthesizer, Stack
from constructs import Construct

from infra.alarms import Alarms
from infra.config import AppConfig
from infra.dashboard import Dashboard
from infra.insights import (
    INSIGHTS_QUERY,
    SAVED_QUERIES,
    SavedQueries,
    Source,
    insights_console_url,
)
from infra.notifications import Notifications
from infra.notifier import Notifier
from infra.storage import SnapshotStorage
from infra.transition_log import TransitionLog


class NotifierStack(Stack):
    """Everything one notifier needs, in one environment-agnostic stack (no lookups at synth)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        code: Path,
        synthesizer: IStackSynthesizer | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=config.stack_name,
            description="Tells people when AWS Config organization rule and conformance pack "
            "deployments change state (config-deployment-notifier).",
            synthesizer=synthesizer,
        )
        self.storage = SnapshotStorage(self, "Snapshot")
        self.notifications = Notifications(self, "Notifications", config=config)
        self.notifier = Notifier(
            self,
            "Notifier",
            config=config,
            code=code,
            table=self.storage.table,
            topics=self.notifications.topics,
            topic_arn_prefix=self.notifications.topic_arn_prefix,
            key=self.notifications.key,
        )
        self.notifications.allow_publisher(self.notifier.role)
        self.alarms = Alarms(
            self,
            "Alarms",
            name_prefix=config.stack_name,
            schedule=config.schedule,
            function=self.notifier.function,
            dead_letters=self.notifier.dead_letters,
            topic=self.notifications.operations_topic,
        )
        self.transition_log = TransitionLog(
            self, "TransitionLog", config=config, bus=self.notifier.event_bus
        )
        self.queries = SavedQueries(
            self,
            "Queries",
            prefix=config.stack_name,
            sources={
                Source.FUNCTION: self.notifier.log_group.log_group_name,
                Source.TRANSITIONS: self.transition_log.log_group.log_group_name,
            },
        )
        self.dashboard = Dashboard(
            self,
            "OperatorView",
            config=config,
            function=self.notifier.function,
            alarm_arns=self.alarms.arns,
        )
        self._outputs()

    def _outputs(self) -> None:
        function_logs = self.notifier.log_group.log_group_name
        log_groups = {
            Source.FUNCTION: function_logs,
            Source.TRANSITIONS: self.transition_log.log_group.log_group_name,
        }
        outputs = {
            "TextTopicArn": (
                self.notifications.text_topic.topic_arn,
                "Email text of every message: subscribe with a filter policy on audience",
            ),
            "JsonTopicArn": (
                self.notifications.json_topic.topic_arn,
                "JSON document of every message, for SQS, Lambda and HTTPS subscribers",
            ),
            "ChatTopicArn": (
                self.notifications.chat_topic.topic_arn,
                "AWS Chatbot card of every message for everyone (audience all)",
            ),
            "OperationsTopicArn": (
                self.notifications.operations_topic.topic_arn,
                "The notifier's own alarms",
            ),
            "SnapshotTableName": (
                self.storage.table.table_name,
                "What was last reported (retained)",
            ),
            "FunctionName": (self.notifier.function.function_name, "Runs once per schedule tick"),
            "FunctionRoleArn": (
                self.notifier.role.role_arn,
                "What delegated administrators' roles trust (a fixed name, docs/security.md)",
            ),
            "LogGroupName": (function_logs, "The function's structured logs"),
            "TransitionLogGroupName": (
                log_groups[Source.TRANSITIONS],
                "Every published transition, one event each",
            ),
            "DashboardName": (
                self.dashboard.dashboard.dashboard_name,
                "The operator's CloudWatch dashboard",
            ),
            "LogsInsightsQuery": (INSIGHTS_QUERY, "Run summaries and errors, newest first"),
            "LogsInsightsUrl": (
                insights_console_url(Aws.REGION, function_logs),
                "Opens the query above on the function's log group",
            ),
        }
        for query in SAVED_QUERIES:
            outputs[f"{query.id}Query"] = (
                self.queries.names[query.id],
                f"Saved Logs Insights query: {query.title}",
            )
            outputs[f"{query.id}QueryUrl"] = (
                insights_console_url(
                    Aws.REGION, log_groups[query.source], query.text, days=query.days
                ),
                f"Opens '{query.title}' over the last {query.days} day(s)",
            )
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
