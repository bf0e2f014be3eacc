"""The diff: what moved between the snapshot and what AWS Config says now. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from config_notifier.model import (
    Change,
    EntityId,
    Observation,
    Record,
    Severity,
    Status,
    Transition,
)
from config_notifier.settings import BaselineMode


def diff(previous: Mapping[EntityId, Record], current: Iterable[Observation]) -> list[Transition]:
    """Transitions from `previous` to `current`.

    Both must cover the same, completely read scope: an entity in `previous` and not in `current`
    is reported as disappeared. A source that failed must not be diffed at all
    (docs/design.md rule 1).
    """
    transitions: list[Transition] = []
    seen: set[EntityId] = set()
    for observation in current:
        seen.add(observation.entity)
        record = previous.get(observation.entity)
        if record is None:
            transitions.append(transition(observation.entity, None, observation.status))
        elif moved(record.status, observation.status):
            transitions.append(transition(observation.entity, record.status, observation.status))
    transitions.extend(
        transition(entity, record.status, None)
        for entity, record in previous.items()
        if entity not in seen
    )
    return transitions


def diff_told(
    committed: Mapping[EntityId, Record],
    maybe_told: Mapping[EntityId, Status | None],
    current: Iterable[Observation],
) -> list[Transition]:
    """Transitions from what subscribers know to `current`, when some deliveries are unconfirmed.

    `maybe_told` holds what an earlier run published but could not commit (None: "disappeared"):
    the subscriber has either that or the committed status. An entity that moved since is
    reported from the unconfirmed status, so a failure told and then undone is always followed by
    its recovery; one that did not is reported again from the committed status, a duplicate at
    worst. Every transition's new status is the current one, so none is stale.
    """
    told = dict(committed)
    for entity, status in maybe_told.items():
        if status is None:
            told.pop(entity, None)
        else:
            told[entity] = Record(entity, status, first_seen="", last_changed="")
    transitions = diff(told, current)
    reported = {t.entity for t in transitions}
    for entity, status in maybe_told.items():
        if entity in reported:
            continue
        record = committed.get(entity)
        before = record.status if record is not None else None
        if before is None and status is None:
            continue
        if before is None or status is None or moved(before, status):
            transitions.append(transition(entity, before, status))
    return transitions


def moved(old: Status, new: Status) -> bool:
    """A change people hear about: the status or the error code, not a reworded error message."""
    return old.status != new.status or old.error_code != new.error_code


def severity(old: Status | None, new: Status | None) -> Severity:
    """Failure when something newly fails, recovery when a failure ends, progress otherwise."""
    if new is not None and new.is_failed:
        return Severity.FAILURE
    if old is not None and old.is_failed:
        return Severity.RECOVERY
    return Severity.PROGRESS


def for_baseline(transitions: Iterable[Transition], mode: BaselineMode) -> list[Transition]:
    """What a first run publishes besides its summary: nothing, current failures, or everything.

    Everything is still committed, so the next run diffs against what exists now.
    """
    if mode is BaselineMode.SILENT:
        return []
    return [t for t in transitions if mode is BaselineMode.ALL or t.severity is Severity.FAILURE]


def transition(entity: EntityId, old: Status | None, new: Status | None) -> Transition:
    if old is None:
        change = Change.APPEARED
    elif new is None:
        change = Change.DISAPPEARED
    else:
        change = Change.CHANGED
    return Transition(entity, change, old, new, severity(old, new))
