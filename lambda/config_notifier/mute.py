"""Mutes: transitions people chose not to hear about. Pure: no I/O.

A mute names an account, a rule or pack name (a shell-style glob), a severity, or several of them
(all must match), and optionally the last day it applies. Muted transitions are committed and
logged like delivered ones, never published; an expired mute simply stops matching.

The MUTES environment variable (and the `mutes` CDK context key) is a JSON list, for example
`[{"account": "123456789012", "until": "2026-12-31"}, {"name": "sandbox-*"},
{"severity": "progress"}]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from typing import Any

from config_notifier.jsonlist import json_list
from config_notifier.model import EntityId, Severity

EXAMPLE = (
    '[{"account": "123456789012", "until": "2026-12-31"}, {"name": "sandbox-*"}, '
    '{"severity": "progress"}]'
)
_ACCOUNT = re.compile(r"^\d{12}$")
_KEYS = ("account", "name", "severity", "until")


@dataclass(frozen=True, slots=True)
class Mute:
    """One mute; None criteria match anything, and at least one criterion is set."""

    account: str | None = None
    name: str | None = None  # a glob: *, ?, [seq]; case-sensitive, like the names themselves
    severity: Severity | None = None
    until: date | None = None  # the last day (UTC) it applies; None: until removed

    def matches(self, entity: EntityId, severity: Severity, now: datetime) -> bool:
        if self.until is not None and now.date() > self.until:
            return False
        return (
            (self.account is None or entity.account_id == self.account)
            and (self.name is None or fnmatchcase(entity.name, self.name))
            and (self.severity is None or severity is self.severity)
        )


def is_muted(mutes: Sequence[Mute], entity: EntityId, severity: Severity, now: datetime) -> bool:
    """True when any mute in force at `now` matches this entity and severity."""
    return any(m.matches(entity, severity, now) for m in mutes)


def parse_mutes(raw: Any) -> tuple[Mute, ...]:
    """Mutes from their JSON text or already-parsed list; ValueError says what is wrong."""
    return tuple(_mute(item, index) for index, item in enumerate(json_list(raw, "mutes")))


def to_json(mutes: Sequence[Mute]) -> str:
    """The compact JSON text `parse_mutes` reads back: what the stack puts in MUTES."""
    items = []
    for m in mutes:
        item: dict[str, str] = {}
        if m.account is not None:
            item["account"] = m.account
        if m.name is not None:
            item["name"] = m.name
        if m.severity is not None:
            item["severity"] = m.severity.value
        if m.until is not None:
            item["until"] = m.until.isoformat()
        items.append(item)
    return json.dumps(items, separators=(",", ":"))


def _mute(item: Any, index: int) -> Mute:
    where = f"mute #{index + 1}"
    if not isinstance(item, dict):
        raise ValueError(f"{where} is {json.dumps(item)}, not an object")
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}; it takes {', '.join(_KEYS)}")
    if not set(item) & {"account", "name", "severity"}:
        raise ValueError(f"{where} mutes nothing: give an account, a name or a severity")
    values = {k: item[k] for k in _KEYS if k in item}
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {key} must be a non-empty string")
    account = values.get("account")
    if account is not None and not _ACCOUNT.match(account):
        raise ValueError(f"{where}: account {account!r} is not a 12-digit account id")
    severity = None
    if "severity" in values:
        try:
            severity = Severity(values["severity"])
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            raise ValueError(
                f"{where}: severity {values['severity']!r} is not one of {choices}"
            ) from None
    until = None
    if "until" in values:
        try:
            until = date.fromisoformat(values["until"])
        except ValueError:
            raise ValueError(
                f"{where}: until {values['until']!r} is not an ISO date (YYYY-MM-DD)"
            ) from None
    return Mute(account=account, name=values.get("name"), severity=severity, until=until)
