"""Which rules and packs get their member accounts read: only where something can have changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config_notifier.model import EntityId, Kind, Record, Status
from config_notifier.plan import MEMBERS_PENDING, needs_detail, state_key

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
PACK = EntityId("us-east-1", Kind.ORG_PACK, "ops-baseline")
SETTLED = Status("CREATE_SUCCESSFUL", updated_at="2026-11-20T10:00:00+00:00")


def synced(status: Status, read_hours_ago: float = 1) -> Record:
    return Record(
        PACK,
        status,
        "t0",
        "t0",
        detail_synced=state_key(status),
        detail_read_at=(NOW - timedelta(hours=read_hours_ago)).isoformat(),
    )


def test_a_settled_unchanged_pack_read_recently_is_skipped() -> None:
    assert not needs_detail(SETTLED, synced(SETTLED), NOW, DAY)


def test_a_new_pack_is_read() -> None:
    assert needs_detail(SETTLED, None, NOW, DAY)


def test_a_moved_status_or_update_time_is_read() -> None:
    record = synced(SETTLED)
    assert needs_detail(
        Status("UPDATE_SUCCESSFUL", updated_at=SETTLED.updated_at), record, NOW, DAY
    )
    assert needs_detail(
        Status("CREATE_SUCCESSFUL", updated_at="2026-11-21T11:00:00+00:00"), record, NOW, DAY
    )


def test_an_unsettled_pack_is_always_read() -> None:
    for status in ("CREATE_IN_PROGRESS", "UPDATE_FAILED", "DELETE_FAILED"):
        current = Status(status, updated_at=SETTLED.updated_at)
        assert needs_detail(current, synced(current), NOW, DAY), status


def test_a_reconcile_is_due_after_the_period() -> None:
    assert not needs_detail(SETTLED, synced(SETTLED, read_hours_ago=23.9), NOW, DAY)
    assert needs_detail(SETTLED, synced(SETTLED, read_hours_ago=24), NOW, DAY)


def test_members_never_read_or_pending_are_read() -> None:
    never = Record(PACK, SETTLED, "t0", "t0")
    pending = Record(
        PACK, SETTLED, "t0", "t0", detail_synced=MEMBERS_PENDING, detail_read_at=NOW.isoformat()
    )
    assert needs_detail(SETTLED, never, NOW, DAY)
    assert needs_detail(SETTLED, pending, NOW, DAY)
