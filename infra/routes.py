"""The `routes` setting: which part of the messages each team's destinations receive.

A route is a name, a `match` and `destinations`. The match is read by the function's own parser
(config_notifier/routing.py), so the synth refuses exactly what the function would; the
destinations are email addresses, a Slack channel, a Microsoft Teams channel, SQS queues and
Lambda functions, which the stack subscribes (docs/settings.md, "Routes"). Every problem of every
route is reported at once, each naming the route and the key, with a valid example.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from config_notifier.routing import ROUTE_KEYS, Route, read_route, route_label
from infra import values
from infra.values import (
    SLACK_CHANNEL,
    SLACK_WORKSPACE,
    TEAMS_CHANNEL,
    TEAMS_UUID,
    EmailSubscription,
    SlackChannel,
    TeamsChannel,
    ValueProblems,
)

KEYS = (*ROUTE_KEYS, "destinations")
EXAMPLE = (
    '"routes": [{"name": "payments", "match": {"deployments": ["payments-*"], '
    '"severities": ["failure", "stuck"]}, "destinations": {"emails": '
    '["payments-oncall@example.com"], "slack": {"workspaceId": "T0123ABCD", '
    '"channelId": "C0456EFGH"}}}]'
)
TEAM_ID = "a1b2c3d4-0000-4000-8000-00000000beef"
TENANT_ID = "e5f6a7b8-0000-4000-8000-00000000cafe"
TEAMS_CHANNEL_ID = "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2"
DESTINATION_EXAMPLES = {
    "emails": '"emails": ["payments-oncall@example.com"] '
    '(or [{"address": "payments-oncall@example.com", "filter": "failures"}])',
    "slack": '"slack": {"workspaceId": "T0123ABCD", "channelId": "C0456EFGH"}',
    "teams": f'"teams": {{"teamId": "{TEAM_ID}", "channelId": "{TEAMS_CHANNEL_ID}", '
    f'"tenantId": "{TENANT_ID}"}}',
    "queues": '"queues": ["arn:aws:sqs:us-east-1:123456789012:payments-deployments"]',
    "functions": '"functions": ["arn:aws:lambda:us-east-1:123456789012:function:payments-tickets"]',
}
# An SQS queue or a Lambda function (optionally a version or alias) of any partition. The queue
# gets the JSON document; the function is invoked with it.
SQS_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")
LAMBDA_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$"
)
_ANY_ARN = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):")


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One route: what it matches (the function's Route) and where its copies go."""

    route: Route
    emails: tuple[EmailSubscription, ...] = ()
    slack: SlackChannel | None = None
    teams: TeamsChannel | None = None
    queues: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.route.name


def parse(raw: Any) -> tuple[RouteConfig, ...]:
    """The routes of the CDK context, or ValueProblems listing every problem of every route."""
    problems: list[str] = []
    routes: list[RouteConfig] = []
    items = values.listed(raw)
    for index, item in enumerate(items):
        route = _route(item, index, problems)
        if route is not None:
            routes.append(route)
    names = [item.get("name") for item in items if isinstance(item, dict)]
    problems += [
        f'route "{name}": more than one route has this name; give each its own; for example '
        f"{EXAMPLE}"
        for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    ]
    if problems:
        # The routes that are right go on to be checked against the other settings.
        raise ValueProblems(problems, partial=tuple(routes))
    return tuple(routes)


def _route(item: Any, index: int, problems: list[str]) -> RouteConfig | None:
    where = route_label(item, index)
    if not isinstance(item, dict):
        problems.append(f"{where} is {json.dumps(item)}, not an object; for example {EXAMPLE}")
        return None
    unknown = _unknown_keys(where, item, KEYS, lambda _: EXAMPLE)
    problems += unknown
    route, own = read_route({k: v for k, v in item.items() if k in ROUTE_KEYS}, index)
    problems += [f"{problem}; for example {EXAMPLE}" for problem in own]
    destinations = item.get("destinations")
    if not isinstance(destinations, dict) or not destinations:
        if "destinations" in item or not unknown:
            problems.append(
                f"{where}: destinations must name where its messages go: emails, slack, teams, "
                f"queues or functions; for example {EXAMPLE}"
            )
        return None
    found = len(problems)
    problems += _unknown_keys(
        f"{where}: destinations", destinations, tuple(DESTINATION_EXAMPLES), _destination_example
    )
    parsed = {
        key: _destination(where, key, destinations[key], problems)
        for key in DESTINATION_EXAMPLES
        if key in destinations
    }
    if route is None or len(problems) > found:
        return None
    return RouteConfig(route, **parsed)


def _destination(where: str, key: str, raw: Any, problems: list[str]) -> Any:
    """One destination key's value, or None with its problem added."""
    try:
        return _READERS[key](raw)
    except ValueError as exc:
        problems.append(
            f"{where}: destinations.{key}: {exc}; for example {DESTINATION_EXAMPLES[key]}"
        )
        return None


def _unknown_keys(
    where: str, item: dict[str, Any], known: tuple[str, ...], example: Callable[[str], str]
) -> list[str]:
    """One problem per key not in `known`, with the nearest known key and its example."""
    problems = []
    for key in sorted(set(item) - set(known)):
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f'did you mean "{close[0]}"? ' if close else f"it takes {', '.join(known)}; "
        problems.append(
            f'{where}: "{key}" is not a key it takes; {hint}for example '
            f"{example(close[0] if close else '')}"
        )
    return problems


def _destination_example(key: str) -> str:
    return DESTINATION_EXAMPLES.get(key) or EXAMPLE


def _ids(raw: Any, what: str, patterns: dict[str, tuple[re.Pattern[str], str]]) -> list[str]:
    """The ids of a chat channel object, in the order of `patterns`, each checked."""
    if not isinstance(raw, dict):
        raise ValueError(f"{json.dumps(raw)} is not an object with {', '.join(patterns)}")
    missing = [key for key in patterns if key not in raw]
    unknown = sorted(set(raw) - set(patterns))
    if missing or unknown:
        said = [f"{', '.join(missing)} missing"] if missing else []
        said += [f"unknown keys {unknown}"] if unknown else []
        raise ValueError(f"{' and '.join(said)} (a {what} takes {', '.join(patterns)})")
    for key, (pattern, shape) in patterns.items():
        value = raw[key]
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"{key} {json.dumps(value)} is not {shape}")
    return [raw[key] for key in patterns]


def _slack(raw: Any) -> SlackChannel:
    workspace, channel = _ids(
        raw,
        "Slack channel",
        {
            "workspaceId": (SLACK_WORKSPACE, "a Slack workspace id"),
            "channelId": (SLACK_CHANNEL, "a Slack channel id"),
        },
    )
    return SlackChannel(workspace, channel)


def _teams(raw: Any) -> TeamsChannel:
    team, channel, tenant = _ids(
        raw,
        "Microsoft Teams channel",
        {
            "teamId": (TEAMS_UUID, "a Microsoft Teams team id (a UUID)"),
            "channelId": (TEAMS_CHANNEL, "a Microsoft Teams channel id (19%3a...%40thread...)"),
            "tenantId": (TEAMS_UUID, "a Microsoft Teams tenant id (a UUID)"),
        },
    )
    return TeamsChannel(team, channel, tenant)


def _arns(pattern: re.Pattern[str], service: str, what: str) -> Callable[[Any], tuple[str, ...]]:
    def parse(raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"{json.dumps(raw)} is not a list of {what} ARNs")
        for arn in raw:
            if isinstance(arn, str) and pattern.match(arn):
                continue
            other = _ANY_ARN.match(arn) if isinstance(arn, str) else None
            if other and other.group(1) != service:
                raise ValueError(f"{arn!r} is the ARN of {other.group(1)}, not of {what}")
            raise ValueError(f"{json.dumps(arn)} is not the ARN of {what}")
        return tuple(dict.fromkeys(raw))

    return parse


def _emails(raw: Any) -> tuple[EmailSubscription, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{json.dumps(raw)} is not a list of email addresses")
    return values.emails(raw)


def _queues(raw: Any) -> tuple[str, ...]:
    queues = _arns(SQS_QUEUE_ARN, "sqs", "an SQS queue")(raw)
    fifo = [arn for arn in queues if arn.endswith(".fifo")]
    if fifo:
        # The topics are standard topics; no AWS documentation says one delivers to a FIFO
        # queue, so nothing may rest on it (docs/messages.md, "Routes").
        raise ValueError(
            f"{fifo[0]!r} is a FIFO queue: the notifier's topics are standard "
            "topics; give a standard queue"
        )
    return queues


_READERS: dict[str, Callable[[Any], Any]] = {
    "emails": _emails,
    "slack": _slack,
    "teams": _teams,
    "queues": _queues,
    "functions": _arns(LAMBDA_FUNCTION_ARN, "lambda", "a Lambda function"),
}


def region_problems(routes: tuple[RouteConfig, ...], watched: tuple[str, ...]) -> list[str]:
    """A route's regions must be watched ones: any other would match nothing, ever."""
    problems = []
    for config in routes:
        strays = [r for r in config.route.regions if r not in watched]
        if strays:
            problems.append(
                f'route "{config.name}": match.regions: {", ".join(strays)} '
                f"{'is' if len(strays) == 1 else 'are'} not watched (regions: {', '.join(watched)})"
                f"; for example {EXAMPLE}"
            )
    return problems


def destination_account_problems(
    routes: tuple[RouteConfig, ...], environ: Mapping[str, str]
) -> list[str]:
    """Queues and functions are subscribed by the stack, so they live in its account, and a
    function in its region too (the stack grants SNS the right to invoke it): every ARN must
    name one account, and one region for functions. The account and region are the ones the CDK
    CLI deploys to when it says so (CDK_DEFAULT_ACCOUNT, CDK_DEFAULT_REGION); an environment-
    agnostic synth knows neither, and holds the ARNs to each other."""
    arns = [(c.name, arn) for c in routes for arn in (*c.queues, *c.functions)]
    functions = [(c.name, arn) for c in routes for arn in c.functions]
    problems = _one_of(arns, 4, "account", environ.get("CDK_DEFAULT_ACCOUNT"))
    problems += _one_of(functions, 3, "region", environ.get("CDK_DEFAULT_REGION"))
    return problems


def _one_of(arns: list[tuple[str, str]], field: int, what: str, expected: str | None) -> list[str]:
    """A problem per ARN whose `field` (of arn:partition:service:region:account:...) is not the
    expected value, or not the first ARN's when none is expected."""
    if not arns:
        return []
    want = expected or arns[0][1].split(":")[field]
    whose = "the stack's" if expected else f"the first destination's ({arns[0][1]})"
    return [
        f'route "{name}": destinations: {arn!r} is in {what} {arn.split(":")[field]}, not in '
        f"{whose} {what} {want}: the stack subscribes queues and functions of its own {what} "
        'only (subscribe another one from where it lives: docs/messages.md, "Routes"); '
        f"for example {DESTINATION_EXAMPLES['queues' if ':sqs:' in arn else 'functions']}"
        for name, arn in arns
        if arn.split(":")[field] != want
    ]
