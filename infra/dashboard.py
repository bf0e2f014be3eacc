"""The operator's dashboard: is the notifier running, what did it find, and what is alarming.

Every metric is one the function emits (handler.py, through Powertools Metrics) or Lambda's own;
tests/infra/test_operator_view.py checks each against what a real run emitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_lambda as lambda_
from aws_cdk import Aws, Duration
from constructs import Construct

from config_notifier.model import Severity
from infra.config import AppConfig
from infra.constants import (
    CONFIG_API_CALLS_METRIC,
    FAILED_SOURCES_METRIC,
    MESSAGES_FAILED_METRIC,
    MESSAGES_PUBLISHED_METRIC,
    METRIC_SERVICE_DIMENSION,
    METRICS_NAMESPACE,
    MUTED_METRIC,
    REMINDER_METRICS,
    SERVICE,
    TRANSITION_METRICS,
)
from infra.insights import SAVED_QUERIES

WIDTH = 8  # three widgets to a row of 24
HEIGHT = 6
# A severity's colour, worst first, as people read alerts.
SEVERITY_COLOURS = {
    Severity.FAILURE: cloudwatch.Color.RED,
    Severity.STUCK: cloudwatch.Color.ORANGE,
    Severity.RECOVERY: cloudwatch.Color.GREEN,
    Severity.PROGRESS: cloudwatch.Color.BLUE,
}


class Dashboard(Construct):
    """One CloudWatch dashboard: runs, their duration and the alarms; failed sources,
    transitions by severity and Config calls; messages and reminders."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        function: lambda_.IFunction,
        alarm_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.period = Duration.seconds(
            min(
                max(config.schedule.nominal_period, timedelta(minutes=1)), timedelta(hours=1)
            ).total_seconds()
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            # Dashboard names are the account's, not the region's.
            dashboard_name=f"{config.stack_name}-{Aws.REGION}",
            default_interval=Duration.days(1),
        )
        alarms = [
            cloudwatch.Alarm.from_alarm_arn(self, f"Alarm{number}", arn)
            for number, arn in enumerate(alarm_arns, start=1)
        ]
        self.dashboard.add_widgets(*self._running(function, alarms))
        self.dashboard.add_widgets(*self._findings())
        self.dashboard.add_widgets(*self._messages())

    def _running(
        self, function: lambda_.IFunction, alarms: Sequence[cloudwatch.IAlarm]
    ) -> list[cloudwatch.IWidget]:
        period, total = self.period, cloudwatch.Stats.SUM
        return [
            self._graph(
                "Runs",
                [
                    function.metric_invocations(label="Runs", period=period, statistic=total),
                    function.metric_errors(
                        label="Failed (exception or timeout)", period=period, statistic=total
                    ),
                    function.metric_throttles(
                        label="Throttled (previous run still going)",
                        period=period,
                        statistic=total,
                    ),
                ],
            ),
            self._graph(
                "Run duration",
                [
                    function.metric_duration(label=label, period=self.period, statistic=statistic)
                    for label, statistic in (
                        ("Average", cloudwatch.Stats.AVERAGE),
                        ("Longest", cloudwatch.Stats.MAXIMUM),
                    )
                ],
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(alarms), width=WIDTH, height=HEIGHT
            ),
        ]

    def _findings(self) -> list[cloudwatch.IWidget]:
        return [
            self._graph(
                "Failed sources (unread, retried next run)",
                [self._own(FAILED_SOURCES_METRIC, "Failed sources", cloudwatch.Stats.MAXIMUM)],
            ),
            self._graph(
                "Transitions by severity",
                [
                    self._own(name, severity.value, colour=SEVERITY_COLOURS[severity])
                    for severity, name in TRANSITION_METRICS.items()
                ],
                stacked=True,
            ),
            self._graph(
                "AWS Config API calls", [self._own(CONFIG_API_CALLS_METRIC, "Config calls")]
            ),
        ]

    def _messages(self) -> list[cloudwatch.IWidget]:
        messages = self._graph(
            "Messages",
            [
                self._own(MESSAGES_PUBLISHED_METRIC, "Published"),
                self._own(MESSAGES_FAILED_METRIC, "Not published (retried next run)"),
                self._own(MUTED_METRIC, "Muted"),
            ],
        )
        reminders = self._graph("Reminders", [self._own(name, name) for name in REMINDER_METRICS])
        queries = cloudwatch.TextWidget(
            markdown="### Saved Logs Insights queries\n"
            + "\n".join(f"- {query.title}" for query in SAVED_QUERIES)
            + "\n\nIn Logs Insights, under Saved queries (the stack's outputs name them).",
            width=WIDTH,
            height=HEIGHT,
        )
        return [messages, reminders, queries]

    def _own(
        self,
        metric_name: str,
        label: str,
        statistic: str = cloudwatch.Stats.SUM,
        colour: str | None = None,
    ) -> cloudwatch.Metric:
        """A metric the handler emits (Powertools Metrics, with its service dimension)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={METRIC_SERVICE_DIMENSION: SERVICE},
            statistic=statistic,
            period=self.period,
            label=label,
            color=colour,
        )

    @staticmethod
    def _graph(
        title: str, metrics: Sequence[cloudwatch.IMetric], *, stacked: bool = False
    ) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=title, left=list(metrics), stacked=stacked, width=WIDTH, height=HEIGHT
        )
