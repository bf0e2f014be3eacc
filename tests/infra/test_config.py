"""CDK context becomes one validated AppConfig; a wrong value names its key and shows an example."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from config_notifier.model import Severity
from config_notifier.mute import Mute
from config_notifier.routing import Route
from config_notifier.settings import BaselineMode, Settings, SettingsError
from infra.config import (
    DEFAULTS,
    EXAMPLES,
    AppConfig,
    ContextError,
    EmailFilter,
    EmailSubscription,
    SlackChannel,
    TeamsChannel,
)
from infra.routes import TEAM_ID, TEAMS_CHANNEL_ID, TENANT_ID
from tests.infra.support import CDK_JSON_CONTEXT


def config_from(**context: Any) -> AppConfig:
    return AppConfig.from_context(context.get)


def problems_of(**context: Any) -> list[str]:
    with pytest.raises(ContextError) as caught:
        config_from(**context)
    return caught.value.problems


def test_cdk_json_ships_the_documented_defaults() -> None:
    # Given the context in cdk.json and the defaults in infra/config.py
    # Then they are the same keys with the same values
    assert CDK_JSON_CONTEXT == DEFAULTS


def test_defaults_describe_the_documented_notifier() -> None:
    # When nothing is set
    config = AppConfig.defaults()

    # Then the defaults hold
    assert config.stack_name == "ConfigDeploymentNotifier"
    assert config.schedule.expression == "rate(5 minutes)"
    assert config.schedule.period == timedelta(minutes=5)
    assert config.regions == ("us-east-1",)
    assert config.notification_emails == ()
    assert config.slack is None
    assert config.teams is None
    assert config.routes == ()
    assert config.baseline_mode is BaselineMode.SILENT
    assert config.log_retention_days == 90
    assert config.alarm_email is None
    assert config.max_concurrency == 8
    assert config.full_reconcile_hours == 24


def test_every_key_is_read_and_typed() -> None:
    # Given a context setting every key
    config = config_from(
        stackName="Notifier-2",
        schedule="cron(0/10 * * * ? *)",
        regions=["eu-west-1", "us-east-1", "eu-west-1"],
        notificationEmails=[
            {"address": "ops@example.com", "filter": "failures"},
            "all@example.com",
        ],
        slackWorkspaceId="T0123ABCD",
        slackChannelId="C0123ABCD",
        teamsTeamId=TEAM_ID,
        teamsChannelId=TEAMS_CHANNEL_ID,
        teamsTenantId=TENANT_ID,
        baselineMode="ALL",
        logRetentionDays=365,
        alarmEmail="oncall@example.com",
        maxConcurrency=16,
        fullReconcileHours=6,
        stuckAfterMinutes=0,
        accountNamesRefreshHours=0,
        mutes='[{"severity": "progress", "until": "2027-01-31"}]',
        eventBusName="ops-events",
        routes=[
            {
                "name": "payments",
                "match": {"accounts": ["111122223333"]},
                "destinations": {"queues": ["arn:aws:sqs:eu-west-1:111122223333:deployments"]},
            }
        ],
    )

    # Then each becomes its typed value (duplicate regions once, in order)
    assert config.stack_name == "Notifier-2"
    assert config.schedule.expression == "cron(0/10 * * * ? *)"
    assert config.schedule.period is None
    assert config.regions == ("eu-west-1", "us-east-1")
    assert config.notification_emails == (
        EmailSubscription("ops@example.com", EmailFilter.FAILURES),
        EmailSubscription("all@example.com", EmailFilter.ALL),
    )
    assert config.slack == SlackChannel("T0123ABCD", "C0123ABCD")
    assert config.teams == TeamsChannel(TEAM_ID, TEAMS_CHANNEL_ID, TENANT_ID)
    [route] = config.routes
    assert route.route == Route("payments", accounts=("111122223333",))
    assert route.queues == ("arn:aws:sqs:eu-west-1:111122223333:deployments",)
    assert config.baseline_mode is BaselineMode.ALL
    assert config.log_retention_days == 365
    assert config.alarm_email == "oncall@example.com"
    assert config.max_concurrency == 16
    assert config.full_reconcile_hours == 6
    assert config.stuck_after_minutes == 0
    assert config.account_names_refresh_hours == 0
    assert config.event_bus_name == "ops-events"
    assert config.mutes == (Mute(severity=Severity.PROGRESS, until=date(2027, 1, 31)),)


def test_command_line_strings_are_accepted() -> None:
    # Given values as `cdk synth -c key=value` passes them: always strings
    config = config_from(
        regions="us-east-1, eu-west-1",
        notificationEmails='[{"address": "ops@example.com", "filter": "failures-and-recoveries"}]',
        maxConcurrency="4",
        logRetentionDays="30",
    )

    # Then lists and numbers are parsed from them
    assert config.regions == ("us-east-1", "eu-west-1")
    assert config.notification_emails == (
        EmailSubscription("ops@example.com", EmailFilter.FAILURES_AND_RECOVERIES),
    )
    assert config.max_concurrency == 4
    assert config.log_retention_days == 30


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(15 minutes)", timedelta(minutes=15)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(2 days)", timedelta(days=2)),
        ("cron(0 8 ? * MON-FRI *)", None),
    ],
)
def test_schedule_accepts_rate_and_cron(expression: str, period: timedelta | None) -> None:
    # When the schedule is a valid EventBridge expression
    schedule = config_from(schedule=expression).schedule

    # Then it is kept verbatim, with its period when it has one
    assert schedule.expression == expression
    assert schedule.period == period


@pytest.mark.parametrize(
    "expression",
    [
        "every 5 minutes",
        "rate(5 minute)",
        "rate(1 minutes)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "cron(0 8 * * *)",
        "cron(0 8 * * MON *)",
    ],
)
def test_schedule_rejects_what_eventbridge_rejects(expression: str) -> None:
    # When the schedule is not a valid EventBridge expression
    problems = problems_of(schedule=expression)

    # Then the one problem names the key and shows a valid example
    assert len(problems) == 1
    assert problems[0].startswith("schedule: ")
    assert 'for example "schedule": "rate(5 minutes)"' in problems[0]


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"stackName": "1-starts-with-a-digit"}, "stackName"),
        ({"regions": []}, "regions"),
        ({"regions": ["us-east-1", "Mars"]}, "regions"),
        ({"regions": '["us-east-1"'}, "regions"),
        ({"notificationEmails": ["not-an-address"]}, "notificationEmails"),
        (
            {"notificationEmails": [{"address": "a@example.com", "filter": "most"}]},
            "notificationEmails",
        ),
        ({"notificationEmails": [{"email": "a@example.com"}]}, "notificationEmails"),
        ({"notificationEmails": ["a@example.com", "A@example.com"]}, "notificationEmails"),
        ({"slackWorkspaceId": "T0123ABCD"}, "slackChannelId"),
        ({"slackChannelId": "C0123ABCD"}, "slackWorkspaceId"),
        ({"slackWorkspaceId": "t-lowercase", "slackChannelId": "C1"}, "slackWorkspaceId"),
        ({"teamsTeamId": TEAM_ID, "teamsChannelId": TEAMS_CHANNEL_ID}, "teamsTenantId"),
        ({"teamsChannelId": TEAMS_CHANNEL_ID, "teamsTenantId": TENANT_ID}, "teamsTeamId"),
        (
            {"teamsTeamId": TEAM_ID, "teamsChannelId": "C0123ABCD", "teamsTenantId": TENANT_ID},
            "teamsChannelId",
        ),
        ({"baselineMode": "loud"}, "baselineMode"),
        ({"logRetentionDays": 42}, "logRetentionDays"),
        ({"logRetentionDays": "ninety"}, "logRetentionDays"),
        ({"alarmEmail": "oncall"}, "alarmEmail"),
        ({"maxConcurrency": 0}, "maxConcurrency"),
        ({"maxConcurrency": True}, "maxConcurrency"),
        ({"fullReconcileHours": 721}, "fullReconcileHours"),
        ({"stuckAfterMinutes": "2h"}, "stuckAfterMinutes"),
        ({"accountNamesRefreshHours": 721}, "accountNamesRefreshHours"),
        ({"mutes": [{"severity": "loud"}]}, "mutes"),
        ({"eventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/x"}, "eventBusName"),
        ({"mutes": [{"until": "2026-12-31"}]}, "mutes"),
        ({"mutes": [{"name": f"pack-{i}-*"} for i in range(200)]}, "mutes"),
        ({"delegatedAdmins": ["arn:aws:iam::111122223333:user/alice"]}, "delegatedAdmins"),
        ({"delegatedAdmins": [{"account": "1111", "roleName": "r"}]}, "delegatedAdmins"),
        ({"delegatedAdmins": [{"account": "111122223333"}]}, "delegatedAdmins"),
        (
            {
                "delegatedAdmins": [
                    "arn:aws:iam::111122223333:role/a",
                    {"account": "111122223333", "roleName": "b"},
                ]
            },
            "delegatedAdmins",
        ),
    ],
)
def test_a_wrong_value_names_its_key_and_shows_an_example(
    context: dict[str, Any], key: str
) -> None:
    # When one key is wrong
    problems = problems_of(**context)

    # Then exactly that key is reported, with the example of a right value
    assert len(problems) == 1
    assert problems[0].startswith(f"{key}: ")
    assert problems[0].endswith(f"for example {EXAMPLES[key]}")


def test_every_problem_is_reported_at_once() -> None:
    # Given three wrong keys
    with pytest.raises(ContextError) as caught:
        config_from(regions=["nowhere"], baselineMode="loud", maxConcurrency=100)

    # Then one error lists all three, each with an example
    message = str(caught.value)
    assert message.startswith("Invalid CDK context")
    for key in ("regions", "baselineMode", "maxConcurrency"):
        assert f"  - {key}: " in message
    assert message.count("for example") == 3


def test_examples_are_themselves_valid() -> None:
    # Given the example each error shows, parsed as the cdk.json fragment it is
    for key, example in EXAMPLES.items():
        fragment = json.loads("{" + example.split(" (")[0] + "}")
        # Then the example is accepted
        config_from(**fragment)
        assert key in fragment


@pytest.mark.parametrize(
    ("email_filter", "severities"),
    [
        ("failures", (Severity.FAILURE, Severity.STUCK)),
        ("failures-and-recoveries", (Severity.FAILURE, Severity.STUCK, Severity.RECOVERY)),
        ("all", None),
    ],
)
def test_email_filters_select_severities(
    email_filter: str, severities: tuple[Severity, ...] | None
) -> None:
    assert EmailFilter(email_filter).severities == severities


@pytest.mark.parametrize(
    ("key", "env_name", "value"),
    [("maxConcurrency", "MAX_CONCURRENCY", value) for value in (0, 1, 64, 65)]
    + [("fullReconcileHours", "FULL_RECONCILE_HOURS", value) for value in (0, 1, 720, 721)]
    + [("stuckAfterMinutes", "STUCK_AFTER_MINUTES", value) for value in (-1, 0, 43200, 43201)]
    + [
        ("accountNamesRefreshHours", "ACCOUNT_NAMES_REFRESH_HOURS", value)
        for value in (-1, 0, 720, 721)
    ]
    + [("reminderHours", "REMINDER_HOURS", value) for value in (-1, 0, 720, 721)],
)
def test_context_accepts_exactly_what_the_function_accepts(
    key: str, env_name: str, value: int
) -> None:
    # Given a value at or just past the function's bounds
    env = {
        "SNAPSHOT_TABLE_NAME": "snapshot",
        "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:topic-",
        "REGIONS": "us-east-1",
        env_name: str(value),
    }
    try:
        Settings.from_env(env)
        function_accepts = True
    except SettingsError:
        function_accepts = False

    # Then the synth accepts it exactly when the deployed function would
    try:
        config_from(**{key: value})
        synth_accepts = True
    except ContextError:
        synth_accepts = False
    assert synth_accepts == function_accepts


def test_delegated_admins_are_role_arns_in_either_form() -> None:
    # Given one administrator as a role ARN and one as account and role name, and the same as
    # a command-line string
    arn = "arn:aws:iam::111122223333:role/config-notifier-read"
    pair = {"account": "444455556666", "roleName": "config-notifier-read"}
    # When the context is read, then both are role ARNs, in the order given
    expected = (arn, "arn:aws:iam::444455556666:role/config-notifier-read")
    assert config_from(delegatedAdmins=[arn, pair]).delegated_admin_role_arns == expected
    assert config_from(delegatedAdmins=json.dumps([arn, pair])).delegated_admin_role_arns == (
        expected
    )
    # And none by default
    assert AppConfig.defaults().delegated_admin_role_arns == ()
