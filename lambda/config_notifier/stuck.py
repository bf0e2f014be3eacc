"""Stuck deployments: what has sat in an *_IN_PROGRESS state too long. Pure: no I/O.

A stuck entity has not moved, so the diff has nothing to say about it; this module says it once.
When its state began is the record's `last_changed`, which moves only when its status or error
code moves. An in-progress state counts from AWS's own last-update time when that is earlier than
the run that first saw it (`entered_at`): a deployment already stuck for hours when the notifier
is installed is stuck now, not two hours from now. `stuck_reported` on the record keeps the report
from being repeated run after run. A move clears it, so a later stall is reported again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from config_notifier.model import EntityId, Observation, Record, Status, Stuck


def entered_at(status: Status, stamp: str, not_before: str = "") -> str:
    """When the state `status` began, for a record that enters it in the run stamped `stamp`.

    An in-progress status counts from its own last-update time (AWS's clock) when that is earlier
    than `stamp`, but never from before `not_before`, when the record's previous state began.
    Anything else begins at `stamp`: the snapshot's clock, as before.
    """
    if not status.is_in_progress or not status.updated_at:
        return stamp
    updated = datetime.fromisoformat(status.updated_at).astimezone(UTC).replace(microsecond=0)
    began = min(updated, datetime.fromisoformat(stamp))
    if not_before:
        began = max(began, datetime.fromisoformat(not_before))
    return began.isoformat()


def stalled_since(status: Status, now: datetime, after: timedelta) -> str | None:
    """For a status seen for the first time: since when it has been in progress, when that is
    `after` or longer (a baseline summary lists it); None otherwise, and when `after` is zero."""
    if not after:
        return None
    since = entered_at(status, now.isoformat(timespec="seconds"))
    return since if now - datetime.fromisoformat(since) >= after else None


def is_stuck(record: Record | None, current: Status, now: datetime, after: timedelta) -> bool:
    """True when `current` is an unreported stall: in progress, unmoved for `after` or longer.

    A zero `after` turns stuck detection off.
    """
    if not after or record is None or not current.is_in_progress:
        return False
    if record.stuck_reported or not record.last_changed:
        return False
    if (record.status.status, record.status.error_code) != (current.status, current.error_code):
        return False  # it is moving this run: the diff reports it
    return now - datetime.fromisoformat(record.last_changed) >= after


def stuck_members(
    records: Mapping[EntityId, Record],
    current: Iterable[Observation],
    now: datetime,
    after: timedelta,
) -> list[Stuck]:
    """The member accounts (or any entities) of `current` that are stuck now."""
    return [
        Stuck(o.entity, o.status, records[o.entity].last_changed)
        for o in current
        if is_stuck(records.get(o.entity), o.status, now, after)
    ]


def stuck_parent(record: Record, current: Observation, members: Iterable[Status] | None) -> Stuck:
    """The stall of an organization rule or pack, with its members by status when they were read.

    AWS Config has been seen to leave the organization-level status in progress long after every
    member account finished; `members_finished` says so. `members` are those read this run (the
    ones not healthy): read, and none of them in progress, means every member has finished.
    """
    statuses = list(members) if members is not None else []
    counts = Counter(s.status for s in statuses)
    return Stuck(
        current.entity,
        current.status,
        record.last_changed,
        member_statuses=tuple(sorted(counts.items())),
        members_finished=members is not None and not any(s.is_in_progress for s in statuses),
    )
