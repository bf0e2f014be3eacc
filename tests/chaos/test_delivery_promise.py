"""The delivery promise, one fault at a time: what a subscriber receives when SNS, DynamoDB or the
function itself fails at a given point of a run. At least once: a transition may come twice
(SNS accepted it but the commit did not happen), never zero times, and never one that did not
happen."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.harness import Deployment, RunResult, Worker, run_in_process
from sandbox import ConfigSimulator
from tests.chaos.conftest import REGIONS

ACCOUNTS = [str(200_000_000_000 + i) for i in range(8)]
REGION = REGIONS[0]
PACK = "ops-baseline"
LOCAL = "local-guardrails"
FAILING = ACCOUNTS[3]
# The snapshot's record chunks carry a revision; the outbox is written before publishing.
COMMIT_WRITES = '"rev"'
Change = tuple[str, str, str | None, Any]  # (kind, name, account id, new status or None)


def organization(sim: ConfigSimulator) -> None:
    sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        sim.region(region).put_org_pack(PACK)
        sim.region(region).put_account_pack(LOCAL)


def run(deployment: Deployment, tick: str) -> RunResult:
    result = run_in_process(deployment.env, tick)
    assert result.error is None, result.error
    return result


def baselined(deployment: Deployment, sim: ConfigSimulator) -> None:
    organization(sim)
    assert sorted(run(deployment, "baseline").summary["baselined"]) == sorted(REGIONS)  # type: ignore[index]
    deployment.received()


def changes(deployment: Deployment) -> list[Change]:
    """Every transition the subscriber got since the last call, in order."""
    return [
        (t["kind"], t["name"], t["account_id"], t["new"] and t["new"]["status"])
        for d in deployment.received()
        if d.is_transition
        for t in d.document["transitions"]
    ]


def fail_member(sim: ConfigSimulator) -> None:
    sim.region(REGION).set_member_status(
        "pack", PACK, FAILING, "CREATE_FAILED", "NoAvailableConfigurationRecorderException", "no"
    )


def fix_member(sim: ConfigSimulator) -> None:
    sim.region(REGION).set_member_status("pack", PACK, FAILING, "CREATE_SUCCESSFUL")


MEMBER_FAILED: Change = ("organization-pack-member", PACK, FAILING, "CREATE_FAILED")
MEMBER_FIXED: Change = ("organization-pack-member", PACK, FAILING, "CREATE_SUCCESSFUL")


def test_a_refused_publish_is_delivered_by_the_next_run_once(deployment, config_sim, fault_proxy):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    # When SNS refuses every publish during one run
    fault_proxy.add_fault("sns", "Publish", "InternalError")
    summary = run(deployment, "refused").summary
    # Then nothing arrives, and the run says so
    assert changes(deployment) == []
    assert summary is not None
    assert summary["messages_failed"] >= 1
    # When SNS is back
    fault_proxy.clear_faults()
    run(deployment, "next")
    # Then the failure arrives once, and not again after that
    assert changes(deployment).count(MEMBER_FAILED) == 1
    run(deployment, "after")
    assert changes(deployment) == []


def test_a_status_sns_surely_refused_and_then_undone_is_never_told(
    deployment, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    # When SNS throttles every attempt to publish it (a 4xx: nothing was taken)
    fault_proxy.add_fault("sns", "Publish", "Throttled")
    run(deployment, "throttled")
    assert changes(deployment) == []
    # And the account is back to success by the next run, SNS answering again
    fault_proxy.clear_faults()
    fix_member(config_sim)
    run(deployment, "fixed")
    # Then the subscriber, who never heard of the failure, hears of no recovery either
    assert changes(deployment) == []


def test_a_status_sns_may_have_taken_and_then_undone_is_followed_by_its_recovery(
    deployment, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    # When SNS answers every publish with an error it may have published anyway (a 5xx)
    fault_proxy.add_fault("sns", "Publish", "InternalError")
    run(deployment, "internal-error")
    # And the account is back to success by the next run
    fault_proxy.clear_faults()
    fix_member(config_sim)
    run(deployment, "fixed")
    # Then the recovery is told: a subscriber who did get the failure is not left with it
    assert changes(deployment).count(MEMBER_FIXED) == 1


def test_account_packs_sns_surely_refused_and_then_undone_are_never_told(
    deployment, config_sim, fault_proxy
):
    # Given a baselined organization with a second account pack in the region
    config_sim.region(REGION).put_account_pack("local-extra")
    baselined(deployment, config_sim)
    # When both account packs fail while SNS throttles every publish (a PublishBatch of two)
    for name in (LOCAL, "local-extra"):
        config_sim.region(REGION).put_account_pack(name, state="CREATE_FAILED", reason="no")
    fault_proxy.add_fault("sns", None, "Throttled")
    run(deployment, "throttled")
    assert changes(deployment) == []
    # And both are back to complete by the next run, SNS answering again
    fault_proxy.clear_faults()
    for name in (LOCAL, "local-extra"):
        config_sim.region(REGION).put_account_pack(name)
    run(deployment, "fixed")
    # Then nothing is told: nobody heard of the failures
    assert changes(deployment) == []
    # And a later failure of one of them is told as usual
    config_sim.region(REGION).put_account_pack(LOCAL, state="CREATE_FAILED", reason="no")
    run(deployment, "later")
    assert changes(deployment) == [("account-pack", LOCAL, None, "CREATE_FAILED")]


def test_account_packs_sns_took_despite_an_error_are_followed_by_their_recovery(
    deployment, config_sim, fault_proxy
):
    # Given a baselined organization with a second account pack in the region
    config_sim.region(REGION).put_account_pack("local-extra")
    baselined(deployment, config_sim)
    # When both fail and SNS publishes their batch but answers with an error (a 5xx)
    for name in (LOCAL, "local-extra"):
        config_sim.region(REGION).put_account_pack(name, state="CREATE_FAILED", reason="no")
    fault_proxy.add_fault("sns", "PublishBatch", "InternalError", applied=True)
    run(deployment, "taken")
    told = changes(deployment)
    assert ("account-pack", LOCAL, None, "CREATE_FAILED") in told
    # And both are back to complete by the next run, SNS answering again
    fault_proxy.clear_faults()
    for name in (LOCAL, "local-extra"):
        config_sim.region(REGION).put_account_pack(name)
    run(deployment, "fixed")
    # Then the subscribers who got the failures get the recoveries: not left with a failure
    recovered = changes(deployment)
    assert ("account-pack", LOCAL, None, "CREATE_COMPLETE") in recovered
    assert ("account-pack", "local-extra", None, "CREATE_COMPLETE") in recovered


def test_an_answer_lost_after_sns_accepted_is_a_duplicate_in_the_same_run(
    deployment, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    # When SNS accepts the publish but its answer is lost (botocore retries it)
    fault_proxy.add_fault("sns", "Publish", "InternalError", count=1, applied=True)
    run(deployment, "lost-answer")
    # Then the subscriber gets the failure twice: at least once, never lost
    assert changes(deployment).count(MEMBER_FAILED) == 2
    # And the next run has nothing to repeat
    run(deployment, "next")
    assert changes(deployment) == []


def test_a_conflicting_commit_repeats_the_transition_once(deployment, config_sim, fault_proxy):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    # When every commit of a snapshot chunk is refused as another writer's
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
    )
    summary = run(deployment, "conflict").summary
    # Then the failure is delivered, and the run counts the conflict
    assert changes(deployment).count(MEMBER_FAILED) == 1
    assert summary is not None
    assert summary["write_conflicts"] >= 1
    # And the next run, without conflict, delivers it again (a duplicate) and commits it
    fault_proxy.clear_faults()
    run(deployment, "next")
    assert changes(deployment).count(MEMBER_FAILED) == 1
    run(deployment, "after")
    assert changes(deployment) == []


def test_a_commit_that_meets_other_writers_is_applied_again_and_not_repeated(
    deployment, config_sim, fault_proxy
):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    # When the first three commits of a snapshot chunk are refused as another writer's
    fault_proxy.add_fault(
        "dynamodb", "PutItem", "ConditionalCheckFailedException", count=3, contains=COMMIT_WRITES
    )
    summary = run(deployment, "conflicts").summary
    # Then the failure is delivered once and the run's commit holds it: no conflict is left
    assert changes(deployment).count(MEMBER_FAILED) == 1
    assert summary is not None
    assert summary["write_conflicts"] == 0
    # And the next run has nothing to repeat
    fault_proxy.clear_faults()
    run(deployment, "next")
    assert changes(deployment) == []


def test_a_snapshot_write_error_is_reported_not_raised(deployment, config_sim, fault_proxy):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    # When every snapshot write fails past the retries (DynamoDB InternalServerError)
    fault_proxy.add_fault("dynamodb", "PutItem", "InternalServerError")
    result = run_in_process(deployment.env, "write-error")
    # Then the run still ends with a summary that names the failure
    assert result.error is None, result.error
    assert result.summary is not None
    assert "InternalServerError" in str(result.summary)
    # And nothing is lost: the failure was delivered, or is delivered by the next run
    fault_proxy.clear_faults()
    run(deployment, "next")
    assert MEMBER_FAILED in changes(deployment)


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
    run(deployment, "delivered-not-committed")
    assert failed in changes(deployment)
    # And it is back as it was before the next run, which has no fault
    fix(config_sim)
    fault_proxy.clear_faults()
    run(deployment, "next")
    # Then the subscriber, told it failed, is told it recovered
    assert fixed in changes(deployment)


def test_a_run_killed_after_publishing_is_repeated_by_the_next_run(
    deployment, config_sim, fault_proxy
):
    # Given a baselined organization, a member account that fails, and slow snapshot writes
    baselined(deployment, config_sim)
    fail_member(config_sim)
    fault_proxy.add_fault("dynamodb", "PutItem", latency_ms=2_000)
    published = fault_proxy.requests("sns", "Publish")
    # When the function is killed right after its publish, before it could commit
    worker = Worker(deployment.env, "killed")
    worker.ready()
    worker.go()
    while fault_proxy.requests("sns", "Publish") == published:
        assert worker.running(), worker.finish()
    worker.kill()
    assert worker.finish().killed
    fault_proxy.wait_idle()
    fault_proxy.clear_faults()
    assert changes(deployment).count(MEMBER_FAILED) == 1
    # Then the next run delivers it again (a duplicate, never a loss), and then nothing more
    run(deployment, "next")
    assert changes(deployment).count(MEMBER_FAILED) == 1
    run(deployment, "after")
    assert changes(deployment) == []


def test_overlapping_runs_may_both_deliver_but_leave_a_consistent_snapshot(deployment, config_sim):
    # Given a baselined organization, and a member account that fails
    baselined(deployment, config_sim)
    fail_member(config_sim)
    config_sim.set_fault(latency_ms=20)  # long enough for the two runs to overlap
    # When two runs start together
    workers = [Worker(deployment.env, f"overlap-{i}") for i in (1, 2)]
    for worker in workers:
        worker.ready()
    for worker in workers:
        worker.go()
    results = [worker.finish() for worker in workers]
    config_sim.clear_faults()
    # Then neither fails, and the failure arrives once or twice, never zero times
    assert all(r.error is None and r.summary is not None for r in results)
    assert changes(deployment).count(MEMBER_FAILED) in (1, 2)
    # And the snapshot is consistent: the next runs deliver at most the repeat, then nothing
    run(deployment, "next")
    assert set(changes(deployment)) <= {MEMBER_FAILED}
    run(deployment, "after")
    assert changes(deployment) == []
