"""What an earlier run's message already told, once SNS is known to have taken it: committed by
the next run, not told again (docs/design.md, "An outbox SNS took")."""

from __future__ import annotations

from config_notifier.changes import already_told, covered_by, told_by
from config_notifier.diff import transition
from config_notifier.model import EntityId, Kind, Status
from config_notifier.stored import Outbox

FAILED = Status("CREATE_FAILED", "NoAvailableConfigurationRecorderException")
OK = Status("CREATE_SUCCESSFUL")
A = EntityId("us-east-1", Kind.ORG_PACK_MEMBER, "ops", "111111111111")
B = EntityId("us-east-1", Kind.ORG_PACK_MEMBER, "ops", "222222222222")
LOCAL = EntityId("us-east-1", Kind.ACCOUNT_PACK, "local")


def outbox(
    told: dict[EntityId, Status | None],
    covered: set[EntityId],
    *,
    taken: bool,
    generation: str = "2026-11-30T05:00:00+00:00~a",
) -> Outbox:
    return Outbox(told, generation, ("outbox#x",), frozenset(covered), taken)


def test_a_status_sns_took_and_unchanged_since_is_not_told_again() -> None:
    # Given an outbox whose message told A failed and B failed, SNS having taken it (A covered)
    loaded = outbox({A: FAILED, B: FAILED}, {A}, taken=True)
    # When the next run finds both still failed, uncommitted (the diff repeats them)
    repeats = [transition(A, None, FAILED), transition(B, None, FAILED)]
    tell, done = already_told(repeats, loaded)
    # Then A is committed without a message; B, not covered, is told again
    assert done == [repeats[0]]
    assert tell == [repeats[1]]


def test_a_status_that_moved_since_it_was_told_is_told() -> None:
    # Given an outbox whose message, which SNS took, told A failed
    loaded = outbox({A: FAILED}, {A}, taken=True)
    # When A has recovered since
    moved = [transition(A, FAILED, OK)]
    # Then its recovery is told
    assert already_told(moved, loaded) == (moved, [])


def test_nothing_counts_as_told_until_the_outbox_is_marked_taken() -> None:
    # Given an outbox that covers A, but no mark that SNS took its message
    loaded = outbox({A: FAILED}, {A}, taken=False)
    repeat = [transition(A, None, FAILED)]
    # Then A is told again: the message may never have gone out
    assert already_told(repeat, loaded) == (repeat, [])


def test_a_new_outbox_covers_what_it_tells_and_what_subscribers_surely_have() -> None:
    # Given A already told (SNS took it) and B unresolved this run, which the earlier outbox did
    # not cover, and a new transition of LOCAL
    delivered = frozenset({A})
    unresolved = {B: FAILED}
    # When the new outbox is made
    covered = covered_by(
        delivered, unresolved, [transition(A, None, FAILED)], [transition(LOCAL, None, FAILED)]
    )
    # Then it covers A and LOCAL, not B
    assert covered == frozenset({A, LOCAL})


def test_the_newest_outbox_says_what_subscribers_heard_last() -> None:
    # Given a gone rule's outbox that told R failed (SNS took it), left when its commit failed
    rule = EntityId("us-east-1", Kind.ORG_RULE, "r")
    gone = {"organization-rule#r": outbox({rule: FAILED}, {rule}, taken=True)}
    # And the singles outbox of a later run that told R removed (SNS took it), commit failed too
    later = "2026-11-30T06:00:00+00:00~b"
    singles = outbox({rule: None}, {rule}, taken=True, generation=later)
    # When what they told is merged
    told, delivered = told_by(gone, singles)
    # Then R counts as told removed, which subscribers surely have: its removal is not repeated
    assert told == {rule: None}
    assert delivered == frozenset({rule})


def test_an_entry_is_as_delivered_as_the_outbox_whose_status_counts() -> None:
    # Given the singles outbox told R failed (SNS took it), and a newer outbox of R, unmarked,
    # that told it succeeded
    rule = EntityId("us-east-1", Kind.ORG_RULE, "r")
    singles = outbox({rule: FAILED}, {rule}, taken=True)
    newer = "2026-11-30T06:00:00+00:00~b"
    gone = {"organization-rule#r": outbox({rule: OK}, {rule}, taken=False, generation=newer)}
    # When what they told is merged
    told, delivered = told_by(gone, singles)
    # Then R counts as told OK, which nothing says subscribers surely have
    assert told == {rule: OK}
    assert delivered == frozenset()
