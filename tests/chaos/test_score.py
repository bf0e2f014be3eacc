"""The chaos run's scoring: lost, false, duplicate and stale, against a scripted truth, and the
targets that make `make chaos` fail."""

from __future__ import annotations

from collections import Counter

import pytest

from chaos.runner import Report
from chaos.score import Delivered, Score, TickInfo, Unconfirmed, deliveries, score
from chaos.timeline import FAULT_KINDS, Timeline
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


def unconfirmed(cause: str, *keys: Key) -> TickInfo:
    """A tick where `cause` left the delivery of `keys` unconfirmed."""
    return TickInfo(
        faults=(cause,), clean=False, unconfirmed=(Unconfirmed(cause, frozenset(keys)),)
    )


KILLED = unconfirmed("kill", MEMBER)


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


def test_a_repeat_after_a_kill_that_left_its_delivery_unconfirmed_is_explained():
    # Given a failure delivered at tick 1 by a run killed before it could confirm it
    truth = member(OK, FAILED, FAILED, FAILED)
    # When the next run tells the failure again
    got = [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1)]
    result = score(truth, got, [CLEAN, KILLED, CLEAN, CLEAN])
    # Then the repeat is a duplicate explained by the kill, its second delivery
    assert [(f.tick, f.causes) for f in result.duplicates] == [(2, ("kill",))]
    assert result.unexplained_duplicates == result.over_delivered == []
    assert (result.explained_duplicates, result.most_deliveries) == (1, 2)
    # And one of two messages repeats a transition
    assert (result.duplicate_messages, result.messages, result.duplicate_share) == (1, 2, 0.5)
    assert result.duplicate_message_causes == Counter({"kill": 1})


@pytest.mark.parametrize(
    "cause", ["sns-publish-lost-answer", "sns-publish-error", "dynamodb-conflict", "overlap"]
)
def test_a_repeat_after_any_fault_that_left_its_delivery_unconfirmed_is_explained(cause):
    # Given a failure delivered at tick 1, where `cause` left that delivery unconfirmed
    truth = member(OK, FAILED, FAILED)
    # When it is told again at the same tick
    got = [moved(1, OK, FAILED, 0), moved(1, OK, FAILED, 1)]
    result = score(truth, got, [CLEAN, unconfirmed(cause, MEMBER), CLEAN])
    # Then the repeat is explained by that fault
    assert [f.causes for f in result.duplicates] == [(cause,)]
    assert result.unexplained_duplicates == []


def test_a_recovery_told_after_an_uncertain_publish_of_the_failure_is_explained():
    # Given a member that fails at tick 1 and is back at tick 2, and an SNS 5xx at tick 1 on the
    # message that told the failure (the subscriber never got it; SNS may have)
    truth = member(OK, FAILED, OK)
    ticks = [CLEAN, unconfirmed("sns-publish-error", MEMBER), CLEAN]
    # When the next run tells the recovery, which the subscriber's state already is
    result = score(truth, [moved(2, FAILED, OK)], ticks)
    # Then that duplicate is explained by the publish SNS may have taken
    assert [(f.tick, f.causes) for f in result.duplicates] == [(2, ("sns-publish-error",))]
    assert result.unexplained_duplicates == []


def test_a_repeat_without_any_fault_is_unexplained():
    # Given the same failure delivered twice with no fault anywhere
    truth = member(OK, FAILED, FAILED)
    got = [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1)]
    result = score(truth, got, [CLEAN] * 3)
    # Then it is an unexplained duplicate
    assert len(result.unexplained_duplicates) == 1
    assert "no fault left a delivery of it unconfirmed" in result.unexplained_duplicates[0].detail
    assert result.duplicate_message_causes == Counter({"no fault": 1})


def test_a_fault_on_another_entitys_delivery_explains_no_repeat():
    # Given a failure delivered at tick 1, and a kill at tick 1 that left only another member
    # account's delivery unconfirmed
    truth = member(OK, FAILED, FAILED)
    got = [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1)]
    ticks = [CLEAN, unconfirmed("kill", OTHER), CLEAN]
    # When scored
    result = score(truth, got, ticks)
    # Then the repeat is unexplained: a fault somewhere in the run is not a cause
    assert [f.tick for f in result.unexplained_duplicates] == [2]
    assert result.duplicates[0].causes == ()


def test_a_fault_before_the_delivery_it_repeats_explains_nothing():
    # Given a conflict at tick 1 on the member's commit, a repeat at tick 2 (explained by it)
    truth = member(OK, FAILED, FAILED, FAILED, FAILED)
    ticks = [CLEAN, unconfirmed("dynamodb-conflict", MEMBER), CLEAN, CLEAN, CLEAN]
    got = [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1), moved(4, OK, FAILED, 2)]
    # When it is told once more at tick 4, with no fault since the repeat at tick 2
    result = score(truth, got, ticks)
    # Then the first repeat is explained and the second is not
    assert [(f.tick, f.causes) for f in result.duplicates] == [
        (2, ("dynamodb-conflict",)),
        (4, ()),
    ]
    assert [f.tick for f in result.unexplained_duplicates] == [4]


def test_a_transition_delivered_three_times_is_over_delivered_even_with_a_fault_each_time():
    # Given a failure delivered at tick 1, and a kill at ticks 1 and 2 each time it is told
    truth = member(OK, FAILED, FAILED, FAILED)
    ticks = [CLEAN, KILLED, KILLED, CLEAN]
    got = [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1), moved(3, OK, FAILED, 2)]
    # When scored
    result = score(truth, got, ticks)
    # Then both repeats are explained, and the third delivery is one too many
    assert result.unexplained_duplicates == []
    assert result.most_deliveries == 3
    assert [f.tick for f in result.over_delivered] == [3]
    assert result.over_delivered[0].detail == (
        "UPDATE_FAILED/NoAvailableConfigurationRecorderException delivered 3 times since it "
        "began at tick 1"
    )


def test_a_state_told_again_after_it_came_back_unseen_is_another_transition():
    # Given a member that twice goes in progress unseen (SNS may have taken the message) and
    # comes back, each comeback told although the subscriber never left the first state
    truth = member(OK, RUNNING, OK, OK, RUNNING, OK)
    lost = unconfirmed("sns-publish-error", MEMBER)
    ticks = [CLEAN, lost, CLEAN, CLEAN, lost, CLEAN]
    got = [moved(2, RUNNING, OK, 0), moved(5, RUNNING, OK, 1)]
    # When scored
    result = score(truth, got, ticks)
    # Then both are explained duplicates, each the one delivery of its own transition
    assert [(f.tick, f.causes) for f in result.duplicates] == [
        (2, ("sns-publish-error",)),
        (5, ("sns-publish-error",)),
    ]
    assert result.unexplained_duplicates == result.over_delivered == []
    assert result.most_deliveries == 1


def test_a_state_told_again_after_the_subscriber_moved_counts_afresh():
    # Given a member that fails, recovers and fails again, each told once and repeated once
    truth = member(OK, FAILED, OK, FAILED)
    ticks = [CLEAN, KILLED, KILLED, KILLED]
    got = [
        moved(1, OK, FAILED, 0),
        moved(1, OK, FAILED, 1),
        moved(2, FAILED, OK, 2),
        moved(3, OK, FAILED, 3),
        moved(3, OK, FAILED, 4),
    ]
    # When scored
    result = score(truth, got, ticks)
    # Then no transition was delivered more than twice
    assert result.most_deliveries == 2
    assert result.over_delivered == []


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
    result = score(truth, [moved(1, OK, FAILED)], [CLEAN, KILLED, CLEAN])
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


def report(result: Score) -> Report:
    """A chaos run's report with this score, every fault kind fired and nothing else wrong."""
    return Report(
        Timeline(7, ("us-east-1",), ()), result, [], fired=Counter(dict.fromkeys(FAULT_KINDS, 1))
    )


def missed(result: Score) -> list[str]:
    return [t.name for t in report(result).targets() if not t.ok]


def test_explained_duplicates_meet_the_targets_whatever_their_share():
    # Given a run where every other message repeats a transition, each after a kill
    truth = member(OK, FAILED, FAILED)
    result = score(
        truth, [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1)], [CLEAN, KILLED, CLEAN]
    )
    assert result.duplicate_share == 0.5
    # When the targets are checked
    # Then none is missed: the share is information, printed, not a target
    assert missed(result) == []
    assert report(result).ok()
    assert "1 of 2 messages repeat a transition (50.00%)" in report(result).render()


@pytest.mark.parametrize(
    ("ticks", "got", "target"),
    [
        # a failure held at a fault-free tick, never delivered
        ([CLEAN] * 3, [], "transitions lost"),
        # a status the member never had
        (
            [CLEAN] * 3,
            [moved(1, OK, RUNNING, 0), moved(2, RUNNING, FAILED, 1)],
            "false transitions",
        ),
        # told twice with no fault in between
        (
            [CLEAN] * 3,
            [moved(1, OK, FAILED, 0), moved(2, OK, FAILED, 1)],
            "duplicates without such a fault",
        ),
        # told three times, a kill each time
        (
            [CLEAN, KILLED, KILLED],
            [moved(1, OK, FAILED, 0), moved(1, OK, FAILED, 1), moved(2, OK, FAILED, 2)],
            "most deliveries of a transition",
        ),
    ],
)
def test_each_broken_promise_misses_its_target_and_fails_the_run(ticks, got, target):
    # Given a member that fails at tick 1, and what the subscriber got
    truth = member(OK, FAILED, FAILED)
    # When scored and checked against the targets
    result = score(truth, got, ticks)
    # Then that target is missed (with those a false status also leaves stale), and the run fails
    assert target in missed(result)
    assert not report(result).ok()
