"""How each CDK context value is read: one parser per kind of value, each raising ValueError with
what is wrong (infra/config.py adds the key and an example).

Values come from cdk.json as JSON, or from `-c key=value` as strings: lists are accepted as JSON
lists or as JSON text or comma-separated text, numbers as numbers or as digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aws_cdk.aws_logs as logs

from config_notifier.model import Severity
from config_notifier.mute import Mute, parse_mutes, to_json
from config_notifier.settings import EVENT_BUS_NAME, BaselineMode, parse_role_arns

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

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")  # as the function's Settings
_EMAIL = re.compile(r"^[^@\s\"',]+@[^@\s\"',]+\.[^@\s\"',]+$")
# AWS::Chatbot::SlackChannelConfiguration's patterns.
SLACK_WORKSPACE = re.compile(r"^[0-9A-Z]{1,255}$")
SLACK_CHANNEL = re.compile(r"^[A-Za-z0-9]{1,256}$")
# AWS::Chatbot::MicrosoftTeamsChannelConfiguration's patterns (its CloudFormation resource schema):
# the team and tenant are UUIDs; the channel id is URL-encoded, "19%3a...%40thread.tacv2".
TEAMS_UUID = re.compile(r"^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
TEAMS_CHANNEL = re.compile(
    r"^(?=.{1,256}$)[a-zA-Z0-9-_=+/.,]*%3[aA][a-zA-Z0-9-_=+/.,]*%40[a-zA-Z0-9-_=+/.,]*$"
)
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_ACCOUNT = re.compile(r"^\d{12}$")
# Lambda allows 4 KB for all of a function's environment; the mutes get at most half of it.
MAX_MUTES_JSON = 2048


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
class TeamsChannel:
    """A Microsoft Teams channel, as AWS Chatbot's console shows its ids once the team is
    authorized."""

    team_id: str
    channel_id: str
    tenant_id: str


class ValueProblems(ValueError):
    """Several problems with one value, each a sentence naming where and with its own valid
    example (infra/config.py reports each one)."""

    def __init__(self, problems: list[str], *, partial: Any = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.partial = partial  # what of the value was right, for checks against other keys


def text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"{json.dumps(raw)} is not a string")
    return raw.strip()


def listed(raw: Any) -> list[Any]:
    """A JSON list from cdk.json, or a string from `-c key=...`: JSON, or comma-separated."""
    if isinstance(raw, list):
        return raw
    value = text(raw)
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{value!r} is not valid JSON ({exc.msg})") from None
        if not isinstance(parsed, list):
            raise ValueError(f"{value!r} is not a list")
        return parsed
    return [item.strip() for item in value.split(",") if item.strip()]


def region_names(raw: Any) -> tuple[str, ...]:
    """Region-shaped names, each once, in order (infra/regions.py checks they exist)."""
    regions = tuple(dict.fromkeys(text(r) for r in listed(raw)))
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise ValueError(f"not a region name: {', '.join(repr(r) for r in bad)}")
    return regions


def whole_number(raw: Any) -> int:
    # bool is an int in Python; `true` is never a meant number.
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
        return int(raw)
    raise ValueError(f"{json.dumps(raw)} is not a whole number")


def between(low: int, high: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        value = whole_number(raw)
        if not low <= value <= high:
            raise ValueError(f"{value} is not between {low} and {high}")
        return value

    return parse


def retention(raw: Any) -> int:
    days = whole_number(raw)
    if days not in RETENTION_DAYS:
        accepted = ", ".join(str(d) for d in RETENTION_DAYS)
        raise ValueError(f"{days} is not a retention CloudWatch Logs accepts ({accepted})")
    return days


def optional(pattern: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    def parse(raw: Any) -> str | None:
        value = text(raw)
        if not value:
            return None
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return parse


optional_email = optional(_EMAIL, "an email address")


def stack_name(raw: Any) -> str:
    name = text(raw)
    if not _STACK_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a stack name (a letter, then letters, digits and hyphens, "
            "at most 128 characters)"
        )
    return name


def baseline_mode(raw: Any) -> BaselineMode:
    value = text(raw)
    try:
        return BaselineMode(value.lower())
    except ValueError:
        choices = ", ".join(m.value for m in BaselineMode)
        raise ValueError(f"{value!r} is not one of {choices}") from None


def emails(raw: Any) -> tuple[EmailSubscription, ...]:
    subscriptions = []
    for item in listed(raw):
        if isinstance(item, str):
            address, filter_name = item.strip(), EmailFilter.ALL.value
        elif isinstance(item, dict) and set(item) <= {"address", "filter"} and "address" in item:
            address, filter_name = text(item["address"]), text(item.get("filter", "all"))
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


def mutes(raw: Any) -> tuple[Mute, ...]:
    """The function's own parser, so the synth refuses exactly what the function would."""
    parsed = parse_mutes(raw)  # a list from cdk.json, or JSON text from `-c mutes=[...]`
    size = len(to_json(parsed))
    if size > MAX_MUTES_JSON:
        raise ValueError(
            f"{size} characters of JSON, more than the {MAX_MUTES_JSON} the function's "
            "environment has room for; use name globs to say more with less"
        )
    return parsed


def event_bus(raw: Any) -> str:
    name = text(raw)
    if not EVENT_BUS_NAME.match(name):
        raise ValueError(
            f"{name!r} is not an event bus name (1-256 of letters, digits, '.', '-', '_', '/')"
        )
    return name


def delegated_admins(raw: Any) -> tuple[str, ...]:
    """Role ARNs, or {"account", "roleName"} pairs (in the "aws" partition), checked by the
    function's own parser: the synth refuses what the function would."""
    arns: list[str] = []
    for item in listed(raw):
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
