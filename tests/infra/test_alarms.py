"""The notifier's own alarms: what they watch, and that they reach the operations topic."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from bench import costs
from config_notifier import METRICS_NAMESPACE, SERVICE, handler
from sandbox.deploy import Synthesized

pytestmark = pytest.mark.slow


def alarms_by_metric(synthesis: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in synthesis.resources("AWS::CloudWatch::Alarm").values()
    }


def operations_topic_id(synthesis: Synthesized) -> str:
    (topic_id,) = [
        logical_id
        for logical_id, topic in synthesis.resources("AWS::SNS::Topic").items()
        if topic["Properties"]["DisplayName"] == "Config notifier alarms"
    ]
    return topic_id


def test_there_are_exactly_seven_alarms(default: Synthesized) -> None:
    # And the cost model prices as many (docs/performance.md)
    assert len(default.resources("AWS::CloudWatch::Alarm")) == costs.ALARMS
    assert set(alarms_by_metric(default)) == {
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
        "FailedSources",
        "MessagesFailed",
        "EventsFailed",
        "EventsDropped",
    }


@pytest.mark.parametrize(
    ("metric", "periods", "datapoints"),
    [("EventsFailed", 3, 2), ("EventsDropped", 1, 1), ("MessagesFailed", 3, 2)],
)
def test_events_or_messages_not_put_for_long_or_lost_alarm(
    template: Template, metric: str, periods: int, datapoints: int
) -> None:
    # The handler emits these (handler._emit); refusals repeated, or any event lost, need a
    # person
    assert metric in inspect.getsource(handler._emit)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": METRICS_NAMESPACE,
            "MetricName": metric,
            "Dimensions": [{"Name": "service", "Value": SERVICE}],
            "Threshold": 1,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": datapoints,
            "TreatMissingData": "notBreaching",
        },
    )


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_function_errors_and_throttles_alarm_on_the_first_one(
    template: Template, metric: str
) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [
                {
                    "Name": "FunctionName",
                    "Value": {"Ref": Match.string_like_regexp("NotifierFunction")},
                }
            ],
            "Statistic": "Sum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 1,
            "Period": 300,
        },
    )


def test_undeliverable_ticks_alarm(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {
                    "Name": "QueueName",
                    "Value": {
                        "Fn::GetAtt": [Match.string_like_regexp("ScheduleDeadLetters"), "QueueName"]
                    },
                }
            ],
            "Threshold": 1,
        },
    )


def test_failed_sources_alarm_watches_the_metric_the_handler_emits(template: Template) -> None:
    # The namespace and service dimension come from the handler module (Powertools Metrics).
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": METRICS_NAMESPACE,
            "MetricName": "FailedSources",
            "Dimensions": [{"Name": "service", "Value": SERVICE}],
            "Threshold": 1,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "TreatMissingData": "notBreaching",
        },
    )


def test_every_alarm_and_its_recovery_reach_the_operations_topic(default: Synthesized) -> None:
    topic = {"Ref": operations_topic_id(default)}
    for alarm in alarms_by_metric(default).values():
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]


def test_alarm_period_follows_the_schedule(synthesized: Callable[[str], Synthesized]) -> None:
    # Given rate(1 hour): one period per run
    for alarm in alarms_by_metric(synthesized("full")).values():
        assert alarm["Period"] == 3600
