"""Which organization rules and packs need their member accounts read this run. Pure: no I/O.

Reading members is the expensive part of a run (a page per 100 accounts per rule or pack), so a run
reads them only where something can have changed: the organization-level state moved since the
members were last read, a deployment is not settled, the members were never read, or a periodic
full reconcile is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from config_notifier.model import Record, Status

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
