"""Stuck deployments: what has sat in an *_IN_PROGRESS state too long. Pure: no I/O.

A stuck entity has not moved, so the diff has nothing to say about it; this module says it once.
When it was first seen in its state comes from the snapshot (a record's `last_changed` moves only
when its status or error code moves), and `stuck_reported` on the record keeps the report from
being repeated run after run. A move clears it, so a later stall is reported again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from config_notifier.model import EntityId, Observation, Record, Status, Stuck


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
    member account finished; `members_finished` says so.
    """
    statuses = list(members) if members is not None else []
    counts = Counter(s.status for s in statuses)
    return Stuck(
        current.entity,
        current.status,
        record.last_changed,
        member_statuses=tuple(sorted(counts.items())),
        members_finished=bool(statuses) and not any(s.is_in_progress for s in statuses),
    )
