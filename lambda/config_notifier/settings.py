"""The function's settings: parsed once from environment variables, every problem told at once."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from config_notifier.mute import EXAMPLE, Mute, parse_mutes
from config_notifier.publish import Topics
from config_notifier.routing import EXAMPLE as ROUTES_EXAMPLE
from config_notifier.routing import Route, parse_routes

# 0 turns stuck detection off; at most 30 days.
STUCK_AFTER_MINUTES_RANGE = (0, 30 * 24 * 60)
# PutEvents' EventBusName, as a name (the stack grants PutEvents on that bus in its own account).
EVENT_BUS_NAME = re.compile(r"^[/\.\-_A-Za-z0-9]{1,256}$")
NO_MUTES: tuple[Mute, ...] = ()
NO_ROLES: tuple[str, ...] = ()
NO_ROUTES: tuple[Route, ...] = ()
# 0 turns reminders off; at most 30 days.
REMINDER_HOURS_RANGE = (0, 30 * 24)
# 0 turns account names off; at most 30 days.
ACCOUNT_NAMES_REFRESH_HOURS_RANGE = (0, 30 * 24)
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# The stack names its topics `<stack name>-text`, `-json`, `-chat` and `-chat-<route>`
# (publish.Topics): the function is given what comes before the suffix.
TOPIC_ARN_PREFIX = re.compile(
    r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:(\d{12}):[A-Za-z][A-Za-z0-9-]{0,127}-$"
)
# An IAM role ARN (a path is allowed); group 1 is the role's account.
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
# AWS Config allows at most 3 delegated administrators per service; a little room for a move.
MAX_DELEGATED_ADMINS = 5
ROLE_ARNS_EXAMPLE = "arn:aws:iam::111122223333:role/config-notifier-read"


class BaselineMode(StrEnum):
    """What the first run in a region publishes besides its one summary message."""

    SILENT = "silent"  # the summary only
    FAILURES = "failures"  # the summary, plus what is failing right now
    ALL = "all"  # the summary, plus everything as if it had just appeared


class SettingsError(ValueError):
    """The environment does not describe a runnable notifier; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "The notifier's settings are invalid (fix these environment variables and redeploy):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """What the notifier reads from its environment; a field is its variable's name, lower-cased."""

    snapshot_table_name: str
    topic_arn_prefix: str  # the topics' ARNs without their suffix; see `topics`
    regions: tuple[str, ...]
    baseline_mode: BaselineMode = BaselineMode.SILENT
    max_concurrency: int = 8
    max_attempts: int = 8
    full_reconcile_hours: int = 24
    time_budget_seconds: int = 0  # 0: use what the Lambda context says is left
    stuck_after_minutes: int = 120  # 0: never report a deployment as stuck
    account_names_refresh_hours: int = 24  # 0: show account ids alone, never call Organizations
    reminder_hours: int = 24  # 0: no reminder digest of what is still failing or stuck
    mutes: tuple[Mute, ...] = ()  # MUTES: a JSON list, see mute.py
    event_bus_name: str = "default"  # where every published transition also goes
    # DELEGATED_ADMIN_ROLE_ARNS: a role to assume in each delegated administrator account whose
    # organization rules and packs are watched too (comma-separated; empty: none).
    delegated_admin_role_arns: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()  # ROUTES: a JSON list, see routing.py

    @property
    def topics(self) -> Topics:
        """A topic per rendering, and one for the chat rendering of each route (docs/messages.md,
        "Topics")."""
        return Topics.named(self.topic_arn_prefix, [r.name for r in self.routes])

    @property
    def delegated_admins(self) -> dict[str, str]:
        """Delegated administrator account id -> the role ARN to assume in it."""
        return {role_account(arn): arn for arn in self.delegated_admin_role_arns}

    @classmethod
    def env_names(cls) -> list[str]:
        """The environment variables the notifier reads, as the CDK app must set them."""
        return [f.name.upper() for f in fields(cls)]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from `environ`, or raise SettingsError naming every bad variable."""
        problems: list[str] = []
        values = {v.name.lower(): v.take(environ, problems) for v in _VARIABLES}
        own = TOPIC_ARN_PREFIX.match(values["topic_arn_prefix"] or "")
        if own and own.group(1) in {
            role_account(arn) for arn in values["delegated_admin_role_arns"] or ()
        }:
            # The topic is the stack's, in the account the function runs in.
            problems.append(
                f"DELEGATED_ADMIN_ROLE_ARNS names account {own.group(1)}, the account the "
                "notifier runs in: its deployments are watched without a role; list only "
                f"delegated administrator accounts, for example {ROLE_ARNS_EXAMPLE}"
            )
        if problems:
            raise SettingsError(problems)
        return cls(**values)


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not pattern.match(raw):
            raise ValueError(f"not {what}")
        return raw

    return parse


def role_account(role_arn: str) -> str:
    """The account id of an IAM role ARN that ROLE_ARN matched."""
    return role_arn.split(":")[4]


def parse_role_arns(raw: str | list[str]) -> tuple[str, ...]:
    """Delegated administrator role ARNs (comma-separated, or a list): valid, one per account."""
    items = raw.split(",") if isinstance(raw, str) else raw
    arns = tuple(a.strip() for a in items if a.strip())
    bad = [a for a in arns if not ROLE_ARN.match(a)]
    if bad:
        raise ValueError(f"not an IAM role ARN: {', '.join(bad)}")
    accounts = [role_account(a) for a in arns]
    twice = sorted({a for a in accounts if accounts.count(a) > 1})
    if twice:
        raise ValueError(f"one role per account; more than one for {', '.join(twice)}")
    if len(arns) > MAX_DELEGATED_ADMINS:
        raise ValueError(f"at most {MAX_DELEGATED_ADMINS} delegated administrators")
    return arns


def _regions(raw: str) -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(r.strip() for r in raw.split(",") if r.strip()))
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise ValueError(f"not a region name: {', '.join(bad)}")
    if not regions:
        raise ValueError("no region given")
    return regions


def _choice(enum: type[BaselineMode]) -> Callable[[str], BaselineMode]:
    def parse(raw: str) -> BaselineMode:
        try:
            return enum(raw.lower())
        except ValueError:
            raise ValueError(f"must be one of {', '.join(m.value for m in enum)}") from None

    return parse


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


@dataclass(frozen=True, slots=True)
class _Variable:
    """One environment variable: how it is parsed, a valid example, and its default (None:
    required)."""

    name: str
    parse: Callable[[str], Any]
    example: str
    default: Any = None

    def take(self, environ: Mapping[str, str], problems: list[str]) -> Any:
        """Its value, or None with the problem added to `problems`."""
        name, example = self.name, self.example
        raw = environ.get(name, "").strip()
        if not raw:
            if self.default is not None:
                return self.default
            problems.append(f"{name} is missing; for example {name}={example}")
            return None
        try:
            return self.parse(raw)
        except ValueError as exc:
            problems.append(f"{name}={raw!r} is invalid: {exc}; for example {name}={example}")
            return None


# Every variable the function reads; each is a field of Settings, named in lower case.
_VARIABLES = (
    _Variable(
        "SNAPSHOT_TABLE_NAME",
        _matching(_TABLE, "a DynamoDB table name"),
        "config-notifier-snapshot",
    ),
    _Variable(
        "TOPIC_ARN_PREFIX",
        _matching(TOPIC_ARN_PREFIX, "an SNS topic ARN up to the stack name and a hyphen"),
        "arn:aws:sns:us-east-1:123456789012:ConfigDeploymentNotifier-",
    ),
    _Variable("REGIONS", _regions, "us-east-1,eu-west-1"),
    _Variable("BASELINE_MODE", _choice(BaselineMode), "silent", BaselineMode.SILENT),
    _Variable("MAX_CONCURRENCY", _int_between(1, 64), "8", 8),
    _Variable("MAX_ATTEMPTS", _int_between(1, 20), "8", 8),
    _Variable("FULL_RECONCILE_HOURS", _int_between(1, 24 * 30), "24", 24),
    _Variable("TIME_BUDGET_SECONDS", _int_between(0, 900), "0", 0),
    _Variable("STUCK_AFTER_MINUTES", _int_between(*STUCK_AFTER_MINUTES_RANGE), "120", 120),
    _Variable(
        "ACCOUNT_NAMES_REFRESH_HOURS", _int_between(*ACCOUNT_NAMES_REFRESH_HOURS_RANGE), "24", 24
    ),
    _Variable("REMINDER_HOURS", _int_between(*REMINDER_HOURS_RANGE), "24", 24),
    _Variable("MUTES", parse_mutes, EXAMPLE, NO_MUTES),
    _Variable(
        "EVENT_BUS_NAME",
        _matching(EVENT_BUS_NAME, "an EventBridge event bus name"),
        "default",
        "default",
    ),
    _Variable("DELEGATED_ADMIN_ROLE_ARNS", parse_role_arns, ROLE_ARNS_EXAMPLE, NO_ROLES),
    _Variable("ROUTES", parse_routes, ROUTES_EXAMPLE, NO_ROUTES),
)
