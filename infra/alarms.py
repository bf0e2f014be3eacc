"""The notifier watching itself: alarms that tell operators it is not doing its job."""

from __future__ import annotations

from datetime import timedelta

import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_cloudwatch_actions as actions
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sqs as sqs
from aws_cdk import ArnFormat, Duration, Stack
from constructs import Construct

from infra.config import Schedule
from infra.constants import (
    EVENTS_DROPPED_METRIC,
    EVENTS_FAILED_METRIC,
    FAILED_SOURCES_METRIC,
    MESSAGES_FAILED_METRIC,
    METRIC_SERVICE_DIMENSION,
    METRICS_NAMESPACE,
    SERVICE,
)

# Six hours x 3 evaluation periods stays within CloudWatch's one-day evaluation window.
MAX_PERIOD = timedelta(hours=6)


class Alarms(Construct):
    """Errors, throttles, undelivered ticks and unreadable sources, to the operations topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        schedule: Schedule,
        function: lambda_.IFunction,
        dead_letters: sqs.IQueue,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        # Named "<stack>-<alarm>", so a notification says which notifier and what, and the
        # dashboard can name the alarms by ARN without a reference (alarm names are unique per
        # account and region, as stack names are).
        self.name_prefix = name_prefix
        # One evaluation period per schedule tick, so one datapoint is one run.
        self.period = Duration.seconds(min(schedule.nominal_period, MAX_PERIOD).total_seconds())
        self.all = [*self._function_alarms(function, dead_letters), *self._run_alarms()]
        action = actions.SnsAction(topic)
        for alarm in self.all:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)  # so people also learn it is fixed

    def _function_alarms(
        self, function: lambda_.IFunction, dead_letters: sqs.IQueue
    ) -> list[cloudwatch.Alarm]:
        """The function failing, or not running at all."""
        self.errors = self._alarm(
            "FunctionErrors",
            function.metric_errors(period=self.period, statistic=cloudwatch.Stats.SUM),
            "A run of the notifier failed (an exception or a timeout): transitions are delayed "
            "until a run succeeds. See the function's log group.",
        )
        self.throttles = self._alarm(
            "FunctionThrottles",
            function.metric_throttles(period=self.period, statistic=cloudwatch.Stats.SUM),
            "A tick found the previous run still going (reserved concurrency is 1): runs take "
            "longer than the schedule period. Lengthen the schedule or watch fewer regions.",
        )
        self.dead_letters = self._alarm(
            "ScheduleDeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(
                period=self.period, statistic=cloudwatch.Stats.MAXIMUM
            ),
            "EventBridge could not deliver schedule ticks to the function (see the queue's "
            "messages for why): the notifier is not running.",
        )
        return [self.errors, self.throttles, self.dead_letters]

    def _run_alarms(self) -> list[cloudwatch.Alarm]:
        """What runs report: sources they could not read, events they could not put."""
        # A throttled or denied source is retried by the next run; only a source failing run
        # after run needs a person (2 of the last 3 runs).
        self.failed_sources = self._alarm(
            "FailedSources",
            self._own(FAILED_SOURCES_METRIC),
            "AWS Config status sources, or the snapshot table, could not be read or written "
            "in two of the last three runs (access denied, throttling, or an API error): "
            "their changes are delayed until it clears. The run summary's failed_sources "
            "says which and why.",
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
        # EventBridge refusing events run after run (a missing bus, a lost permission): they wait
        # in the outbox and are lost after a day.
        self.events_failed = self._alarm(
            "EventsNotPut",
            self._own(EVENTS_FAILED_METRIC),
            "EventBridge refused the notifier's events in two of the last three runs (a missing "
            "bus or a lost events:PutEvents permission): they are kept and retried, and dropped "
            "after 24 hours. SNS delivery is not affected.",
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
        self.events_dropped = self._alarm(
            "EventsDropped",
            self._own(EVENTS_DROPPED_METRIC),
            "Events the notifier could not put on its bus for 24 hours were dropped: rules on "
            "the bus missed them (SNS subscribers did not). The run's error log lists them.",
        )
        # SNS refusing messages run after run (a topic or its key policy changed by hand): they
        # are kept and published again each run, and while only some of a message's topics
        # refuse it, the subscribers of the others get it again each run (docs/operations.md).
        self.messages_failed = self._alarm(
            "MessagesNotPublished",
            self._own(MESSAGES_FAILED_METRIC),
            "SNS refused some of the notifier's messages in two of the last three runs (a topic "
            "deleted or its key policy changed by hand, or throttling): they are kept and "
            "published again each run, so subscribers of the topics that took them get them "
            "again each run. The run's log (publish failed; retried next run) names the topic "
            "and why.",
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
        return [self.failed_sources, self.messages_failed, self.events_failed, self.events_dropped]

    def _own(self, metric_name: str) -> cloudwatch.Metric:
        """A metric the handler emits (Powertools Metrics, with its service dimension)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={METRIC_SERVICE_DIMENSION: SERVICE},
            statistic=cloudwatch.Stats.MAXIMUM,
            period=self.period,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self.name_prefix}-{construct_id}",
            metric=metric,
            alarm_description=description,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            # No run in a period (between ticks of a cron schedule) is not a problem.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    @property
    def arns(self) -> list[str]:
        """Each alarm's ARN, built from its name."""
        return [
            Stack.of(self).format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name=f"{self.name_prefix}-{alarm.node.id}",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for alarm in self.all
        ]
