"""The `schedule` setting: an EventBridge rate() or cron() expression, checked field by field.

The rules are EventBridge's own (docs/synth-checks.md quotes them): a rate is a positive whole
number and a unit, singular for 1 and plural above; a cron expression has six fields, each with its
own values and wildcards, and exactly one of day-of-month and day-of-week is '?'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_RATE = re.compile(r"^rate\((?P<value>\S+) (?P<unit>\S+)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True, slots=True)
class Schedule:
    """An EventBridge schedule expression; `period` is known for rate() and None for cron()."""

    expression: str
    period: timedelta | None

    @property
    def nominal_period(self) -> timedelta:
        """The period; for cron(), which has none, the default schedule's five minutes."""
        return self.period or timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class _Field:
    """One cron field as EventBridge's cron reference lists it: its values and its wildcards."""

    name: str
    low: int
    high: int
    wildcards: str
    names: tuple[str, ...] = ()  # JAN-DEC or SUN-SAT, numbered from `low`

    @property
    def accepts(self) -> str:
        values = f"{self.low}-{self.high}"
        if self.names:
            values += f" or {self.names[0]}-{self.names[-1]}"
        return f"{values} and the wildcards {' '.join(self.wildcards)}"


_FIELDS = (
    _Field("Minutes", 0, 59, ",-*/"),
    _Field("Hours", 0, 23, ",-*/"),
    _Field("Day-of-month", 1, 31, ",-*?/LW"),
    _Field("Month", 1, 12, ",-*/", _MONTHS),
    _Field("Day-of-week", 1, 7, ",-*?L#", _DAYS),
    _Field("Year", 1970, 2199, ",-*/"),
)


def parse_schedule(expression: str) -> Schedule:
    """The Schedule `expression` describes, or ValueError saying which part EventBridge rejects."""
    if expression.startswith("rate("):
        return Schedule(expression, _rate_period(expression))
    if expression.startswith("cron("):
        _check_cron(expression)
        return Schedule(expression, None)
    raise ValueError(f"{expression!r} is not a rate(...) or cron(...) expression")


def _rate_period(expression: str) -> timedelta:
    match = _RATE.match(expression)
    if match is None:
        raise ValueError(f"{expression!r}: a rate is rate(value unit), one space between them")
    value, unit = match["value"], match["unit"]
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{expression!r}: the value {value!r} is not a positive whole number")
    singular = unit.removesuffix("s")
    if singular not in _UNITS:
        raise ValueError(
            f"{expression!r}: the unit {unit!r} is not one of minute(s), hour(s), day(s)"
        )
    if (int(value) == 1) != (unit == singular):
        raise ValueError(f"{expression!r}: use a singular unit for 1 and a plural one above")
    return _UNITS[singular] * int(value)


def _check_cron(expression: str) -> None:
    match = _CRON.match(expression)
    fields = match["fields"].split() if match else []
    if len(fields) != len(_FIELDS):
        raise ValueError(
            f"{expression!r}: cron() takes 6 fields separated by spaces (Minutes Hours "
            f"Day-of-month Month Day-of-week Year), not {len(fields)}"
        )
    problems = [
        f"the {spec.name} field {text!r} {problem}"
        for spec, text in zip(_FIELDS, fields, strict=True)
        if (problem := _field_problem(spec, text))
    ]
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        problems.append(
            "exactly one of Day-of-month and Day-of-week must be '?' (a value or * in one "
            "needs ? in the other)"
        )
    if problems:
        raise ValueError(f"{expression!r}: {'; '.join(problems)}")


def _field_problem(spec: _Field, text: str) -> str | None:
    """Why `text` is not a valid value of the field, or None."""
    items = text.split(",")
    if len(items) > 1 and ("?" in items or "#" in text):
        return f"combines ? or # with other values ({spec.name} takes {spec.accepts})"
    for item in items:
        problem = _item_problem(spec, item)
        if problem:
            return f"{problem} ({spec.name} takes {spec.accepts})"
    return None


def _item_problem(spec: _Field, item: str) -> str | None:
    """Why one comma-separated item of a field is not valid, or None."""
    if item == "*" or item in _wildcards_alone(spec):
        return None
    if "/" in item:
        return _increment_problem(spec, item)
    if "#" in item:
        day, _, nth = item.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            return f"has {item!r}: the number after # is the week of the month, 1-5"
        return _value_problem(spec, day)
    # 3W: the weekday nearest the 3rd (Day-of-month); 6L: the last Friday (Day-of-week).
    if item[-1:] in _suffixes(spec):
        return _value_problem(spec, item[:-1])
    low, _, high = item.partition("-")
    return _value_problem(spec, low) or (_value_problem(spec, high) if high else None)


def _wildcards_alone(spec: _Field) -> set[str]:
    """The wildcards that stand as an item by themselves: ?, L, and LW (the last weekday)."""
    alone = {w for w in ("?", "L") if w in spec.wildcards}
    return alone | {"LW"} if "W" in spec.wildcards else alone


def _suffixes(spec: _Field) -> set[str]:
    """The wildcards written after a value: W in Day-of-month, L in Day-of-week."""
    if spec.name == "Day-of-month":
        return {"W"}
    return {"L"} if spec.name == "Day-of-week" else set()


def _increment_problem(spec: _Field, item: str) -> str | None:
    start, _, step = item.partition("/")
    if "/" not in spec.wildcards:
        return "uses / where it is not allowed"
    if not step.isdigit() or not 1 <= int(step) <= spec.high:
        return f"has the increment {step!r}, not a whole number from 1 to {spec.high}"
    return None if start == "*" else _item_problem(spec, start)


def _value_problem(spec: _Field, text: str) -> str | None:
    if text.upper() in spec.names:
        return None
    if not text.isdigit():
        return f"has {text!r}, which is not a value or wildcard it takes"
    if not spec.low <= int(text) <= spec.high:
        return f"has {text}, out of its range {spec.low}-{spec.high}"
    return None
