"""A small CloudWatch Logs Insights evaluator: enough of the language to run the saved queries of
infra/insights.py over log records in a test, and nothing more.

It knows `# comments`, `fields`, `filter`, `sort` and `limit`; in a filter: `and`, `or`, `not`,
parentheses, `= != < > <= >=` against a string or a number, `in [...]`, `like /regex/` and
`ispresent(field)`. Fields are read as Insights discovers them in JSON logs: dotted paths, with
list items by index (`summary.failed_sources.0.reason`). Anything else is refused, so a query
that starts to use more of the language must teach this evaluator first.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<regex>/(?:[^/\\]|\\.)*/)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>>=|<=|!=|=|<|>|\(|\)|\[|\]|,)
      | (?P<word>[@A-Za-z_][\w.@]*)
    )""",
    re.VERBOSE,
)


def run(query: str, records: Sequence[Record]) -> list[Record]:
    """The rows `query` returns over `records` (each a parsed JSON log line; `@message` is its
    text, `@timestamp` its time if given)."""
    rows = list(records)
    projection: list[str] | None = None
    for command in _commands(query):
        verb, _, rest = command.partition(" ")
        if verb == "fields":
            projection = [f.strip() for f in rest.split(",")]
        elif verb == "filter":
            predicate = _Parser(rest).parse()
            rows = [r for r in rows if predicate(r)]
        elif verb == "sort":
            field, _, order = rest.strip().partition(" ")
            rows.sort(key=lambda r: str(value(r, field)), reverse=order.strip() != "asc")
        elif verb == "limit":
            rows = rows[: int(rest)]
        else:
            raise ValueError(f"this evaluator does not know the command {verb!r}")
    if projection is None:
        return rows
    return [{f: value(r, f) for f in projection if value(r, f) is not None} for r in rows]


def projected(query: str) -> list[str]:
    """The fields a query's `fields` command shows."""
    for command in _commands(query):
        verb, _, rest = command.partition(" ")
        if verb == "fields":
            return [f.strip() for f in rest.split(",")]
    return []


def value(record: Record, field: str) -> Any:
    if field == "@message":
        return record.get("@message", json.dumps(record))
    current: Any = record
    for part in field.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _commands(query: str) -> list[str]:
    lines = [line for line in query.splitlines() if not line.strip().startswith("#")]
    return [c.strip() for c in " ".join(lines).split(" | ")]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise ValueError(f"cannot read {text[position:]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.at = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at][1]!r}")
        return predicate

    def _peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, found {token[1]!r}")
        self.at += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek() == "or":
            self._take()
            parts.append(self._and())
        return lambda r: any(p(r) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._peek() == "and":
            self._take()
            parts.append(self._not())
        return lambda r: all(p(r) for p in parts)

    def _not(self) -> Predicate:
        if self._peek() == "not":
            self._take()
            inner = self._not()
            return lambda r: not inner(r)
        return self._atom()

    def _atom(self) -> Predicate:
        if self._peek() == "(":
            self._take()
            inner = self._or()
            self._take(")")
            return inner
        kind, field = self._take()
        if field == "ispresent":
            self._take("(")
            _, name = self._take()
            self._take(")")
            return lambda r: value(r, name) is not None
        if kind != "word":
            raise ValueError(f"expected a field, found {field!r}")
        return self._comparison(field)

    def _comparison(self, field: str) -> Predicate:
        _, op = self._take()
        if op == "like":
            kind, literal = self._take()
            if kind != "regex":
                raise ValueError("like takes a /regex/ here")
            pattern = re.compile(literal[1:-1])
            return lambda r: pattern.search(str(value(r, field) or "")) is not None
        if op == "in":
            self._take("[")
            options = [self._literal()]
            while self._peek() == ",":
                self._take()
                options.append(self._literal())
            self._take("]")
            return lambda r: value(r, field) in options
        expected = self._literal()
        compare: Callable[[Any, Any], bool] = {
            "=": operator.eq,
            "!=": operator.ne,
            "<": operator.lt,
            ">": operator.gt,
            "<=": operator.le,
            ">=": operator.ge,
        }[op]

        def holds(record: Record) -> bool:
            found = value(record, field)
            if found is None or isinstance(expected, float) != isinstance(found, int | float):
                return False
            return bool(compare(found, expected))

        return holds

    def _literal(self) -> Any:
        kind, text = self._take()
        if kind == "string":
            return json.loads(text)
        if kind == "number":
            return float(text)
        raise ValueError(f"expected a string or number, found {text!r}")
