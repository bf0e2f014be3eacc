"""The real handler against the sandbox, over several runs of a scripted organization.

What a subscriber's queue receives is the product: these tests read only that, the run's summary
and the simulator's counters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from config_notifier.settings import SettingsError

REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = [str(200_000_000_000 + i) for i in range(40)]
FAILING = sorted([ACCOUNTS[5], ACCOUNTS[17], ACCOUNTS[33]])
PACK = "ops-baseline"


def organization(sim: Any) -> None:
    """40 accounts, one organization pack and rule and one account pack in each region."""
    sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        r = sim.region(region)
        r.put_org_pack(PACK, status="CREATE_SUCCESSFUL")
        r.put_org_rule("s3-bucket-encryption", status="CREATE_SUCCESSFUL")
        r.put_account_pack("local-guardrails", state="CREATE_COMPLETE")


def fail_pack(sim: Any, regions: tuple[str, ...] = REGIONS) -> None:
    for region in regions:
        for i, account in enumerate(FAILING):
            sim.region(region).set_member_status(
                "pack",
                PACK,
                account,
                "CREATE_FAILED",
                error_code=f"ConformancePackCreationFailed{i}",
                error_message=f"Stack for account {account} failed: AccessDenied on s3:PutBucketPolicy",
            )


def fix_pack(sim: Any) -> None:
    for region in REGIONS:
        for account in FAILING:
            sim.region(region).set_member_status("pack", PACK, account, "CREATE_SUCCESSFUL")


def baselined(notifier: Any, sim: Any) -> None:
    organization(sim)
    summary = notifier.run()
    assert sorted(summary["baselined"]) == sorted(REGIONS)
    notifier.received()


def by_region(deliveries: list[Any]) -> dict[str, Any]:
    assert len({d.attributes["region"] for d in deliveries}) == len(deliveries)
    return {d.attributes["region"]: d for d in deliveries}


def test_first_run_is_a_quiet_baseline_with_one_summary_per_region(notifier, config_sim) -> None:
    # Given an organization with a pack already failing in 3 accounts
    organization(config_sim)
    fail_pack(config_sim)
    # When the notifier runs for the first time
    summary = notifier.run()
    # Then each region gets exactly one summary, which names what is failing already
    deliveries = notifier.received()
    assert sorted(d.attributes["event_type"] for d in deliveries) == ["baseline-summary"] * 2
    summaries = by_region(deliveries)
    for region in REGIONS:
        doc = summaries[region].document
        assert doc["watched"] == {
            "organization-rule": 1,
            "organization-pack": 1,
            "account-pack": 1,
        }
        assert [(f["name"], f["failing_members"]) for f in doc["failing"]] == [(PACK, 3)]
    assert summary["failed_sources"] == []
    # And the next run, with nothing changed, publishes nothing
    assert notifier.run()["messages_published"] == 0
    assert notifier.received() == []


def test_a_pack_failing_in_3_of_40_accounts_then_recovering(notifier, config_sim) -> None:
    # Given a baselined organization of 40 accounts in two regions
    baselined(notifier, config_sim)
    # When a pack fails in 3 of the 40 accounts in both regions
    fail_pack(config_sim)
    notifier.run()
    # Then one message tells it for both regions, naming those 3 accounts and their error codes
    [delivery] = notifier.transitions()
    assert delivery.attributes["severity"] == "failure"
    assert delivery.attributes["status"] == "CREATE_FAILED"
    assert "region" not in delivery.attributes  # it is about two
    assert "3 accounts failing" in delivery.subject
    assert delivery.subject.endswith("in 2 regions: 3 accounts failing")
    assert delivery.accounts == FAILING
    for group in delivery.groups:
        assert group["name"] == PACK
        codes = [t["new"]["error_code"] for t in group["transitions"] if t["account_id"]]
        assert codes == [f"ConformancePackCreationFailed{i}" for i in range(3)], group["region"]
        # And nothing about the 37 others (the organization-level transition is the only other)
        assert len(group["transitions"]) == 4
    assert sorted(g["region"] for g in delivery.groups) == sorted(REGIONS)

    # When the next run sees no change
    summary = notifier.run()
    # Then it publishes nothing
    assert summary["messages_published"] == 0
    assert notifier.received() == []

    # When the 3 accounts are fixed
    fix_pack(config_sim)
    notifier.run()
    # Then one recovery is reported for both regions
    [recovery] = notifier.transitions()
    assert recovery.attributes["severity"] == "recovery"
    assert recovery.accounts == FAILING
    assert recovery.subject.startswith("[RECOVERED]")


def test_baseline_mode_failures_reports_what_already_fails(notifier, config_sim) -> None:
    # Given a pack failing in 3 accounts before the notifier ever ran
    organization(config_sim)
    fail_pack(config_sim, regions=("us-east-1",))
    # When the first run is told to report current failures
    notifier.run(BASELINE_MODE="failures")
    # Then besides the two summaries, the failing pack is reported once, with its 3 accounts
    deliveries = notifier.received()
    transitions = [d for d in deliveries if d.attributes["event_type"] == "transition"]
    assert len(deliveries) == 3
    [failure] = transitions
    assert (failure.attributes["region"], failure.accounts) == ("us-east-1", FAILING)


def test_a_region_throttled_past_retries_is_unknown_not_deleted(notifier, config_sim) -> None:
    # Given a baselined organization
    baselined(notifier, config_sim)
    # When eu-west-1 throttles every call while the pack fails in both regions
    config_sim.set_fault(region="eu-west-1", throttle_rate=1.0)
    fail_pack(config_sim)
    summary = notifier.run()
    # Then us-east-1's failure is reported, and eu-west-1 is reported as unread, not as deleted
    deliveries = notifier.transitions()
    assert [d.attributes["region"] for d in deliveries] == ["us-east-1"]
    assert all(t["change"] != "disappeared" for d in deliveries for t in d.document["transitions"])
    failed = {(f["region"], f["source"]) for f in summary["failed_sources"]}
    assert failed == {
        ("eu-west-1", "organization-rule"),
        ("eu-west-1", "organization-pack"),
        ("eu-west-1", "account-pack"),
    }
    assert all("ThrottlingException" in f["reason"] for f in summary["failed_sources"])

    # When the throttling ends
    config_sim.clear_faults()
    notifier.run()
    # Then the transition missed in eu-west-1 arrives, and nothing is repeated for us-east-1
    [late] = notifier.transitions()
    assert (late.attributes["region"], late.accounts) == ("eu-west-1", FAILING)


def test_access_denied_in_one_region_leaves_the_others_working(notifier, config_sim) -> None:
    # Given a baselined organization
    baselined(notifier, config_sim)
    # When eu-west-1 denies access while the pack fails everywhere
    config_sim.set_fault(region="eu-west-1", access_denied=True)
    fail_pack(config_sim)
    summary = notifier.run()
    # Then us-east-1 is reported, and the failure says what to do about eu-west-1
    assert [d.attributes["region"] for d in notifier.transitions()] == ["us-east-1"]
    reasons = {f["source"]: f["reason"] for f in summary["failed_sources"]}
    assert "OrganizationAccessDeniedException" in reasons["organization-pack"]
    assert "management account" in reasons["organization-pack"]
    # And once access is back, nothing was lost
    config_sim.clear_faults()
    notifier.run()
    assert [d.attributes["region"] for d in notifier.transitions()] == ["eu-west-1"]


def test_a_failed_publish_is_retried_next_run(notifier, config_sim) -> None:
    # Given a baselined organization and a pack that then fails
    baselined(notifier, config_sim)
    fail_pack(config_sim)
    # When SNS refuses the publish (one message, for both regions)
    notifier.break_topic()
    summary = notifier.run()
    assert summary["messages_failed"] == 1
    assert summary["messages_published"] == 0
    # Then the next run, with SNS back, delivers it: nothing lost
    notifier.repair_topic()
    summary = notifier.run()
    [delivery] = notifier.transitions()
    assert sorted(g["region"] for g in delivery.groups) == sorted(REGIONS)
    assert delivery.accounts == FAILING
    # And once delivered, it is not sent again
    notifier.run()
    assert notifier.received() == []


def test_unread_member_accounts_are_reported_when_readable(notifier, config_sim) -> None:
    # Given a baselined organization
    baselined(notifier, config_sim)
    # When the pack fails but its member accounts cannot be read
    config_sim.set_fault(
        operation="GetOrganizationConformancePackDetailedStatus", throttle_rate=1.0
    )
    fail_pack(config_sim, regions=("us-east-1",))
    notifier.run()
    # Then the organization-level failure is reported, saying members were not read
    [parent_only] = notifier.transitions()
    assert parent_only.document["member_detail_read"] is False
    assert parent_only.accounts == []
    # And when they can be read, the failing accounts follow
    config_sim.clear_faults()
    notifier.run()
    [members] = notifier.transitions()
    assert members.accounts == FAILING
    assert members.attributes["region"] == "us-east-1"


def test_a_removed_pack_and_a_departed_account_are_reported_once(notifier, config_sim) -> None:
    # Given a baselined organization whose pack fails in three accounts in eu-west-1
    baselined(notifier, config_sim)
    fail_pack(config_sim, regions=("eu-west-1",))
    notifier.run()
    notifier.received()
    # When the pack is deleted in us-east-1
    config_sim.region("us-east-1").delete_org_pack(PACK)
    notifier.run()
    # Then one message says it was removed
    [removed] = notifier.transitions()
    assert removed.attributes["status"] == "REMOVED"
    assert removed.document["transitions"][0]["change"] == "disappeared"
    # When a failing account leaves the organization
    config_sim.remove_account(FAILING[0])
    notifier.run()
    # Then the pack it failed in reports that one account as no longer reported
    [departed] = notifier.transitions()
    assert departed.attributes["region"] == "eu-west-1"
    assert departed.accounts == [FAILING[0]]
    assert departed.document["transitions"][-1]["change"] == "disappeared"
    # And nothing repeats afterwards
    notifier.run()
    assert notifier.received() == []


def test_a_healthy_account_that_leaves_costs_no_detail_read_and_no_message(
    notifier, config_sim
) -> None:
    # Given a baselined organization where every deployment succeeded
    baselined(notifier, config_sim)
    config_sim.reset_calls()
    # When a healthy account leaves the organization
    config_sim.remove_account(ACCOUNTS[0])
    notifier.run()
    # Then nothing unhealthy moved: no member is read and nobody is told
    # (the snapshot keeps only members that are not healthy: docs/design.md rule 7)
    assert config_sim.call_count(operation="GetOrganizationConformancePackDetailedStatus") == 0
    assert notifier.received() == []


def test_an_account_pack_failure_and_an_unknown_status(notifier, config_sim) -> None:
    # Given a baselined organization whose rule fails in one account
    baselined(notifier, config_sim)
    rules = config_sim.region("us-east-1")
    rules.set_member_status("rule", "s3-bucket-encryption", ACCOUNTS[1], "CREATE_FAILED")
    notifier.run()
    notifier.received()
    # When this account's own pack fails, and that member reports a status the API model lacks
    config_sim.region("eu-west-1").put_account_pack(
        "local-guardrails", state="CREATE_FAILED", reason="Template validation failed"
    )
    rules.set_member_status("rule", "s3-bucket-encryption", ACCOUNTS[1], "ROLLBACK_PAUSED")
    notifier.run()
    # Then both arrive, the unknown value verbatim
    deliveries = {d.attributes["kind"]: d for d in notifier.transitions()}
    account_pack = deliveries["account-pack"]
    assert account_pack.attributes["severity"] == "failure"
    assert (
        account_pack.document["transitions"][0]["new"]["error_message"]
        == "Template validation failed"
    )
    rule = deliveries["organization-rule"]
    assert rule.accounts == [ACCOUNTS[1]]
    assert rule.document["transitions"][-1]["new"]["status"] == "ROLLBACK_PAUSED"


def test_every_message_links_to_its_config_console_page(notifier, config_sim) -> None:
    # Given a baselined organization
    baselined(notifier, config_sim)
    # When this account's pack fails in eu-west-1 and the organization pack in us-east-1
    config_sim.region("eu-west-1").put_account_pack("local-guardrails", state="CREATE_FAILED")
    fail_pack(config_sim, regions=("us-east-1",))
    notifier.run()
    # Then each message links to the AWS Config console page of that pack, in its region
    links = {d.document["name"]: d.document["console_url"] for d in notifier.transitions()}
    assert links == {
        "local-guardrails": "https://eu-west-1.console.aws.amazon.com/config/home?region=eu-west-1"
        "#/conformance-packs/details?conformancePackName=local-guardrails",
        PACK: "https://us-east-1.console.aws.amazon.com/config/home?region=us-east-1"
        "#/conformance-packs",
    }


def test_a_steady_run_reads_only_the_list_pages(notifier, config_sim) -> None:
    # Given a baselined organization where everything is deployed
    baselined(notifier, config_sim)
    config_sim.reset_calls()
    # When nothing changes
    summary = notifier.run()
    # Then the run reads the three list operations once per region and no member detail
    assert summary["api_calls"] == 6
    assert config_sim.call_count(operation="GetOrganizationConformancePackDetailedStatus") == 0
    assert config_sim.call_count(operation="GetOrganizationConfigRuleDetailedStatus") == 0
    assert summary["records_written"] == 0


def test_bad_settings_stop_the_run_with_every_problem(notifier) -> None:
    with pytest.raises(SettingsError) as raised:
        notifier.run(REGIONS="us-east-1,atlantis", MAX_CONCURRENCY="many")
    assert len(raised.value.problems) == 2


T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_an_org_status_left_in_progress_after_every_member_finished_is_reported_once(
    notifier, config_sim
) -> None:
    # Given a pack deployed to all 40 accounts whose organization-level status stays in progress
    organization(config_sim)
    config_sim.region("us-east-1").set_org_status("pack", PACK, "CREATE_IN_PROGRESS")
    notifier.run(now=T0)
    notifier.received()
    # When it is still so after 1 hour 59 minutes
    notifier.run(now=T0 + timedelta(hours=1, minutes=59))
    # Then nothing is said yet (the default threshold is 2 hours)
    assert notifier.received() == []
    # When it is still so after 2 hours
    summary = notifier.run(now=T0 + timedelta(hours=2))
    # Then one message says it is stuck, although every member account finished, with their count
    [report] = notifier.received()
    assert report.attributes["event_type"] == "stuck"
    assert report.attributes["severity"] == "stuck"
    assert report.subject.startswith(f"[STUCK] {PACK} (org pack) in us-east-1")
    [stuck] = report.document["stuck"]
    assert stuck["status"]["status"] == "CREATE_IN_PROGRESS"
    assert stuck["since"] == T0.isoformat()
    assert stuck["minutes"] == 120
    assert stuck["members_finished"] is True
    # Only members that are not healthy are read: none is left
    assert stuck["member_statuses"] == {}
    assert summary["transitions"] == {"stuck": 1}
    # When it stays stuck for hours more
    notifier.run(now=T0 + timedelta(hours=5))
    # Then it is not reported again
    assert notifier.received() == []
    # When it finally moves
    config_sim.region("us-east-1").set_org_status("pack", PACK, None)
    notifier.run(now=T0 + timedelta(hours=6))
    # Then that move is reported as a transition
    [moved] = notifier.transitions()
    assert moved.document["status"]["status"] == "CREATE_SUCCESSFUL"
    assert moved.document["stuck"] == []


def test_a_member_account_stuck_in_progress_is_named_after_the_configured_threshold(
    notifier, config_sim
) -> None:
    # Given a baselined organization with a 30-minute threshold
    notifier.env["STUCK_AFTER_MINUTES"] = "30"
    organization(config_sim)
    notifier.run(now=T0)
    notifier.received()
    # When one account's rule deployment starts and stays in progress
    config_sim.region("eu-west-1").set_member_status(
        "rule", "s3-bucket-encryption", ACCOUNTS[7], "UPDATE_IN_PROGRESS"
    )
    notifier.run(now=T0 + timedelta(minutes=5))
    assert len(notifier.transitions()) == 1  # the start is a transition like any other
    notifier.run(now=T0 + timedelta(minutes=35))
    # Then 30 minutes after the start, one stuck report names the account and the rule
    [report] = notifier.received()
    assert report.attributes["region"] == "eu-west-1"
    stuck = {s["account_id"]: s for s in report.document["stuck"]}
    assert stuck[ACCOUNTS[7]]["status"]["status"] == "UPDATE_IN_PROGRESS"
    assert stuck[ACCOUNTS[7]]["since"] == (T0 + timedelta(minutes=5)).isoformat()
    # and the organization-level status, in progress as long, with the member summary
    assert stuck[None]["members_finished"] is False
    assert stuck[None]["member_statuses"] == {"UPDATE_IN_PROGRESS": 1}
    # And the next run repeats nothing
    notifier.run(now=T0 + timedelta(minutes=40))
    assert notifier.received() == []


def test_stuck_detection_can_be_turned_off(notifier, config_sim) -> None:
    # Given a pack whose organization-level status stays in progress, and STUCK_AFTER_MINUTES=0
    organization(config_sim)
    config_sim.region("us-east-1").set_org_status("pack", PACK, "CREATE_IN_PROGRESS")
    notifier.run(now=T0, STUCK_AFTER_MINUTES="0")
    notifier.received()
    # When days pass
    notifier.run(now=T0 + timedelta(days=3), STUCK_AFTER_MINUTES="0")
    # Then nothing is reported
    assert notifier.received() == []
