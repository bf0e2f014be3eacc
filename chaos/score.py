"""Scoring a chaos run: what an SQS subscriber received against the scripted truth. Pure.

The subscriber's picture starts as the truth at the baseline tick (the first run is a silent
baseline) and moves with every delivered transition; a removed rule or pack takes its member
accounts with it, as its message says. A subscriber must hear of less than every change: a member
account that is healthy is never told of, so to a subscriber it is the same as one that is not
there (chaos.world `heard`, docs/design.md rule 7). Against the truth at each tick boundary:

- false: a delivered transition whose new state is not the entity's state at that tick (a status
  it never had then, or "disappeared" for something that exists, e.g. one that failed to be read);
- duplicate: a delivered transition that does not move the subscriber (it already had that state);
  explained only by a fault that left a delivery of that same entity unconfirmed (`Unconfirmed`:
  an SNS answer that leaves open whether SNS took a message telling it, a failed write of the
  snapshot item that would have confirmed it, a kill that left its outbox behind, the other of
  two overlapping runs telling it too), from the tick of the subscriber's previous delivery for
  the entity to the repeat. A fault on any other entity, or before that previous delivery,
  explains nothing;
- deliveries of one transition: how many times the subscriber was told an entity's state while the
  entity held it, from the tick it entered that state to the tick it left it (a state that came
  back after a hidden change is another transition); at least once allows two, the delivery and
  one repeat;
- lost: a true state the entity held at the end of at least one fault-free tick that the subscriber
  never reached while it held; a state held only while faults were active may be skipped
  (collapsed: old -> new directly), which at-least-once allows. A change a subscriber is not told
  of is quiet, not lost: between a healthy member and none, and into a status no filter asks for
  (`unfiltered`) in a member the subscriber did not know as unhealthy;
- stale: after a fault-free tick, an entity whose delivered state differs from what the
  subscriber must know of the truth;
- final: after the last tick (fault-free ticks at the end), the same, for every entity.

Whether a delivered state is false is judged against the whole truth, healthy members included.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.world import MEMBER_KIND, PARENT_KIND, Key, State, Truth, heard, unfiltered

_MEMBER_OF = {PARENT_KIND[k]: MEMBER_KIND[k] for k in PARENT_KIND}


@dataclass(frozen=True)
class Delivered:
    """One transition as the subscriber got it."""

    tick: int
    message: int  # which message carried it (index among transition messages)
    key: Key
    old: State | None
    new: State | None


MAX_DELIVERIES = 2  # of one transition: the delivery and at most one repeat


@dataclass(frozen=True)
class Unconfirmed:
    """A fault that left the delivery of some entities' states unconfirmed during a tick: `cause`
    names it (the fault kind that injected it, or what happened), `keys` the entities whose
    delivery it concerns."""

    cause: str
    keys: frozenset[Key]


@dataclass(frozen=True)
class TickInfo:
    """What the scorer must know about a tick besides the truth."""

    faults: tuple[str, ...] = ()  # the fault kinds active during the tick's run
    clean: bool = True  # no fault that can delay a transition was active
    unconfirmed: tuple[Unconfirmed, ...] = ()  # what the faults did to deliveries, observed


@dataclass(frozen=True)
class Finding:
    tick: int
    key: Key
    detail: str
    # Faults that left a delivery of this entity unconfirmed, between the subscriber's previous
    # delivery for it and this finding: the explanation of a duplicate; for a lost transition,
    # the sign of a delivered but unconfirmed one that the entity then undid.
    causes: tuple[str, ...] = ()

    def __str__(self) -> str:
        region, kind, name, account = self.key
        who = f"{region} {kind} {name}" + (f" {account}" if account else "")
        return f"tick {self.tick}: {who}: {self.detail}"


@dataclass
class Score:
    messages: int = 0  # transition messages received
    delivered: int = 0  # transitions in them
    true_transitions: int = 0  # changes of state after the baseline a subscriber must hear of
    quiet: int = 0  # changes of state after the baseline a subscriber is not told of (rule 7)
    reached: int = 0  # true transitions the subscriber reached
    collapsed: int = 0  # true transitions skipped while faults hid them (allowed)
    delayed: int = 0  # reached later than the tick they happened (allowed under faults)
    lost: list[Finding] = field(default_factory=list)
    false: list[Finding] = field(default_factory=list)
    duplicates: list[Finding] = field(default_factory=list)
    # Duplicates with no fault that left a delivery of their entity unconfirmed.
    unexplained_duplicates: list[Finding] = field(default_factory=list)
    most_deliveries: int = 0  # of one transition (a state told while the entity held it)
    over_delivered: list[Finding] = field(default_factory=list)  # told > MAX_DELIVERIES times
    duplicate_messages: int = 0  # messages repeating at least one transition
    # Faults that explain the repeats in a duplicate message -> how many such messages.
    duplicate_message_causes: Counter[str] = field(default_factory=Counter)
    stale: list[Finding] = field(default_factory=list)
    final: list[Finding] = field(default_factory=list)

    @property
    def explained_duplicates(self) -> int:
        return len(self.duplicates) - len(self.unexplained_duplicates)

    @property
    def duplicate_share(self) -> float:
        return self.duplicate_messages / self.messages if self.messages else 0.0


def deliveries(tick: int, message: int, document: Mapping[str, Any]) -> list[Delivered]:
    """The transitions of one SQS document: about one rule or pack in one region (schema
    config-deployment-notifier.transitions), or a notice listing several (its `groups`)."""
    return [
        Delivered(
            tick,
            message,
            (group["region"], t["kind"], t["name"], t["account_id"] or ""),
            _state(t["old"]),
            _state(t["new"]),
        )
        for group in document.get("groups", [document])
        for t in group["transitions"]
    ]


def _state(doc: Mapping[str, Any] | None) -> State | None:
    return None if doc is None else (doc["status"], doc["error_code"])


def score(
    truth: Sequence[Truth], delivered: Iterable[Delivered], ticks: Sequence[TickInfo]
) -> Score:
    """Compare what the subscriber received with the truth at each tick boundary.

    truth[t]: every entity's state at the end of tick t (truth[0]: the baseline); ticks[t]: that
    tick's faults and what they left unconfirmed. `delivered` in the order received.
    """
    if len(truth) != len(ticks) or not truth:
        raise ValueError("one truth and one TickInfo per tick, at least the baseline")
    result = Score()
    by_tick: dict[int, list[Delivered]] = defaultdict(list)
    for d in delivered:
        by_tick[d.tick].append(d)
    seen = _Subscriber(truth[0])
    told: Counter[tuple[Key, int]] = Counter()  # (entity, tick it entered the state) -> deliveries
    messages: set[int] = set()
    repeating: dict[int, set[str]] = defaultdict(set)
    for tick, now in enumerate(truth):
        for d in by_tick.get(tick, []):
            messages.add(d.message)
            result.delivered += 1
            times = 0
            if d.new != now.get(d.key):
                result.false.append(
                    Finding(tick, d.key, f"delivered {_show(d.new)}, was {_show(now.get(d.key))}")
                )
            else:
                entered = _entered(truth, d.key, tick)
                told[(d.key, entered)] += 1
                times = told[(d.key, entered)]
                result.most_deliveries = max(result.most_deliveries, times)
                if times > MAX_DELIVERIES:
                    result.over_delivered.append(
                        Finding(
                            tick,
                            d.key,
                            f"{_show(d.new)} delivered {times} times since it began at tick "
                            f"{entered}",
                        )
                    )
            if d.new == seen.state(d.key):
                since = seen.last_delivery.get(d.key, 0)
                causes = _unconfirming(ticks, d.key, since, tick)
                finding = Finding(
                    tick,
                    d.key,
                    f"{_show(d.new)} again (previous delivery at tick {since}"
                    + (
                        f"; left unconfirmed by {', '.join(causes)})"
                        if causes
                        else "; no fault left a delivery of it unconfirmed)"
                    ),
                    causes,
                )
                result.duplicates.append(finding)
                if not causes:
                    result.unexplained_duplicates.append(finding)
                repeating[d.message].update(causes)
            else:
                seen.move(tick, d.key, d.new)
            seen.last_delivery[d.key] = tick
        if ticks[tick].clean:
            result.stale += [
                Finding(tick, key, f"subscriber has {_show(seen.state(key))}, truth {_show(s)}")
                for key, s in _mismatches(seen.states, now)
            ]
    result.final = [
        Finding(
            len(truth) - 1, key, f"subscriber ends with {_show(seen.state(key))}, truth {_show(s)}"
        )
        for key, s in _mismatches(seen.states, truth[-1])
    ]
    result.messages = len(messages)
    result.duplicate_messages = len(repeating)
    result.duplicate_message_causes = Counter(
        cause for causes in repeating.values() for cause in causes or {"no fault"}
    )
    _walks(result, truth, ticks, seen)
    return result


class _Subscriber:
    """What a subscriber knows: each entity's last delivered state, and when it took each."""

    def __init__(self, baseline: Truth) -> None:
        self.baseline = dict(baseline)
        self.states: dict[Key, State] = dict(baseline)
        self.changes: dict[Key, list[tuple[int, State | None]]] = defaultdict(list)
        self.last_delivery: dict[Key, int] = {}

    def state(self, key: Key) -> State | None:
        return self.states.get(key)

    def state_at(self, key: Key, tick: int) -> State | None:
        """The state at the end of `tick`."""
        state = self.baseline.get(key)
        for when, value in self.changes.get(key, []):
            if when > tick:
                break
            state = value
        return state

    def move(self, tick: int, key: Key, new: State | None) -> None:
        self._set(tick, key, new)
        region, kind, name, _ = key
        member_kind = _MEMBER_OF.get(kind)
        if new is None and member_kind is not None:
            # "removed" for a rule or pack: its member accounts go with it.
            for other in [k for k in self.states if k[:3] == (region, member_kind, name)]:
                self._set(tick, other, None)

    def _set(self, tick: int, key: Key, new: State | None) -> None:
        if new is None:
            self.states.pop(key, None)
        else:
            self.states[key] = new
        self.changes[key].append((tick, new))


def _mismatches(
    have: Mapping[Key, State], want: Mapping[Key, State]
) -> list[tuple[Key, State | None]]:
    return sorted(
        (
            (key, want.get(key))
            for key in set(have) | set(want)
            if not _current(key, have.get(key), want.get(key))
        ),
        key=lambda pair: pair[0],
    )


def _current(key: Key, have: State | None, want: State | None) -> bool:
    """True when a subscriber holding `have` knows what it must of the true state `want`."""
    told = heard(key, have)
    if told == heard(key, want):
        return True
    # A status no filter asks for, in a member the subscriber does not know as unhealthy: the
    # notifier cannot have read it. (Had the subscriber known it as unhealthy, moving it to
    # healthy or absent while this status held would be a false delivery, counted as such.)
    return told is None and unfiltered(key, want)


def _walks(
    result: Score, truth: Sequence[Truth], ticks: Sequence[TickInfo], seen: _Subscriber
) -> None:
    """Each true transition after the baseline a subscriber must hear of: reached, delayed,
    collapsed or lost. A hold is a run of ticks that are alike to a subscriber: a member healthy
    in one and absent in the next is one hold, and that change is quiet."""
    keys = sorted({key for states in truth for key in states})
    for key in keys:
        previous = truth[0].get(key)
        start = 1
        while start < len(truth):
            state = truth[start].get(key)
            end = start
            while end + 1 < len(truth) and heard(key, truth[end + 1].get(key)) == heard(key, state):
                result.quiet += truth[end + 1].get(key) != truth[end].get(key)
                end += 1
            hold = _Hold(key, previous, state, start, end)
            if state != previous and _told_of(hold, seen):
                result.true_transitions += 1
                _judge(result, hold, ticks, seen)
            elif state != previous:
                result.quiet += 1
            previous, start = truth[end].get(key), end + 1


def _told_of(hold: _Hold, seen: _Subscriber) -> bool:
    """Whether a subscriber must hear of this change (docs/design.md rule 7)."""
    key = hold.key
    if heard(key, hold.state) == heard(key, hold.previous):
        return False
    if unfiltered(key, hold.state):
        # Only a member the notifier knew as unhealthy is read whatever its status: one the
        # subscriber was told of as such.
        return heard(key, seen.state_at(key, hold.start - 1)) is not None
    return True


@dataclass(frozen=True)
class _Hold:
    """A true transition into `state`, held over ticks start..end."""

    key: Key
    previous: State | None
    state: State | None
    start: int
    end: int


def _judge(result: Score, hold: _Hold, ticks: Sequence[TickInfo], seen: _Subscriber) -> None:
    key, state, start, end = hold.key, heard(hold.key, hold.state), hold.start, hold.end
    already = heard(key, seen.state_at(key, start - 1)) == state
    moves = [
        when
        for when, value in seen.changes.get(key, [])
        if start <= when <= end and heard(key, value) == state
    ]
    if already or moves:
        result.reached += 1
        if not already and moves[0] > start:
            result.delayed += 1
    elif any(ticks[t].clean for t in range(start, end + 1)):
        last = max((when for when, _ in seen.changes.get(key, []) if when < start), default=0)
        causes = _unconfirming(ticks, key, last, start)
        result.lost.append(
            Finding(
                start,
                key,
                f"{_show(hold.previous)} -> {_show(hold.state)} (held until tick {end}) never "
                "delivered"
                + (
                    f" (after a delivery at tick {last}, with {', '.join(causes)})"
                    if causes
                    else ""
                ),
                causes,
            )
        )
    else:
        result.collapsed += 1


def _entered(truth: Sequence[Truth], key: Key, tick: int) -> int:
    """The tick `key` entered the state it has at `tick` (0: it had it at the baseline)."""
    state = truth[tick].get(key)
    while tick > 0 and truth[tick - 1].get(key) == state:
        tick -= 1
    return tick


def _unconfirming(ticks: Sequence[TickInfo], key: Key, first: int, last: int) -> tuple[str, ...]:
    """The faults of ticks first..last that left a delivery of `key` unconfirmed."""
    return tuple(
        sorted({u.cause for t in ticks[first : last + 1] for u in t.unconfirmed if key in u.keys})
    )


def _show(state: State | None) -> str:
    if state is None:
        return "(absent)"
    status, code = state
    return f"{status}/{code}" if code else status
