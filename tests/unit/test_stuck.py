"""Stuck detection: in progress too long, reported once, again only after a move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config_notifier.model import EntityId, Kind, Observation, Record, Status
from config_notifier.stuck import is_stuck, stuck_parent

PACK = EntityId("us-east-1", Kind.ORG_PACK, "ops-baseline")
SINCE = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
TWO_HOURS = timedelta(hours=2)


def record(status: str, *, reported: str | None = None) -> Record:
    stamp = SINCE.isoformat()
    return Record(PACK, Status(status), stamp, stamp, stuck_reported=reported)


def test_in_progress_for_the_threshold_is_stuck() -> None:
    assert is_stuck(
        record("CREATE_IN_PROGRESS"), Status("CREATE_IN_PROGRESS"), SINCE + TWO_HOURS, TWO_HOURS
    )


def test_a_minute_short_of_the_threshold_is_not() -> None:
    now = SINCE + TWO_HOURS - timedelta(minutes=1)
    assert not is_stuck(record("CREATE_IN_PROGRESS"), Status("CREATE_IN_PROGRESS"), now, TWO_HOURS)


def test_a_reported_stall_is_not_reported_again() -> None:
    stall = record("CREATE_IN_PROGRESS", reported="2026-11-21T10:00:00+00:00")
    assert not is_stuck(stall, Status("CREATE_IN_PROGRESS"), SINCE + 3 * TWO_HOURS, TWO_HOURS)


def test_settled_moving_or_switched_off_is_not_stuck() -> None:
    later = SINCE + 3 * TWO_HOURS
    assert not is_stuck(record("CREATE_SUCCESSFUL"), Status("CREATE_SUCCESSFUL"), later, TWO_HOURS)
    assert not is_stuck(
        record("CREATE_IN_PROGRESS"), Status("UPDATE_IN_PROGRESS"), later, TWO_HOURS
    )
    assert not is_stuck(
        record("CREATE_IN_PROGRESS"), Status("CREATE_IN_PROGRESS"), later, timedelta(0)
    )
    assert not is_stuck(None, Status("CREATE_IN_PROGRESS"), later, TWO_HOURS)


def test_a_parent_whose_members_all_finished_says_so_with_their_counts() -> None:
    members = [Status("CREATE_SUCCESSFUL")] * 3 + [Status("CREATE_FAILED")]
    stuck = stuck_parent(
        record("CREATE_IN_PROGRESS"), Observation(PACK, Status("CREATE_IN_PROGRESS")), members
    )
    assert stuck.members_finished
    assert stuck.member_statuses == (("CREATE_FAILED", 1), ("CREATE_SUCCESSFUL", 3))
    assert stuck.since == SINCE.isoformat()


def test_a_parent_with_a_member_still_running_or_unread_has_not_finished() -> None:
    current = Observation(PACK, Status("CREATE_IN_PROGRESS"))
    running = [Status("CREATE_SUCCESSFUL"), Status("CREATE_IN_PROGRESS")]
    assert not stuck_parent(record("CREATE_IN_PROGRESS"), current, running).members_finished
    assert not stuck_parent(record("CREATE_IN_PROGRESS"), current, None).members_finished
