"""The CDK app's settings as a schema: read once from CDK context, validated, frozen.

Stacks never read context. `KEYS` below is the schema: every key the app reads, its default (the
same as cdk.json's, a test keeps them equal), a valid example and its parser. Set a key in cdk.json,
or for one command with `-c key=value` (lists as JSON or comma-separated). A key the app does not
read is refused with the nearest known key ("did you mean ..."), except CDK's own (feature flags,
lookups, the CLI's settings). Every problem is reported at once, each naming its key with a valid
example; docs/synth-checks.md lists the checks and the AWS rules behind them.

stackName           "ConfigDeploymentNotifier"  the CloudFormation stack name
schedule            "rate(5 minutes)"           when the function runs: EventBridge rate() or cron()
regions             ["us-east-1"]               the regions whose Config deployments are watched
unlistedRegions     []                          regions of `regions` newer than the pinned SDK
notificationEmails  []                          email subscribers: {"address": ..., "filter": ...},
                                                or a plain address (filter "all")
slackWorkspaceId    ""                          AWS Chatbot's Slack workspace id, e.g. "T0123ABCD"
slackChannelId      ""                          a Slack channel id, e.g. "C0123ABCD" (both or none)
teamsTeamId         ""                          a Microsoft Teams team id authorized in AWS Chatbot
teamsChannelId      ""                          its channel id, "19%3a...%40thread.tacv2"
teamsTenantId       ""                          its tenant id (the three or none)
baselineMode        "silent"                    a region's first run: "silent", "failures" or "all"
logRetentionDays    90                          log retention (a value CloudWatch accepts)
alarmEmail          ""                          who receives the notifier's own alarms
maxConcurrency      8                           concurrent AWS requests per run (1-64)
fullReconcileHours  24                          unhealthy members are read again at least this often
stuckAfterMinutes   120                         in progress this long is reported as stuck (0: off)
accountNamesRefreshHours 24                     account names are listed again this often (0: off)
reminderHours       24                          one digest of what is still failing or stuck, this
                                                often at most (0: off)
eventBusName        "default"                   the EventBridge bus published transitions go to
                                                (a named bus must exist before the deploy)
mutes               []                          transitions never published: [{"account": ...,
                                                "name": glob, "severity": ..., "until": date}]
delegatedAdmins     []                          delegated administrator accounts to watch too: role
                                                ARNs, or {"account": ..., "roleName": ...}
routes              []                          who gets which part of the messages: [{"name": ...,
                                                "match": {...}, "destinations": {...}}] (routes.py)

A `filter` is "failures" (severities failure and stuck), "failures-and-recoveries" or "all" (no
filter).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aws_cdk.aws_logs as logs

from config_notifier.mute import EXAMPLE as MUTES_EXAMPLE
from config_notifier.mute import Mute
from config_notifier.settings import (
    ACCOUNT_NAMES_REFRESH_HOURS_RANGE,
    REMINDER_HOURS_RANGE,
    STUCK_AFTER_MINUTES_RANGE,
    BaselineMode,
)
from infra import environment, regions, routes, values
from infra.routes import RouteConfig
from infra.schedule import Schedule, parse_schedule
from infra.values import (
    RETENTION_DAYS,
    EmailFilter,
    EmailSubscription,
    SlackChannel,
    TeamsChannel,
    ValueProblems,
)

__all__ = [
    "DEFAULTS",
    "EXAMPLES",
    "KEYS",
    "AppConfig",
    "ContextError",
    "EmailFilter",
    "EmailSubscription",
    "RouteConfig",
    "Schedule",
    "SlackChannel",
    "TeamsChannel",
]

ContextReader = Callable[[str], Any]

# The same bounds the function's Settings enforce (a test checks they agree).
MAX_CONCURRENCY_RANGE = (1, 64)
FULL_RECONCILE_HOURS_RANGE = (1, 24 * 30)


TEAMS_EXAMPLE = (
    f'"teamsTeamId": "{routes.TEAM_ID}", "teamsChannelId": "{routes.TEAMS_CHANNEL_ID}", '
    f'"teamsTenantId": "{routes.TENANT_ID}"'
)
# Settings that describe one thing together: all or none of each group.
TOGETHER = {
    "Slack": ("slackWorkspaceId", "slackChannelId"),
    "Microsoft Teams": ("teamsTeamId", "teamsChannelId", "teamsTenantId"),
}


@dataclass(frozen=True, slots=True)
class Key:
    """One context key: its name in cdk.json, default, a valid example, and how it is read."""

    name: str
    default: Any
    example: str  # how the key looks when right, as written in cdk.json
    parse: Callable[[Any], Any]
    field: str = ""  # the AppConfig field it fills; "" for keys read together with others


KEYS: tuple[Key, ...] = (
    Key(
        "stackName",
        "ConfigDeploymentNotifier",
        '"stackName": "ConfigDeploymentNotifier"',
        values.stack_name,
        "stack_name",
    ),
    Key(
        "schedule",
        "rate(5 minutes)",
        '"schedule": "rate(5 minutes)" (or "cron(0/10 * * * ? *)")',
        lambda raw: parse_schedule(values.text(raw)),
        "schedule",
    ),
    Key(
        "regions",
        ["us-east-1"],
        '"regions": ["us-east-1", "eu-west-1"]',
        values.region_names,
        "regions",
    ),
    Key(
        "unlistedRegions",
        [],
        '"regions": ["us-east-1", "eu-central-3"], "unlistedRegions": ["eu-central-3"]',
        values.region_names,
        "unlisted_regions",
    ),
    Key(
        "notificationEmails",
        [],
        '"notificationEmails": [{"address": "platform@example.com", "filter": "failures"}, '
        '"audit@example.com"]',
        values.emails,
        "notification_emails",
    ),
    Key(
        "slackWorkspaceId",
        "",
        '"slackWorkspaceId": "T0123ABCD", "slackChannelId": "C0123ABCD"',
        values.optional(values.SLACK_WORKSPACE, "a Slack workspace id"),
    ),
    Key(
        "slackChannelId",
        "",
        '"slackWorkspaceId": "T0123ABCD", "slackChannelId": "C0123ABCD"',
        values.optional(values.SLACK_CHANNEL, "a Slack channel id"),
    ),
    Key(
        "teamsTeamId",
        "",
        TEAMS_EXAMPLE,
        values.optional(values.TEAMS_UUID, "a Microsoft Teams team id (a UUID)"),
    ),
    Key(
        "teamsChannelId",
        "",
        TEAMS_EXAMPLE,
        values.optional(
            values.TEAMS_CHANNEL, "a Microsoft Teams channel id (19%3a...%40thread...)"
        ),
    ),
    Key(
        "teamsTenantId",
        "",
        TEAMS_EXAMPLE,
        values.optional(values.TEAMS_UUID, "a Microsoft Teams tenant id (a UUID)"),
    ),
    Key(
        "baselineMode",
        "silent",
        '"baselineMode": "silent" (or "failures", "all")',
        values.baseline_mode,
        "baseline_mode",
    ),
    Key(
        "logRetentionDays",
        90,
        '"logRetentionDays": 90',
        values.retention,
        "log_retention_days",
    ),
    Key(
        "alarmEmail",
        "",
        '"alarmEmail": "oncall@example.com"',
        values.optional_email,
        "alarm_email",
    ),
    Key(
        "maxConcurrency",
        8,
        '"maxConcurrency": 8',
        values.between(*MAX_CONCURRENCY_RANGE),
        "max_concurrency",
    ),
    Key(
        "fullReconcileHours",
        24,
        '"fullReconcileHours": 24',
        values.between(*FULL_RECONCILE_HOURS_RANGE),
        "full_reconcile_hours",
    ),
    Key(
        "stuckAfterMinutes",
        120,
        '"stuckAfterMinutes": 120 (0 turns stuck reports off)',
        values.between(*STUCK_AFTER_MINUTES_RANGE),
        "stuck_after_minutes",
    ),
    Key(
        "accountNamesRefreshHours",
        24,
        '"accountNamesRefreshHours": 24 (0 shows account ids alone)',
        values.between(*ACCOUNT_NAMES_REFRESH_HOURS_RANGE),
        "account_names_refresh_hours",
    ),
    Key(
        "reminderHours",
        24,
        '"reminderHours": 24 (0 turns reminders off)',
        values.between(*REMINDER_HOURS_RANGE),
        "reminder_hours",
    ),
    Key("mutes", [], f'"mutes": {MUTES_EXAMPLE}', values.mutes, "mutes"),
    Key(
        "eventBusName",
        "default",
        '"eventBusName": "config-deployments" (or "default")',
        values.event_bus,
        "event_bus_name",
    ),
    Key(
        "delegatedAdmins",
        [],
        '"delegatedAdmins": ["arn:aws:iam::111122223333:role/config-notifier-read"] '
        '(or [{"account": "111122223333", "roleName": "config-notifier-read"}])',
        values.delegated_admins,
        "delegated_admin_role_arns",
    ),
    Key("routes", [], routes.EXAMPLE, routes.parse, "routes"),
)
DEFAULTS: dict[str, Any] = {key.name: key.default for key in KEYS}
EXAMPLES: dict[str, str] = {key.name: key.example for key in KEYS}

# Context the CDK CLI and aws-cdk-lib put there themselves: its own settings (the CLI's
# `cdk acknowledge` and `cdk cli-telemetry` write these two into cdk.json or cdk.context.json),
# and every key with a colon (feature flags "@aws-cdk/core:...", "aws:cdk:..." switches, and
# cached lookups "availability-zones:account=...:region=..."). No key of this app has a colon.
CDK_OWN_KEYS = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})


class ContextError(ValueError):
    """The CDK context does not describe a deployable notifier; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Invalid CDK context (fix these in cdk.json, or pass -c key=value):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True, slots=True)
class AppConfig:
    """Everything the stack is built from."""

    stack_name: str
    schedule: Schedule
    regions: tuple[str, ...]
    notification_emails: tuple[EmailSubscription, ...]
    slack: SlackChannel | None
    baseline_mode: BaselineMode
    log_retention_days: int
    alarm_email: str | None
    max_concurrency: int
    full_reconcile_hours: int
    stuck_after_minutes: int
    account_names_refresh_hours: int
    reminder_hours: int
    mutes: tuple[Mute, ...]
    event_bus_name: str
    delegated_admin_role_arns: tuple[str, ...] = ()
    unlisted_regions: tuple[str, ...] = ()
    teams: TeamsChannel | None = None
    routes: tuple[RouteConfig, ...] = ()

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.log_retention_days]

    @classmethod
    def defaults(cls) -> AppConfig:
        """The configuration cdk.json ships with."""
        return cls.from_context(lambda _key: None)

    @classmethod
    def from_context(cls, get: ContextReader, *, present: Iterable[str] = ()) -> AppConfig:
        """Read every key once through `get` (e.g. `app.node.try_get_context`), or raise
        ContextError naming every bad key with a valid example. `present` is every key the
        context holds (`app.node.get_all_context()`): one the app does not read is refused."""
        problems = unknown_key_problems(present)
        read: dict[str, Any] = {}
        for key in KEYS:
            raw = get(key.name)
            try:
                read[key.name] = key.parse(key.default if raw is None else raw)
            except ValueProblems as exc:  # each says where, with an example of its own
                problems += [f"{key.name}: {problem}" for problem in exc.problems]
                if exc.partial is not None:
                    read[key.name] = exc.partial
            except ValueError as exc:
                problems.append(f"{key.name}: {exc}; for example {key.example}")
        problems += _together_problems(read) + _region_problems(read)
        if problems:
            raise ContextError(problems)
        workspace, channel = read["slackWorkspaceId"], read["slackChannelId"]
        team = read["teamsTeamId"]
        config = cls(
            slack=SlackChannel(workspace, channel) if workspace else None,
            teams=TeamsChannel(team, read["teamsChannelId"], read["teamsTenantId"])
            if team
            else None,
            **{key.field: read[key.name] for key in KEYS if key.field},
        )
        too_large = environment.size_problem(config)
        if too_large:
            raise ContextError([too_large])
        return config


def unknown_key_problems(present: Iterable[str]) -> list[str]:
    """One problem per key the app does not read (CDK's own keys aside), with the nearest key."""
    problems = []
    for name in sorted(set(present) - set(DEFAULTS)):
        if ":" in name or name.startswith("@") or name in CDK_OWN_KEYS:
            continue
        by_case = {known.lower(): known for known in DEFAULTS}
        close = difflib.get_close_matches(name, list(DEFAULTS), n=1, cutoff=0.6)
        nearest = by_case.get(name.lower()) or (close[0] if close else None)
        if nearest:
            problems.append(
                f'{name}: not a setting of this app; did you mean "{nearest}"? '
                f"for example {EXAMPLES[nearest]}"
            )
        else:
            problems.append(
                f"{name}: not a setting of this app; the settings are {', '.join(DEFAULTS)}, "
                f"for example {EXAMPLES['regions']}"
            )
    return problems


def _together_problems(read: dict[str, Any]) -> list[str]:
    """The ids of a Slack or Teams channel all or none (only when each id on its own was
    valid)."""
    problems = []
    for what, names in TOGETHER.items():
        if any(name not in read for name in names):
            continue
        given = [name for name in names if read[name]]
        if not given or len(given) == len(names):
            continue
        problems += [
            f"{missing}: missing while {', '.join(given)} {'is' if len(given) == 1 else 'are'} "
            f"set (give every {what} id or none); for example {EXAMPLES[missing]}"
            for missing in names
            if missing not in given
        ]
    return problems


def _region_problems(read: dict[str, Any]) -> list[str]:
    """The regions against botocore's endpoint data, and the escape for newer ones."""
    if "regions" not in read or "unlistedRegions" not in read:
        return []
    watched, unlisted = read["regions"], read["unlistedRegions"]
    if not watched:
        return [f"regions: no region given; for example {EXAMPLES['regions']}"]
    in_routes = (
        routes.region_problems(read["routes"], watched)
        + routes.destination_account_problems(read["routes"], os.environ)
        if "routes" in read
        else []
    )
    return (
        [f"routes: {problem}" for problem in in_routes]
        + [
            f"regions: {problem}; for example {EXAMPLES['regions']}"
            for problem in regions.check_regions(watched, unlisted)
        ]
        + [
            f"unlistedRegions: {problem}; for example {EXAMPLES['unlistedRegions']}"
            for problem in regions.check_unlisted(unlisted, watched)
        ]
    )
