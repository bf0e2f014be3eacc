"""The chaos run's scoring: lost, false, duplicate and stale, against a scripted truth."""

from __future__ import annotations

import pytest

from chaos.score import Delivered, TickInfo, deliveries, score
from chaos.world import Key, State, Truth

PACK: Key = ("us-east-1", "organization-pack", "ops", "")
MEMBER: Key = ("us-east-1", "organization-pack-member", "ops", "200000000001")
OTHER: Key = ("us-east-1", "organization-pack-member", "ops", "200000000002")
OK: State = ("CREATE_SUCCESSFUL", None)
RUNNING: State = ("UPDATE_IN_PROGRESS", None)
FAILED: State = ("UPDATE_FAILED", "NoAvailableConfigurationRecorderException")
FIXED: State = ("UPDATE_SUCCESSFUL", None)
CLEAN = TickInfo()
FAULTY = TickInfo(faults=("sns-publish-error",), clean=False)
REPEATS = TickInfo(faults=("kill",), clean=False, repeaters=("kill",))


def member(*states: State | None) -> list[Truth]:
    """The truth at each tick for MEMBER alone (None: it does not exist)."""
    return [{MEMBER: s} if s is not None else {} for s in states]


def moved(tick: int, old: State | None, new: State | None, message: int = 0) -> Delivered:
    return Delivered(tick, message, MEMBER, old, new)


def test_every_transition_delivered_at_its_tick_is_a_perfect_score():
    # Given a member that moves twice, each move delivered at the tick it happened
    truth = member(OK, RUNNING, RUNNING, FIXED)
    got = [moved(1, OK, RUNNING, 0), moved(3, RUNNING, FIXED, 1)]
    # When scored
    result = score(truth, got, [CLEAN] * 4)
    # Then both true transitions were reached, and nothing is lost, false, repeated or stale
    assert (result.true_transitions, result.reached, result.messages) == (2, 2, 2)
    assert result.lost == result.false == result.duplicates == result.stale == result.final == []


def test_a_transition_held_at_a_fault_free_tick_and_never_delivered_is_lost():
    # Given a member that fails at a fault-free tick, and nothing delivered
    truth = member(OK, FAILED, FAILED)
    # When scored
    result = score(truth, [], [CLEAN] * 3)
    # Then the failure is lost, the subscriber is stale at both ticks and at the end
    assert [(f.tick, f.key) for f in result.lost] == [(1, MEMBER)]
    assert [f.tick for f in result.stale] == [1, 2]
    assert len(result.final) == 1


def test_a_state_hidden_by_faults_may_be_collapsed():
    # Given a member that is RUNNING only while SNS fails, then FIXED at a fault-free tick
    truth = member(OK, RUNNING, FIXED)
    # When the subscriber gets OK -> FIXED directly
    result = score(truth, [moved(2, OK, FIXED)], [CLEAN, FAULTY, CLEAN])
    # Then the skipped state is collapsed (allowed), not lost, and nothing is false
    assert (result.collapsed, result.reached) == (1, 1)
    assert result.lost == result.false == result.stale == []


def test_a_transition_delayed_by_a_fault_arrives_at_the_next_tick():
    # Given a failure that happens while SNS fails, delivered at the next (fault-free) tick
    truth = member(OK, FAILED, FAILED)
    result = score(truth, [moved(2, OK, FAILED)], [CLEAN, FAULTY, CLEAN])
    # Then it was reached, late, and the subscriber is not stale at any fault-free tick
    assert (result.reached, result.delayed) == (1, 1)
    assert result.lost == result.stale == []


def test_a_disappearance_of_something_that_still_exists_is_false():
    # Given a failing member that never goes away, and a delivered "disappeared" (it only went
    # unread)
    truth = member(FAILED, FAILED)
    result = score(truth, [moved(1, FAILED, None)], [CLEAN, CLEAN])
    # Then the delivery is false, and the subscriber is stale afterwards
    assert [f.detail for f in result.false] == [
        "delivered (absent), was UPDATE_FAILED/NoAvailableConfigurationRecorderException"
    ]
    assert len(result.stale) == 1


def test_a_healthy_member_said_to_disappear_is_false_though_nobody_must_hear_of_it():
    # Given a healthy member that stays, and a delivered "disappeared"
    result = score(member(OK, OK), [moved(1, OK, None)], [CLEAN, CLEAN])
    # Then the delivery is false, judged against the whole truth; yet healthy and absent are
    # alike to a subscriber, so it is not stale
    assert [f.detail for f in result.false] == ["delivered (absent), was CREATE_SUCCESSFUL"]
    assert result.stale == result.final == []


def test_a_healthy_member_that_joins_changes_or_leaves_is_quiet_not_lost():
    # Given a member that joins healthy, is re-deployed successfully, then leaves, and nothing
    # delivered about it
    truth = member(None, OK, FIXED, None)
    result = score(truth, [], [CLEAN] * 4)
    # Then nothing is lost or stale: a subscriber is never told of a healthy member (rule 7)
    assert (result.true_transitions, result.quiet) == (0, 3)
    assert result.lost == result.stale == result.final == []


def test_a_recovery_told_with_another_successful_status_is_false():
    # Given a member that recovers as CREATE_SUCCESSFUL, told as UPDATE_SUCCESSFUL
    result = score(member(FAILED, OK), [moved(1, FAILED, FIXED)], [CLEAN, CLEAN])
    # Then the delivery is false, though it took the subscriber where it had to be
    assert len(result.false) == 1
    assert (result.true_transitions, result.reached) == (1, 1)
    assert result.lost == result.stale == []


def test_a_status_no_filter_asks_for_is_owed_only_for_a_member_known_unhealthy():
    # Given two members moving into a status none of the nine documented ones: one the subscriber
    # was told was failing, one it knows only as healthy
    odd: State = ("ROLLBACK_PAUSED", None)
    truth = [{MEMBER: OK, OTHER: OK}, {MEMBER: FAILED, OTHER: OK}, {MEMBER: odd, OTHER: odd}]
    # When only the failure is delivered
    result = score(truth, [moved(1, OK, FAILED)], [CLEAN] * 3)
    # Then the known member's new status is lost and it is stale; the other's is quiet
    assert [(f.tick, f.key) for f in result.lost] == [(2, MEMBER)]
    assert [f.key for f in result.stale] == [MEMBER]
    assert result.quiet == 1


def test_a_status_no_filter_asks_for_after_a_failure_hidden_by_faults_is_quiet():
    # Given a member failing only while faults hide it, then in an undocumented status
    odd: State = ("UPDATE_QUEUED", None)
    result = score(member(OK, FAILED, odd), [], [CLEAN, FAULTY, CLEAN])
    # Then the failure is collapsed and the new status quiet: the notifier never knew of it
    assert (result.collapsed, result.quiet) == (1, 1)
    assert result.lost == result.stale == result.final == []


def test_a_status_the_entity_never_had_is_false():
    # Given a member that stays OK, and a delivered failure
    result = score(member(OK, OK), [moved(1, OK, FAILED)], [CLEAN, CLEAN])
    # Then that is false
    assert len(result.false) == 1


def test_a_repeat_after_a_kill_is_an_explained_duplicate():
    # Given a failure delivered at tick 1, the function killed at tick 2, the failure sent again
    truth = member(OK, FAILED, FAILED, FAILED)
    got = [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1)]
    result = score(truth, got, [CLEAN, CLEAN, REPEATS, CLEAN])
    # Then the repeat is a duplicate explained by the kill, in one of two messages
    assert len(result.duplicates) == 1
    assert result.duplicates[0].causes == ("kill",)
    assert result.unexplained_duplicates == []
    assert (result.duplicate_messages, result.messages, result.duplicate_share) == (1, 2, 0.5)


def test_a_repeat_without_a_fault_in_between_is_unexplained():
    # Given the same failure delivered twice with no fault anywhere
    truth = member(OK, FAILED, FAILED)
    got = [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1)]
    result = score(truth, got, [CLEAN] * 3)
    # Then it is an unexplained duplicate
    assert len(result.unexplained_duplicates) == 1
    assert "no fault between" in result.unexplained_duplicates[0].detail


def test_a_silent_baseline_that_publishes_transitions_repeats_them():
    # Given a transition delivered by the baseline run itself
    result = score(member(OK), [moved(0, None, OK)], [CLEAN])
    # Then it repeats what the baseline already stands for
    assert len(result.unexplained_duplicates) == 1


def test_a_removed_pack_takes_its_member_accounts_with_it():
    # Given a failing pack with a failing and a healthy member account, removed at tick 1
    truth: list[Truth] = [{PACK: FAILED, MEMBER: FAILED, OTHER: OK}, {}]
    # When only the pack's removal is delivered
    result = score(truth, [Delivered(1, 0, PACK, FAILED, None)], [CLEAN, CLEAN])
    # Then its members are gone for the subscriber too: nothing lost or stale (the healthy one's
    # going is quiet)
    assert (result.true_transitions, result.reached, result.quiet) == (2, 2, 1)
    assert result.lost == result.stale == result.final == []


def test_a_revert_after_an_uncommitted_delivery_is_lost():
    # Given a failure delivered at tick 1 and fixed back to the old state at tick 2, unreported
    truth = member(OK, FAILED, OK)
    result = score(truth, [moved(1, OK, FAILED)], [CLEAN, REPEATS, CLEAN])
    # Then the recovery is lost: the subscriber still believes it failed
    assert [(f.tick, f.causes) for f in result.lost] == [(2, ("kill",))]
    assert result.lost[0].detail == (
        "UPDATE_FAILED/NoAvailableConfigurationRecorderException -> CREATE_SUCCESSFUL "
        "(held until tick 2) never delivered (after a delivery at tick 1, with kill)"
    )
    assert len(result.final) == 1


def test_a_document_becomes_one_delivery_per_transition():
    # Given an SQS document with an organization-level transition and one member account
    status = {
        "status": "CREATE_FAILED",
        "error_code": "E",
        "error_message": "m",
        "updated_at": None,
    }
    document = {
        "region": "eu-west-1",
        "transitions": [
            {"kind": "organization-pack", "name": "ops", "account_id": None, "old": None,
             "new": status},
            {"kind": "organization-pack-member", "name": "ops", "account_id": "200000000001",
             "old": {**status, "status": "CREATE_SUCCESSFUL", "error_code": None}, "new": None},
        ],
    }  # fmt: skip
    # When it is read
    got = deliveries(7, 3, document)
    # Then each transition is keyed by region, kind, name and account
    assert got == [
        Delivered(
            7, 3, ("eu-west-1", "organization-pack", "ops", ""), None, ("CREATE_FAILED", "E")
        ),
        Delivered(
            7,
            3,
            ("eu-west-1", "organization-pack-member", "ops", "200000000001"),
            ("CREATE_SUCCESSFUL", None),
            None,
        ),
    ]


def test_truth_and_tick_information_must_line_up():
    with pytest.raises(ValueError, match="one truth and one TickInfo"):
        score(member(OK, OK), [], [CLEAN])
