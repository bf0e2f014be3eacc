"""The delivery promise, one fault at a time: what a subscriber receives when SNS, DynamoDB or the
function itself fails at a given point of a run. At least once: a transition may come twice
(SNS accepted it but the commit did not happen), never zero times, and never one that did not
happen."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from sandbox import ConfigSimulator
from sandbox.lambda_process import HandlerProcess
from sandbox.notifier import Notifier
from tests.chaos.conftest import REGIONS, kill_after_publish

ACCOUNTS = [str(200_000_000_000 + i) for i in range(8)]
REGION = REGIONS[0]
PACK = "ops-baseline"
LOCAL = "local-guardrails"
EXTRA = "local-extra"
FAILING = ACCOUNTS[3]
# The snapshot's record chunks carry a revision; the outbox is written before publishing.
COMMIT_WRITES = '"rev"'
REGION_RECORDS = '"records#'  # the sort key of the region's record chunks, not member chunks
TAKEN_MARKS = '"taken#'  # the sort key of the marks that SNS took an outbox's messages
Change = tuple[str, str, str | None, Any]  # (kind, name, account id, new status or None)


def organization(sim: ConfigSimulator) -> None:
    sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        sim.region(region).put_org_pack(PACK)
        sim.region(region).put_account_pack(LOCAL)


def baselined(deployment: Notifier, sim: ConfigSimulator) -> None:
    organization(sim)
    assert sorted(deployment.run("baseline")["baselined"]) == sorted(REGIONS)
    deployment.received()


def changes(deployment: Notifier) -> list[Change]:
    """Every transition the subscriber got since the last call, in order."""
    return [
        (t["kind"], t["name"], t["account_id"], t["new"] and t["new"]["status"])
        for d in deployment.transitions()
        for t in d.transitions  # of every rule or pack the message tells
    ]


def told(deployment: Notifier, tick: str) -> list[Change]:
    """One run, and every transition the subscriber got from it."""
    deployment.run(tick)
    return changes(deployment)


def fail_member(sim: ConfigSimulator) -> None:
    sim.region(REGION).set_member_status(
        "pack", PACK, FAILING, "CREATE_FAILED", "NoAvailableConfigurationRecorderException", "no"
    )


def fix_member(sim: ConfigSimulator) -> None:
    sim.region(REGION).set_member_status("pack", PACK, FAILING, "CREATE_SUCCESSFUL")


def set_account_packs(sim: ConfigSimulator, state: str, reason: str | None = None) -> None:
    for name in (LOCAL, EXTRA):
        sim.region(REGION).put_account_pack(name, state=state, reason=reason)


MEMBER_FAILED: Change = ("organization-pack-member", PACK, FAILING, "CREATE_FAILED")
MEMBER_FIXED: Change = ("organization-pack-member", PACK, FAILING, "CREATE_SUCCESSFUL")


@pytest.fixture
def failing(deployment: Notifier, config_sim: ConfigSimulator) -> Notifier:
    """A baselined organization, and a member account that fails before the next run."""
    baselined(deployment, config_sim)
    fail_member(config_sim)
    return deployment


@pytest.fixture
def two_account_packs(deployment: Notifier, config_sim: ConfigSimulator) -> Notifier:
    """A baselined organization with a second account pack in the region; both fail before the
    next run (so one run publishes a PublishBatch of two)."""
    config_sim.region(REGION).put_account_pack(EXTRA)
    baselined(deployment, config_sim)
    set_account_packs(config_sim, "CREATE_FAILED", reason="no")
    return deployment


def test_a_refused_publish_is_delivered_by_the_next_run_once(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When SNS refuses every publish during one run
    fault_proxy.add_fault("sns", "Publish", "InternalError")
    summary = failing.run("refused")
    # Then nothing arrives, and the run says so
    assert changes(failing) == []
    assert summary["messages_failed"] >= 1
    # When SNS is back
    fault_proxy.clear_faults()
    # Then the failure arrives once, and not again after that
    assert told(failing, "next").count(MEMBER_FAILED) == 1
    assert told(failing, "after") == []


def test_a_status_sns_surely_refused_and_then_undone_is_never_told(
    failing, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account that fails
    # When SNS throttles every attempt to publish it (a 4xx: nothing was taken)
    fault_proxy.add_fault("sns", "Publish", "Throttled")
    assert told(failing, "throttled") == []
    # And the account is back to success by the next run, SNS answering again
    fault_proxy.clear_faults()
    fix_member(config_sim)
    # Then the subscriber, who never heard of the failure, hears of no recovery either
    assert told(failing, "fixed") == []


def test_a_status_sns_may_have_taken_and_then_undone_is_followed_by_its_recovery(
    failing, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account that fails
    # When SNS answers every publish with an error it may have published anyway (a 5xx)
    fault_proxy.add_fault("sns", "Publish", "InternalError")
    failing.run("internal-error")
    # And the account is back to success by the next run
    fault_proxy.clear_faults()
    fix_member(config_sim)
    # Then the recovery is told: a subscriber who did get the failure is not left with it
    assert told(failing, "fixed").count(MEMBER_FIXED) == 1


def test_account_packs_sns_surely_refused_and_then_undone_are_never_told(
    two_account_packs, config_sim, fault_proxy
):
    # Given a baselined organization with two account packs, which both fail
    # When SNS throttles every publish (their PublishBatch of two)
    fault_proxy.add_fault("sns", None, "Throttled")
    assert told(two_account_packs, "throttled") == []
    # And both are back to complete by the next run, SNS answering again
    fault_proxy.clear_faults()
    set_account_packs(config_sim, "CREATE_COMPLETE")
    # Then nothing is told: nobody heard of the failures
    assert told(two_account_packs, "fixed") == []
    # And a later failure of one of them is told as usual
    config_sim.region(REGION).put_account_pack(LOCAL, state="CREATE_FAILED", reason="no")
    assert told(two_account_packs, "later") == [("account-pack", LOCAL, None, "CREATE_FAILED")]


def test_account_packs_sns_took_despite_an_error_are_followed_by_their_recovery(
    two_account_packs, config_sim, fault_proxy
):
    # Given a baselined organization with two account packs, which both fail
    # When SNS publishes their batch but answers with an error (a 5xx)
    fault_proxy.add_fault("sns", "PublishBatch", "InternalError", applied=True)
    assert ("account-pack", LOCAL, None, "CREATE_FAILED") in told(two_account_packs, "taken")
    # And both are back to complete by the next run, SNS answering again
    fault_proxy.clear_faults()
    set_account_packs(config_sim, "CREATE_COMPLETE")
    # Then the subscribers who got the failures get the recoveries: not left with a failure
    recovered = told(two_account_packs, "fixed")
    assert ("account-pack", LOCAL, None, "CREATE_COMPLETE") in recovered
    assert ("account-pack", EXTRA, None, "CREATE_COMPLETE") in recovered


def test_an_answer_lost_after_sns_accepted_is_a_duplicate_in_the_same_run(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When SNS accepts the publish to the subscriber's topic but its answer is lost (botocore
    # retries it)
    topic = quote(failing.topic_arn, safe="")  # as the form-encoded request names it
    fault_proxy.add_fault("sns", "Publish", "InternalError", count=1, applied=True, contains=topic)
    # Then the subscriber gets the failure twice: at least once, never lost
    assert told(failing, "lost-answer").count(MEMBER_FAILED) == 2
    # And the next run has nothing to repeat
    assert told(failing, "next") == []


def test_a_message_sns_took_whose_commit_fails_is_committed_next_run_not_repeated(
    failing, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account that fails
    # When every commit of a snapshot chunk is refused as another writer's
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    summary = failing.run("conflict")
    # Then the failure is delivered, and the run counts the conflict
    assert changes(failing).count(MEMBER_FAILED) == 1
    assert summary["write_conflicts"] >= 1
    # And the next run, without conflict, commits it without telling it again: SNS took it
    fault_proxy.clear_faults()
    assert told(failing, "next") == []
    assert told(failing, "after") == []
    # And the snapshot holds the failure: its recovery is told, once
    fix_member(config_sim)
    assert told(failing, "fixed").count(MEMBER_FIXED) == 1


def test_a_message_whose_commit_fails_two_runs_in_a_row_is_delivered_once(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When every commit is refused as another writer's, in this run and the next
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    first = told(failing, "conflict")
    second = told(failing, "conflict-again")
    # Then the failure was delivered once, by the first run; the second told nothing
    assert first.count(MEMBER_FAILED) == 1
    assert second == []
    # And once the commits go through, nothing is told again
    fault_proxy.clear_faults()
    assert told(failing, "next") == []
    assert told(failing, "after") == []


def test_what_sns_took_stays_known_when_the_next_run_tells_something_new(
    failing, config_sim, fault_proxy
):
    # Given a member's failure delivered by a run whose commit was refused
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    assert MEMBER_FAILED in told(failing, "conflict")
    # When another member fails, and the next run's commit is refused too
    second = ACCOUNTS[4]
    config_sim.region(REGION).set_member_status(
        "pack", PACK, second, "CREATE_FAILED", "NoAvailableConfigurationRecorderException", "no"
    )
    again = told(failing, "conflict-again")
    # Then that run tells the new failure alone
    assert ("organization-pack-member", PACK, second, "CREATE_FAILED") in again
    assert MEMBER_FAILED not in again
    # And once the commits go through, neither failure is told again: the new outbox kept
    # what SNS took of the first one
    fault_proxy.clear_faults()
    assert told(failing, "next") == []


def test_a_message_sns_took_whose_region_commit_fails_is_not_repeated(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When the run delivers it and commits the pack's members, but every write of the region's
    # records is refused as another writer's
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=REGION_RECORDS
    )
    assert MEMBER_FAILED in told(failing, "region-conflict")
    # Then the next run, without conflict, tells nothing again: neither the member's failure
    # (its commit held) nor the pack's own move (SNS took it)
    fault_proxy.clear_faults()
    assert told(failing, "next") == []
    assert told(failing, "after") == []


def test_what_sns_took_stays_known_when_a_later_run_trims_its_outbox(failing, fault_proxy):
    # Given a member's failure delivered by a run whose every commit was refused
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    assert MEMBER_FAILED in told(failing, "conflict")
    # When the next run commits the members but its region's records are refused again (it
    # trims the outbox it found to the pack's own status)
    fault_proxy.clear_faults()
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=REGION_RECORDS
    )
    assert told(failing, "region-conflict") == []
    # Then the run after it, without conflict, still tells nothing again
    fault_proxy.clear_faults()
    assert told(failing, "next") == []
    assert told(failing, "after") == []


def test_a_recovery_whose_outbox_stays_after_its_commit_is_not_repeated(
    failing, config_sim, fault_proxy
):
    # Given a member account whose failure was told and committed
    assert MEMBER_FAILED in told(failing, "failed")
    # When it recovers, the run commits that (the healthy member leaves the snapshot, rule 7),
    # and the removal of the pack's outbox is refused as another writer's
    fix_member(config_sim)
    outbox = f"outbox#organization-pack#{PACK}"
    fault_proxy.add_fault(
        "dynamodb", "DeleteItem", "ConditionalCheckFailedException", contains=outbox
    )
    assert MEMBER_FIXED in told(failing, "cleanup-refused")
    # Then the next run does not tell the recovery again: the outbox that stayed was marked
    fault_proxy.clear_faults()
    assert told(failing, "next") == []
    assert told(failing, "after") == []


def test_account_packs_sns_took_whose_commit_fails_are_not_repeated(two_account_packs, fault_proxy):
    # Given a baselined organization whose two account packs fail
    # When the run delivers both, and every write of the region's records is refused
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    failed = told(two_account_packs, "conflict")
    assert {c[1] for c in failed if c[3] == "CREATE_FAILED"} == {LOCAL, EXTRA}
    # Then the next run, without conflict, commits them without telling them again
    fault_proxy.clear_faults()
    assert told(two_account_packs, "next") == []
    assert told(two_account_packs, "after") == []


@pytest.mark.parametrize("first", ["taken, commit refused", "maybe taken (5xx)"])
def test_a_recovery_sns_surely_refused_after_a_failure_it_may_have_told_is_told_next_run(
    first, two_account_packs, config_sim, fault_proxy
):
    # Given two account packs whose failure SNS took (the commit refused) or may have taken
    if first == "taken, commit refused":
        fault_proxy.add_fault(
            "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
        )
    else:
        fault_proxy.add_fault("sns", "PublishBatch", "InternalError", applied=True)
    two_account_packs.run("failed")
    assert ("account-pack", LOCAL, None, "CREATE_FAILED") in changes(two_account_packs)
    # When both are back to complete, and SNS throttles their recovery on every attempt (a
    # certain refusal), the run's commit going through
    fault_proxy.clear_faults()
    set_account_packs(config_sim, "CREATE_COMPLETE")
    fault_proxy.add_fault("sns", None, "Throttled")
    assert told(two_account_packs, "throttled") == []
    # Then the next run tells the recovery: the outbox that says they may have heard the
    # failure stayed, though the commit held
    fault_proxy.clear_faults()
    recovered = told(two_account_packs, "next")
    assert ("account-pack", LOCAL, None, "CREATE_COMPLETE") in recovered
    assert ("account-pack", EXTRA, None, "CREATE_COMPLETE") in recovered


def test_a_mark_that_cannot_be_written_leaves_a_repeat_never_a_loss(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When every commit is refused, and so is every write of the mark that SNS took it
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    fault_proxy.add_fault("dynamodb", "PutItem", "InternalServerError", contains=TAKEN_MARKS)
    assert told(failing, "conflict").count(MEMBER_FAILED) == 1
    # Then the next run, not knowing SNS took it, tells it again (at least once), then nothing
    fault_proxy.clear_faults()
    assert told(failing, "next").count(MEMBER_FAILED) == 1
    assert told(failing, "after") == []


def test_a_commit_that_meets_other_writers_is_applied_again_and_not_repeated(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When the first three commits of a snapshot chunk are refused as another writer's
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", count=3, contains=COMMIT_WRITES
    )
    summary = failing.run("conflicts")
    # Then the failure is delivered once and the run's commit holds it: no conflict is left
    assert changes(failing).count(MEMBER_FAILED) == 1
    assert summary["write_conflicts"] == 0
    # And the next run has nothing to repeat
    fault_proxy.clear_faults()
    assert told(failing, "next") == []


def test_a_recovery_whose_members_were_committed_is_not_repeated_when_the_region_commit_fails(
    failing, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account whose failure was told and committed
    assert MEMBER_FAILED in told(failing, "failed")
    # When it recovers, and the run delivers that and commits the pack's members (a healthy
    # member leaves the snapshot, docs/design.md rule 7), but every write of the region's
    # records is refused as another writer's
    fix_member(config_sim)
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=REGION_RECORDS
    )
    assert MEMBER_FIXED in told(failing, "region-conflict")
    # Then the next run, without conflict, does not tell the recovery again: the commit of the
    # members, which succeeded, holds it (only the pack's own move may be repeated)
    fault_proxy.clear_faults()
    assert MEMBER_FIXED not in told(failing, "next")
    assert told(failing, "after") == []


def test_a_snapshot_write_error_is_reported_not_raised(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When every snapshot write fails past the retries (DynamoDB InternalServerError)
    fault_proxy.add_fault("dynamodb", "PutItem", "InternalServerError")
    result = failing.invoke("write-error")
    # Then the run still ends with a summary that names the failure
    assert result.error is None, result.error
    assert result.summary is not None
    assert "InternalServerError" in str(result.summary)
    # And nothing is lost: the failure was delivered, or is delivered by the next run
    fault_proxy.clear_faults()
    assert MEMBER_FAILED in told(failing, "next")


@pytest.mark.parametrize("what", ["member account", "account pack"])
def test_a_delivered_but_uncommitted_failure_that_reverts_is_corrected(
    what, deployment, config_sim, fault_proxy
):
    # Given a baselined organization
    baselined(deployment, config_sim)
    if what == "member account":
        fail, fix, failed, fixed = fail_member, fix_member, MEMBER_FAILED, MEMBER_FIXED
    else:

        def fail(sim: ConfigSimulator) -> None:
            sim.region(REGION).put_account_pack(LOCAL, state="CREATE_FAILED", reason="stack")

        def fix(sim: ConfigSimulator) -> None:
            sim.region(REGION).put_account_pack(LOCAL, state="CREATE_COMPLETE")

        failed = ("account-pack", LOCAL, None, "CREATE_FAILED")
        fixed = ("account-pack", LOCAL, None, "CREATE_COMPLETE")
    # When it fails, and the run delivers that but cannot commit it (every commit refused)
    fail(config_sim)
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    assert failed in told(deployment, "delivered-not-committed")
    # And it is back as it was before the next run, which has no fault
    fix(config_sim)
    fault_proxy.clear_faults()
    # Then the subscriber, told it failed, is told it recovered
    assert fixed in told(deployment, "next")


def test_a_run_killed_after_publishing_is_repeated_by_the_next_run(failing, fault_proxy):
    # Given a baselined organization, and a member account that fails
    # When the function is killed right after its publish, before it could commit
    kill_after_publish(failing, fault_proxy)
    assert changes(failing).count(MEMBER_FAILED) == 1
    # Then the next run delivers it again (a duplicate, never a loss), and then nothing more
    assert told(failing, "next").count(MEMBER_FAILED) == 1
    assert told(failing, "after") == []


def test_overlapping_runs_may_both_deliver_but_leave_a_consistent_snapshot(failing, config_sim):
    # Given a baselined organization, and a member account that fails
    config_sim.set_fault(latency_ms=20)  # long enough for the two runs to overlap
    # When two runs start together
    functions = [HandlerProcess(failing.env) for _ in (1, 2)]
    for function in functions:
        function.ready()
    for i, function in enumerate(functions, start=1):
        function.go(f"overlap-{i}")
    results = [function.finish() for function in functions]
    config_sim.clear_faults()
    # Then neither fails, and the failure arrives once or twice, never zero times
    assert all(r.error is None and r.summary is not None for r in results)
    assert changes(failing).count(MEMBER_FAILED) in (1, 2)
    # And the snapshot is consistent: the next runs deliver at most the repeat, then nothing
    assert set(told(failing, "next")) <= {MEMBER_FAILED}
    assert told(failing, "after") == []


def test_an_outbox_whose_removal_fails_does_not_keep_the_next_ones(
    deployment, config_sim, fault_proxy
):
    # Given two packs whose member account's failure was told and committed
    other = "ops-extra"
    config_sim.region(REGION).put_org_pack(other)
    baselined(deployment, config_sim)
    for pack in (PACK, other):
        config_sim.region(REGION).set_member_status(
            "pack",
            pack,
            FAILING,
            "CREATE_FAILED",
            "NoAvailableConfigurationRecorderException",
            "no",
        )
    assert len(told(deployment, "failed")) == 4  # each pack's own failure and its member's
    # When both recover, and removing the first pack's outbox fails past the retries
    for pack in (PACK, other):
        config_sim.region(REGION).set_member_status("pack", pack, FAILING, "CREATE_SUCCESSFUL")
    first = f"outbox#organization-pack#{PACK}"
    fault_proxy.add_fault("dynamodb", "DeleteItem", "InternalServerError", contains=first)
    recovered = told(deployment, "cleanup-fails")
    assert ("organization-pack-member", other, FAILING, "CREATE_SUCCESSFUL") in recovered
    # Then the next run repeats at most the first pack's recovery, whose outbox stayed: the
    # other's outbox was removed all the same
    fault_proxy.clear_faults()
    again = told(deployment, "next")
    assert [c for c in again if c[1] == other] == []
    assert told(deployment, "after") == []


def test_batch_entries_sns_failed_on_its_side_are_published_again_in_the_same_run(
    two_account_packs, fault_proxy
):
    # Given a baselined organization with two account packs, which both fail
    # When SNS fails half the entries of the run's first PublishBatch on its side (the text
    # topic's: the JSON topic's batch goes through)
    fault_proxy.add_fault("sns", "PublishBatch", "InternalError", entries=0.5, count=1)
    summary = two_account_packs.run("partial")
    # Then those entries went again in the same run: every message was taken, none failed
    assert summary["messages_failed"] == 0
    assert sorted(changes(two_account_packs)) == [
        ("account-pack", EXTRA, None, "CREATE_FAILED"),
        ("account-pack", LOCAL, None, "CREATE_FAILED"),
    ]
    # And the next run repeats nothing to the subscribers whose copies went the first time
    fault_proxy.clear_faults()
    assert told(two_account_packs, "next") == []
