"""The notifier's stack: composes the capabilities and says where to find them."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CfnOutput, IStackSynthesizer, Stack
from constructs import Construct

from infra.alarms import Alarms
from infra.config import AppConfig
from infra.notifications import Notifications
from infra.notifier import INSIGHTS_QUERY, Notifier, insights_console_url
from infra.storage import SnapshotStorage


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
        storage = SnapshotStorage(self, "Snapshot")
        notifications = Notifications(self, "Notifications", config=config)
        notifier = Notifier(
            self,
            "Notifier",
            config=config,
            code=code,
            table=storage.table,
            topic=notifications.topic,
            key=notifications.key,
        )
        notifications.allow_publisher(notifier.role)
        Alarms(
            self,
            "Alarms",
            schedule=config.schedule,
            function=notifier.function,
            dead_letters=notifier.dead_letters,
            topic=notifications.operations_topic,
        )

        outputs = {
            "TopicArn": (notifications.topic.topic_arn, "Subscribe here to receive transitions"),
            "OperationsTopicArn": (
                notifications.operations_topic.topic_arn,
                "The notifier's own alarms",
            ),
            "SnapshotTableName": (storage.table.table_name, "What was last reported (retained)"),
            "FunctionName": (notifier.function.function_name, "Runs once per schedule tick"),
            "LogGroupName": (notifier.log_group.log_group_name, "The function's structured logs"),
            "LogsInsightsQuery": (INSIGHTS_QUERY, "Run summaries and errors, newest first"),
            "LogsInsightsUrl": (
                insights_console_url(Aws.REGION, notifier.log_group.log_group_name),
                "Opens the query above on the function's log group",
            ),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
