"""Planning: which organization rules and packs need their member accounts read. Pure: no I/O.

Reading members is the expensive part of a run (a page per 100 accounts per rule or pack), so a run
reads them only where something can have changed: the organization-level state moved since the
members were last read, a deployment is not settled, the members were never read, or a periodic
full reconcile is due.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from config_notifier.model import Kind, Observation, Record, Status
from config_notifier.stored import outbox_subject
from config_notifier.survey import Region

# A rule or pack announced while its members could not be read: they are reported, not baselined,
# when they are read. (No detail_synced at all means they are baselined quietly.)
MEMBERS_PENDING = "members-pending"


def state_key(status: Status) -> str:
    """The organization-level state whose member accounts a snapshot reflects."""
    return f"{status.status}|{status.error_code or ''}|{status.updated_at or ''}"


def needs_detail(
    current: Status, record: Record | None, now: datetime, reconcile_every: timedelta
) -> bool:
    """True when the member accounts of a rule or pack must be read this run."""
    if record is None or record.detail_synced != state_key(current):
        return True
    if not current.is_settled_ok:
        # The organization-level status says little while a deployment runs or fails: a second
        # account can fail without it moving. Only the members tell.
        return True
    return reconcile_due(record, now, reconcile_every)


def reconcile_due(record: Record, now: datetime, reconcile_every: timedelta) -> bool:
    """True when the members were last read completely longer ago than the reconcile period."""
    if record.detail_read_at is None:
        return True
    return now - datetime.fromisoformat(record.detail_read_at) >= reconcile_every


def plan(
    regions: Iterable[Region], now: datetime, reconcile_every: timedelta
) -> list[tuple[Region, Observation]]:
    """The rules and packs to reconcile this run: those whose members need reading, and those an
    earlier run published about and could not commit (their outbox waits). Deployments that
    moved or are unsettled come first; routine reconciles last."""
    work = [
        (region, observation)
        for region in regions
        if region.snapshot is not None
        for kind in (Kind.ORG_RULE, Kind.ORG_PACK)
        for observation in region.current.get(kind, [])
        if outbox_subject(observation.entity) in region.snapshot.outbox
        or needs_detail(
            observation.status,
            region.snapshot.records.get(observation.entity),
            now,
            reconcile_every,
        )
    ]
    work.sort(key=lambda item: item[1].status.is_settled_ok)
    return work
