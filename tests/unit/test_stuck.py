"""Stuck detection: in progress too long, reported once, again only after a move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config_notifier.commit import next_record
from config_notifier.model import EntityId, Kind, Observation, Record, Status
from config_notifier.stuck import entered_at, is_stuck, stalled_since, stuck_parent

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


# Stuck from AWS's own clock: an in-progress state counts from its LastUpdateTime when earlier.

NOW = SINCE + timedelta(hours=3)


def test_a_deployment_first_seen_in_progress_counts_from_its_own_update_time() -> None:
    # Given a pack that AWS says has been in progress since 08:00, first seen at 11:00
    running = Status("CREATE_IN_PROGRESS", updated_at=SINCE.isoformat())
    # When its record is made
    created = next_record(None, Observation(PACK, running), NOW.isoformat())
    # Then its state began when AWS last updated it, though the notifier first saw it now
    assert created.last_changed == SINCE.isoformat()
    assert created.first_seen == NOW.isoformat()
    # And the next run, five minutes on, finds it stuck (two hours and more), not two hours later
    assert is_stuck(created, running, NOW + timedelta(minutes=5), TWO_HOURS)


def test_a_status_that_moved_into_progress_between_runs_counts_from_its_update_time() -> None:
    # Given a pack recorded as deployed at 06:00 that AWS says went back in progress at 08:00
    before = Record(
        PACK, Status("CREATE_SUCCESSFUL"), "2026-11-21T06:00:00+00:00", "2026-11-21T06:00:00+00:00"
    )
    running = Status("UPDATE_IN_PROGRESS", updated_at=SINCE.isoformat())
    # When the run at 11:00 records the move
    after = next_record(before, Observation(PACK, running), NOW.isoformat())
    # Then the new state began at 08:00
    assert after.last_changed == SINCE.isoformat()


def test_aws_clock_never_moves_a_state_before_the_one_it_followed_or_after_now() -> None:
    # Given a move into progress whose update time is older than the state it left
    before = record("CREATE_SUCCESSFUL")  # began at 08:00
    stale = Status("UPDATE_IN_PROGRESS", updated_at=(SINCE - timedelta(days=2)).isoformat())
    # Then it began no earlier than 08:00
    assert next_record(before, Observation(PACK, stale), NOW.isoformat()).last_changed == (
        SINCE.isoformat()
    )
    # And an update time ahead of the run's clock, a missing one, or a settled status: it begins now
    ahead = Status("CREATE_IN_PROGRESS", updated_at=(NOW + timedelta(minutes=3)).isoformat())
    assert entered_at(ahead, NOW.isoformat()) == NOW.isoformat()
    assert entered_at(Status("CREATE_IN_PROGRESS"), NOW.isoformat()) == NOW.isoformat()
    failed = Status("CREATE_FAILED", updated_at=SINCE.isoformat())
    assert entered_at(failed, NOW.isoformat()) == NOW.isoformat()


def test_an_update_time_in_another_offset_is_kept_in_utc_to_the_second() -> None:
    # Given an update time with an offset and a fraction of a second
    running = Status("CREATE_IN_PROGRESS", updated_at="2026-11-21T22:00:00.250000+14:00")
    # Then the state began at that instant, in UTC, whole seconds
    assert entered_at(running, NOW.isoformat()) == SINCE.isoformat()


def test_a_status_seen_first_is_stalled_once_in_progress_for_the_threshold_by_aws_clock() -> None:
    running = Status("CREATE_IN_PROGRESS", updated_at=SINCE.isoformat())
    assert stalled_since(running, SINCE + TWO_HOURS, TWO_HOURS) == SINCE.isoformat()
    assert stalled_since(running, SINCE + TWO_HOURS - timedelta(seconds=1), TWO_HOURS) is None
    assert stalled_since(running, NOW, timedelta(0)) is None  # stuck detection off
    assert (
        stalled_since(Status("CREATE_FAILED", updated_at=SINCE.isoformat()), NOW, TWO_HOURS) is None
    )
