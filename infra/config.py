"""The CDK app's settings: read once from CDK context, validated, frozen. Stacks never read context.

Every key has a default here and the same default in cdk.json (a test keeps the two equal). Set a
key in cdk.json, or for one command with `-c key=value` (lists as JSON or comma-separated):

stackName           "ConfigDeploymentNotifier"  the CloudFormation stack name
schedule            "rate(5 minutes)"           when the function runs: EventBridge rate() or cron()
regions             ["us-east-1"]               the regions whose Config deployments are watched
notificationEmails  []                          email subscribers: {"address": ..., "filter": ...},
                                                or a plain address (filter "all")
slackWorkspaceId    ""                          AWS Chatbot's Slack workspace id, e.g. "T0123ABCD"
slackChannelId      ""                          a Slack channel id, e.g. "C0123ABCD" (both or none)
baselineMode        "silent"                    a region's first run: "silent", "failures" or "all"
logRetentionDays    90                          function log retention (a value CloudWatch accepts)
alarmEmail          ""                          who receives the notifier's own alarms
maxConcurrency      8                           concurrent AWS requests per run (1-64)
fullReconcileHours  24                          member accounts are re-read at least this often
stuckAfterMinutes   120                         in progress this long is reported as stuck (0: off)
accountNamesRefreshHours 24                     account names are listed again this often (0: off)
eventBusName        "default"                   the EventBridge bus published transitions go to
mutes               []                          transitions never published: [{"account": ...,
                                                "name": glob, "severity": ..., "until": date}]
delegatedAdmins     []                          delegated administrator accounts to watch too: role
                                                ARNs, or {"account": ..., "roleName": ...}

A `filter` is "failures" (severities failure and stuck), "failures-and-recoveries" or "all" (no
filter).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import aws_cdk.aws_logs as logs

from config_notifier.model import Severity
from config_notifier.mute import EXAMPLE as MUTES_EXAMPLE
from config_notifier.mute import Mute, parse_mutes, to_json
from config_notifier.settings import (
    ACCOUNT_NAMES_REFRESH_HOURS_RANGE,
    EVENT_BUS_NAME,
    STUCK_AFTER_MINUTES_RANGE,
    BaselineMode,
    parse_role_arns,
)

ContextReader = Callable[[str], Any]

DEFAULTS: dict[str, Any] = {
    "stackName": "ConfigDeploymentNotifier",
    "schedule": "rate(5 minutes)",
    "regions": ["us-east-1"],
    "notificationEmails": [],
    "slackWorkspaceId": "",
    "slackChannelId": "",
    "baselineMode": "silent",
    "logRetentionDays": 90,
    "alarmEmail": "",
    "maxConcurrency": 8,
    "fullReconcileHours": 24,
    "stuckAfterMinutes": 120,
    "accountNamesRefreshHours": 24,
    "mutes": [],
    "eventBusName": "default",
    "delegatedAdmins": [],
}

# How each key looks when it is right, as it would be written in cdk.json.
EXAMPLES: dict[str, str] = {
    "stackName": '"stackName": "ConfigDeploymentNotifier"',
    "schedule": '"schedule": "rate(5 minutes)" (or "cron(0/10 * * * ? *)")',
    "regions": '"regions": ["us-east-1", "eu-west-1"]',
    "notificationEmails": (
        '"notificationEmails": [{"address": "platform@example.com", "filter": "failures"}, '
        '"audit@example.com"]'
    ),
    "slackWorkspaceId": '"slackWorkspaceId": "T0123ABCD", "slackChannelId": "C0123ABCD"',
    "slackChannelId": '"slackWorkspaceId": "T0123ABCD", "slackChannelId": "C0123ABCD"',
    "baselineMode": '"baselineMode": "silent" (or "failures", "all")',
    "logRetentionDays": '"logRetentionDays": 90',
    "alarmEmail": '"alarmEmail": "oncall@example.com"',
    "maxConcurrency": '"maxConcurrency": 8',
    "fullReconcileHours": '"fullReconcileHours": 24',
    "stuckAfterMinutes": '"stuckAfterMinutes": 120 (0 turns stuck reports off)',
    "accountNamesRefreshHours": '"accountNamesRefreshHours": 24 (0 shows account ids alone)',
    "mutes": f'"mutes": {MUTES_EXAMPLE}',
    "eventBusName": '"eventBusName": "config-deployments" (or "default")',
    "delegatedAdmins": (
        '"delegatedAdmins": ["arn:aws:iam::111122223333:role/config-notifier-read"] '
        '(or [{"account": "111122223333", "roleName": "config-notifier-read"}])'
    ),
}

# Every retention CloudWatch Logs accepts (PutRetentionPolicy), as CDK names it.
RETENTION_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

# The same bounds the function's Settings enforce (a test checks they agree).
MAX_CONCURRENCY_RANGE = (1, 64)
FULL_RECONCILE_HOURS_RANGE = (1, 24 * 30)

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_EMAIL = re.compile(r"^[^@\s\"',]+@[^@\s\"',]+\.[^@\s\"',]+$")
# AWS::Chatbot::SlackChannelConfiguration's patterns.
_SLACK_WORKSPACE = re.compile(r"^[0-9A-Z]{1,255}$")
_SLACK_CHANNEL = re.compile(r"^[A-Za-z0-9]{1,256}$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^()]+)\)$")
_UNIT = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


class EmailFilter(StrEnum):
    """Which messages an email subscriber receives, by the `severity` message attribute."""

    FAILURES = "failures"
    FAILURES_AND_RECOVERIES = "failures-and-recoveries"
    ALL = "all"

    @property
    def severities(self) -> tuple[Severity, ...] | None:
        """The severities the subscription's filter policy lets through; None means no filter."""
        return {
            # A stuck deployment needs someone as much as a failed one.
            EmailFilter.FAILURES: (Severity.FAILURE, Severity.STUCK),
            EmailFilter.FAILURES_AND_RECOVERIES: (
                Severity.FAILURE,
                Severity.STUCK,
                Severity.RECOVERY,
            ),
            EmailFilter.ALL: None,
        }[self]


@dataclass(frozen=True, slots=True)
class EmailSubscription:
    address: str
    filter: EmailFilter = EmailFilter.ALL


@dataclass(frozen=True, slots=True)
class SlackChannel:
    workspace_id: str
    channel_id: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """An EventBridge schedule expression; `period` is known for rate() and None for cron()."""

    expression: str
    period: timedelta | None

    @property
    def nominal_period(self) -> timedelta:
        """The period; for cron(), which has none, the default schedule's five minutes."""
        return self.period or timedelta(minutes=5)


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
    mutes: tuple[Mute, ...]
    event_bus_name: str
    delegated_admin_role_arns: tuple[str, ...] = ()

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.log_retention_days]

    @classmethod
    def defaults(cls) -> AppConfig:
        """The configuration cdk.json ships with."""
        return cls.from_context(lambda _key: None)

    @classmethod
    def from_context(cls, get: ContextReader) -> AppConfig:
        """Read every key once through `get` (e.g. `app.node.try_get_context`), or raise
        ContextError naming every bad key with a valid example."""
        problems: list[str] = []

        def take(key: str, parse: Callable[[Any], Any]) -> Any:
            raw = get(key)
            if raw is None:
                raw = DEFAULTS[key]
            try:
                return parse(raw)
            except ValueError as exc:
                problems.append(f"{key}: {exc}; for example {EXAMPLES[key]}")
                return None

        values = {
            "stack_name": take("stackName", _stack_name),
            "schedule": take("schedule", _schedule),
            "regions": take("regions", _regions),
            "notification_emails": take("notificationEmails", _emails),
            "baseline_mode": take("baselineMode", _baseline_mode),
            "log_retention_days": take("logRetentionDays", _retention),
            "alarm_email": take("alarmEmail", _optional_email),
            "max_concurrency": take("maxConcurrency", _int_between(*MAX_CONCURRENCY_RANGE)),
            "full_reconcile_hours": take(
                "fullReconcileHours", _int_between(*FULL_RECONCILE_HOURS_RANGE)
            ),
            "stuck_after_minutes": take(
                "stuckAfterMinutes", _int_between(*STUCK_AFTER_MINUTES_RANGE)
            ),
            "account_names_refresh_hours": take(
                "accountNamesRefreshHours", _int_between(*ACCOUNT_NAMES_REFRESH_HOURS_RANGE)
            ),
            "mutes": take("mutes", _mutes),
            "event_bus_name": take("eventBusName", _event_bus),
            "delegated_admin_role_arns": take("delegatedAdmins", _delegated_admins),
        }
        known_problems = len(problems)
        workspace = take("slackWorkspaceId", _optional(_SLACK_WORKSPACE, "a Slack workspace id"))
        channel = take("slackChannelId", _optional(_SLACK_CHANNEL, "a Slack channel id"))
        slack = None
        if workspace and channel:
            slack = SlackChannel(workspace, channel)
        elif (workspace or channel) and len(problems) == known_problems:
            given, missing = (
                ("slackWorkspaceId", "slackChannelId")
                if workspace
                else ("slackChannelId", "slackWorkspaceId")
            )
            problems.append(
                f"{missing}: missing while {given} is set (give both Slack ids or neither); "
                f"for example {EXAMPLES[missing]}"
            )
        if problems:
            raise ContextError(problems)
        return cls(slack=slack, **values)


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"{json.dumps(raw)} is not a string")
    return raw.strip()


def _list(raw: Any) -> list[Any]:
    """A JSON list from cdk.json, or a string from `-c key=...`: JSON, or comma-separated."""
    if isinstance(raw, list):
        return raw
    text = _text(raw)
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{text!r} is not valid JSON ({exc.msg})") from None
        if not isinstance(parsed, list):
            raise ValueError(f"{text!r} is not a list")
        return parsed
    return [item.strip() for item in text.split(",") if item.strip()]


# Lambda allows 4 KB for all of a function's environment; the mutes get half of it.
MAX_MUTES_JSON = 2048


def _mutes(raw: Any) -> tuple[Mute, ...]:
    """The function's own parser, so the synth refuses exactly what the function would."""
    mutes = parse_mutes(raw)  # a list from cdk.json, or JSON text from `-c mutes=[...]`
    size = len(to_json(mutes))
    if size > MAX_MUTES_JSON:
        raise ValueError(
            f"{size} characters of JSON, more than the {MAX_MUTES_JSON} the function's "
            "environment has room for; use name globs to say more with less"
        )
    return mutes


def _event_bus(raw: Any) -> str:
    name = _text(raw)
    if not EVENT_BUS_NAME.match(name):
        raise ValueError(
            f"{name!r} is not an event bus name (1-256 of letters, digits, '.', '-', '_', '/')"
        )
    return name


_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_ACCOUNT = re.compile(r"^\d{12}$")


def _delegated_admins(raw: Any) -> tuple[str, ...]:
    """Role ARNs, or {"account", "roleName"} pairs (in the "aws" partition), checked by the
    function's own parser: the synth refuses what the function would."""
    arns: list[str] = []
    for item in _list(raw):
        if isinstance(item, str):
            arns.append(item)
            continue
        if not isinstance(item, dict) or set(item) != {"account", "roleName"}:
            raise ValueError(
                f"{json.dumps(item)} is neither a role ARN nor an account and roleName"
            )
        account, role = item["account"], item["roleName"]
        if not (isinstance(account, str) and _ACCOUNT.match(account)):
            raise ValueError(f"{json.dumps(account)} is not a 12-digit account id")
        if not (isinstance(role, str) and _ROLE_NAME.match(role)):
            raise ValueError(f"{json.dumps(role)} is not an IAM role name")
        arns.append(f"arn:aws:iam::{account}:role/{role}")
    return parse_role_arns(arns)


def _stack_name(raw: Any) -> str:
    name = _text(raw)
    if not _STACK_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a stack name (a letter, then letters, digits and hyphens, "
            "at most 128 characters)"
        )
    return name


def _schedule(raw: Any) -> Schedule:
    expression = _text(raw)
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ValueError(f"{expression!r}: a rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            # EventBridge rejects "rate(1 minutes)" and "rate(5 minute)".
            raise ValueError(f"{expression!r}: use a singular unit for 1 and a plural one above")
        return Schedule(expression, _UNIT[unit.removesuffix("s")] * value)
    cron = _CRON.match(expression)
    if cron:
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise ValueError(
                f"{expression!r}: cron() takes 6 fields (minutes hours day-of-month month "
                f"day-of-week year), not {len(fields)}"
            )
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week is '?'")
        return Schedule(expression, None)
    raise ValueError(f"{expression!r} is not a rate(...) or cron(...) expression")


def _regions(raw: Any) -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(_text(r) for r in _list(raw)))
    if not regions:
        raise ValueError("no region given")
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise ValueError(f"not a region name: {', '.join(repr(r) for r in bad)}")
    return regions


def _emails(raw: Any) -> tuple[EmailSubscription, ...]:
    subscriptions = []
    for item in _list(raw):
        if isinstance(item, str):
            address, filter_name = item.strip(), EmailFilter.ALL.value
        elif isinstance(item, dict) and set(item) <= {"address", "filter"} and "address" in item:
            address, filter_name = _text(item["address"]), _text(item.get("filter", "all"))
        else:
            raise ValueError(
                f"{json.dumps(item)} is neither an address nor {{'address': ..., 'filter': ...}}"
            )
        if not _EMAIL.match(address):
            raise ValueError(f"{address!r} is not an email address")
        try:
            email_filter = EmailFilter(filter_name)
        except ValueError:
            choices = ", ".join(f.value for f in EmailFilter)
            raise ValueError(
                f"filter {filter_name!r} of {address} is not one of {choices}"
            ) from None
        subscriptions.append(EmailSubscription(address, email_filter))
    addresses = [s.address.lower() for s in subscriptions]
    duplicates = sorted({a for a in addresses if addresses.count(a) > 1})
    if duplicates:
        raise ValueError(f"listed more than once: {', '.join(duplicates)}")
    return tuple(subscriptions)


def _baseline_mode(raw: Any) -> BaselineMode:
    text = _text(raw)
    try:
        return BaselineMode(text.lower())
    except ValueError:
        choices = ", ".join(m.value for m in BaselineMode)
        raise ValueError(f"{text!r} is not one of {choices}") from None


def _int(raw: Any) -> int:
    # bool is an int in Python; `true` is never a meant number.
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
        return int(raw)
    raise ValueError(f"{json.dumps(raw)} is not a whole number")


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        value = _int(raw)
        if not low <= value <= high:
            raise ValueError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _retention(raw: Any) -> int:
    days = _int(raw)
    if days not in RETENTION_DAYS:
        accepted = ", ".join(str(d) for d in RETENTION_DAYS)
        raise ValueError(f"{days} is not a retention CloudWatch Logs accepts ({accepted})")
    return days


def _optional(pattern: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    def parse(raw: Any) -> str | None:
        text = _text(raw)
        if not text:
            return None
        if not pattern.match(text):
            raise ValueError(f"{text!r} is not {what}")
        return text

    return parse


_optional_email = _optional(_EMAIL, "an email address")
