"""Routes: the part of each message a team's destinations receive. Pure: no I/O.

A route is an audience with a name and what it matches: rule and pack names (shell-style globs),
member account ids, severities and regions. Every criterion a route sets must match, and any one
value of a criterion may. The stack's own subscribers (audience `all`) get every message whole; a
route's destinations get, for each message, a copy of the items it matches and nothing else, or
no copy when it matches none (docs/messages.md, "Routes").

`restrict` works on one Group: a message that tells several groups restricts each.
`restrict_reminder` does the same for one deployment of the reminder digest.

The ROUTES environment variable (and the `match` of each route in the `routes` CDK context key)
is a JSON list, for example `[{"name": "payments", "match": {"deployments": ["payments-*"],
"severities": ["failure", "stuck"]}}]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import get_close_matches
from fnmatch import fnmatchcase
from typing import Any

from config_notifier.jsonlist import json_list
from config_notifier.model import EVERYONE, Group, Severity, Stuck, Transition
from config_notifier.reminders import Reminder

EXAMPLE = (
    '[{"name": "payments", "match": {"deployments": ["payments-*"], '
    '"severities": ["failure", "stuck"]}}]'
)
# A route's name is its `audience` attribute, and part of the names of its chat configurations:
# short, lower case, no spaces.
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")  # as settings.py reads REGIONS
CRITERIA = ("deployments", "accounts", "severities", "regions")
ROUTE_KEYS = ("name", "match")


@dataclass(frozen=True, slots=True)
class Route:
    """One route; an empty criterion matches anything, and at least one is set."""

    name: str
    deployments: tuple[str, ...] = ()  # globs: *, ?, [seq]; case-sensitive, like the names
    accounts: tuple[str, ...] = ()  # member account ids
    severities: tuple[Severity, ...] = ()
    regions: tuple[str, ...] = ()

    def takes(self, group: Group) -> bool:
        """Whether the rule or pack of `group` is one this route can match any item of."""
        return self.takes_deployment(group.name, group.region)

    def takes_deployment(self, name: str, region: str) -> bool:
        """Whether the rule or pack `name` in `region` is one this route can match any item of."""
        return (not self.regions or region in self.regions) and (
            not self.deployments or any(fnmatchcase(name, g) for g in self.deployments)
        )

    def matches(self, account_id: str, severity: Severity) -> bool:
        """Whether an item about `account_id` ("" for a rule or pack itself) of `severity` is
        this route's, once `takes` said its rule or pack is."""
        return (not self.accounts or account_id in self.accounts) and (
            not self.severities or severity in self.severities
        )


def restrict(group: Group, route: Route) -> Group | None:
    """The part of `group` that `route` matches, or None when it matches nothing of it.

    A rule's or pack's own transition has no member account: a route that names accounts gets
    only the member accounts it names. The group's current status stays, as context.
    """
    if not route.takes(group):
        return None
    parent = _kept(group.parent, route)
    members = tuple(t for t in group.members if _kept(t, route))
    stuck = tuple(s for s in group.stuck if _stuck_kept(s, route))
    if parent is None and not members and not stuck:
        return None
    if (parent, members, stuck) == (group.parent, group.members, group.stuck):
        return group
    return replace(group, parent=parent, members=members, stuck=stuck)


def restrict_reminder(reminder: Reminder, route: Route) -> Reminder | None:
    """The part of a reminder `route` matches, as `restrict` does for a group: the rule's or
    pack's own broken state if the route takes it whole (names no accounts), the member accounts
    it names; None when it matches nothing of it."""
    deployment = reminder.deployment
    if not route.takes_deployment(deployment.name, deployment.region):
        return None
    own = reminder.own
    if own is not None and not route.matches("", own.severity):
        own = None
    members = tuple(b for b in reminder.members if route.matches(b.entity.account_id, b.severity))
    if own is None and not members:
        return None
    return replace(reminder, own=own, members=members)


def _kept(transition: Transition | None, route: Route) -> Transition | None:
    if transition is None or not route.matches(transition.entity.account_id, transition.severity):
        return None
    return transition


def _stuck_kept(stuck: Stuck, route: Route) -> bool:
    return route.matches(stuck.entity.account_id, Severity.STUCK)


def parse_routes(raw: Any) -> tuple[Route, ...]:
    """Routes from their JSON text or already-parsed list; ValueError says what is wrong, naming
    the route."""
    routes = [parse_route(item, index) for index, item in enumerate(json_list(raw, "routes"))]
    names = [r.name for r in routes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"route names must differ; more than one route is named {twice[0]!r}")
    return tuple(routes)


def parse_route(item: Any, index: int, keys: Sequence[str] = ROUTE_KEYS) -> Route:
    """One route's name and match; `keys` are the keys it may have (the CDK context's routes
    have destinations too). ValueError names every problem of the route, "; " between them."""
    route, problems = read_route(item, index, keys)
    if route is None:
        raise ValueError("; ".join(problems))
    return route


def read_route(
    item: Any, index: int, keys: Sequence[str] = ROUTE_KEYS
) -> tuple[Route | None, list[str]]:
    """One route, or None and every problem it has, each naming the route."""
    where = route_label(item, index)
    if not isinstance(item, dict):
        return None, [f"{where} is {json.dumps(item)}, not an object"]
    problems = [
        f"{where} has unknown key {key!r}{_nearest(key, keys)}; it takes {', '.join(keys)}"
        for key in sorted(set(item) - set(keys))
    ]
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(
            f"{where}: name {json.dumps(name)} is not a route name (1-40 lower-case letters, "
            "digits and hyphens, starting with a letter or digit)"
        )
    elif name == EVERYONE:
        problems.append(f'{where}: "{EVERYONE}" is the audience of the stack\'s own subscribers')
    match = item.get("match")
    if not isinstance(match, dict):
        problems.append(f"{where}: match must be an object with {', '.join(CRITERIA)}")
        return None, problems
    problems += [
        f"{where}: match has unknown key {key!r}{_nearest(key, CRITERIA)}; it takes "
        f"{', '.join(CRITERIA)}"
        for key in sorted(set(match) - set(CRITERIA))
    ]
    values: dict[str, tuple[str, ...]] = {}
    for key in (k for k in CRITERIA if k in match):
        try:
            values[key] = _strings(match[key], f"{where}: match.{key}")
        except ValueError as exc:
            problems.append(str(exc))
    # (A criterion that could not be read is a problem of its own already.)
    if not any(values.values()) and all(k in values for k in CRITERIA if k in match):
        problems.append(
            f"{where} matches everything, like the stack's own subscribers: give it deployments, "
            "accounts, severities or regions"
        )
    problems += _bad(
        values.get("accounts", ()), ACCOUNT, f"{where}: match.accounts", "a 12-digit account id"
    )
    problems += _bad(values.get("regions", ()), REGION, f"{where}: match.regions", "a region name")
    severities = []
    for value in values.get("severities", ()):
        try:
            severities.append(Severity(value))
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            problems.append(f"{where}: match.severities: {value!r} is not one of {choices}")
    if problems:
        return None, problems
    route = Route(
        name=str(name),
        deployments=values.get("deployments", ()),
        accounts=values.get("accounts", ()),
        severities=tuple(severities),
        regions=values.get("regions", ()),
    )
    return route, []


def _nearest(key: str, keys: Sequence[str]) -> str:
    close = get_close_matches(key, keys, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def route_label(item: Any, index: int) -> str:
    """How an error names a route: by its name when it has one."""
    name = item.get("name") if isinstance(item, dict) else None
    return f'route "{name}"' if isinstance(name, str) and name else f"route #{index + 1}"


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where} must be a list of non-empty strings, got {json.dumps(value)}")
    return tuple(dict.fromkeys(value))


def _bad(values: Sequence[str], pattern: re.Pattern[str], where: str, what: str) -> list[str]:
    return [f"{where}: {v!r} is not {what}" for v in values if not pattern.match(v)]


def to_json(routes: Sequence[Route]) -> str:
    """The compact JSON text `parse_routes` reads back: what the stack puts in ROUTES."""
    items = []
    for route in routes:
        match = {
            "deployments": list(route.deployments),
            "accounts": list(route.accounts),
            "severities": [s.value for s in route.severities],
            "regions": list(route.regions),
        }
        items.append({"name": route.name, "match": {k: v for k, v in match.items() if v}})
    return json.dumps(items, separators=(",", ":"))
