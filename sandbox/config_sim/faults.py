"""Fault injection, per region and per operation: latency, throttling, access denied, and a
service that misbehaves: a NextToken repeated forever, empty pages that still carry a token,
answers that leave out members the model calls optional, and `Filters` that are ignored."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class FaultRule:
    """One rule; None for region or operation means every region or every operation."""

    region: str | None = None
    operation: str | None = None
    latency_ms: float = 0
    throttle_rate: float = 0.0
    access_denied: bool = False
    # A listing answers every page with the same NextToken, so it never ends.
    token_loop: bool = False
    # A listing starts with this many empty pages, each carrying a NextToken, before its data.
    empty_pages: int = 0
    # Members left out of every listed item, e.g. ("ErrorCode", "LastUpdateTime").
    omit_fields: tuple[str, ...] = ()
    # The request's Filters are ignored: a listing answers as if none were given (every member).
    ignore_filters: bool = False

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")
        if not 0.0 <= self.throttle_rate <= 1.0:
            raise ValueError(f"throttle_rate must be within 0.0..1.0, got {self.throttle_rate}")
        if self.empty_pages < 0:
            raise ValueError(f"empty_pages must be >= 0, got {self.empty_pages}")
        if isinstance(self.omit_fields, str):
            raise ValueError(f"omit_fields must be a list of names, got {self.omit_fields!r}")
        # A JSON document gives a list; the rule stays hashable and comparable either way.
        object.__setattr__(self, "omit_fields", tuple(self.omit_fields))

    def matches(self, operation: str, region: str) -> bool:
        return self.region in (None, region) and self.operation in (None, operation)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> FaultRule:
        unknown = set(doc) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        return cls(**doc)


@dataclass(frozen=True)
class FaultOutcome:
    """What the matching rules decided for one request."""

    latency_s: float = 0.0
    throttled: bool = False
    access_denied: bool = False
    token_loop: bool = False
    empty_pages: int = 0
    omit_fields: frozenset[str] = frozenset()
    ignore_filters: bool = False


class FaultInjector:
    """The active rules and a seeded draw, so a throttle rate below 1.0 repeats run after run.

    Not thread-safe: the simulator's lock guards it.
    """

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rules: list[FaultRule] = []
        # Not for security: a seeded draw makes throttling repeatable.
        self._random = random.Random(seed)  # noqa: S311

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        return tuple(self._rules)

    def add(self, rule: FaultRule) -> None:
        self._rules.append(rule)

    def clear(self) -> None:
        """No rules, and the draw starts again from its seed."""
        self._rules.clear()
        self._random.seed(self._seed)

    def decide(self, operation: str, region: str) -> FaultOutcome:
        """Every matching rule applies: latencies add up, any one throttle, denial or token loop
        wins, the most empty pages and every omitted member count; any one ignores Filters."""
        latency_ms = 0.0
        throttled = denied = loop = unfiltered = False
        empty_pages = 0
        omitted: set[str] = set()
        for rule in self._rules:
            if not rule.matches(operation, region):
                continue
            latency_ms += rule.latency_ms
            denied = denied or rule.access_denied
            loop = loop or rule.token_loop
            unfiltered = unfiltered or rule.ignore_filters
            empty_pages = max(empty_pages, rule.empty_pages)
            omitted.update(rule.omit_fields)
            # Draw only for rules that can throttle, so adding a latency rule does not shift
            # the sequence of throttle decisions.
            if rule.throttle_rate > 0 and self._random.random() < rule.throttle_rate:
                throttled = True
        return FaultOutcome(
            latency_ms / 1000,
            throttled,
            denied,
            loop,
            empty_pages,
            frozenset(omitted),
            unfiltered,
        )
