"""A service that ignores the Filters of the detailed-status operations and answers every member:
the notifier keeps only the members that match what it asked for, so it costs calls, never
correctness (docs/design.md rule 7)."""

from __future__ import annotations

from typing import Any

from sandbox.notifier import Notifier

REGION = "us-east-1"
ACCOUNTS = [str(210_000_000_000 + i) for i in range(250)]  # 3 pages of members
PACK = "ops-baseline"
DETAIL = "GetOrganizationConformancePackDetailedStatus"


def told(notifier: Notifier) -> list[tuple[str, str | None, str]]:
    """(account, old status, new status) of every member transition received, in order."""
    return [
        (t["account_id"], (t["old"] or {}).get("status"), t["new"]["status"])
        for delivery in notifier.transitions()
        for t in delivery.document["transitions"]
        if t["account_id"]
    ]


def test_ignored_filters_cost_calls_and_change_no_message(make_notifier, config_sim) -> None:
    # Given a baselined pack deployed to 250 accounts, failing in one
    config_sim.add_accounts(ACCOUNTS)
    us: Any = config_sim.region(REGION)
    us.put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    us.set_member_status("pack", PACK, ACCOUNTS[9], "CREATE_FAILED", "NoRecorder", "no recorder")
    notifier = make_notifier(REGIONS=REGION)
    notifier.run()
    notifier.received()
    # And a service that ignores Filters from now on: each filtered read lists every member
    config_sim.set_fault(operation=DETAIL, ignore_filters=True)
    # When another account fails
    us.set_member_status("pack", PACK, ACCOUNTS[200], "CREATE_FAILED", "NoRecorder", "no recorder")
    config_sim.reset_calls()
    notifier.run()
    # Then only that failure is told: none of the 248 healthy members it was also handed, and
    # not the failure it already told
    assert told(notifier) == [(ACCOUNTS[200], None, "CREATE_FAILED")]
    # And it cost 3 pages for each of the six status filters instead of one call each
    assert config_sim.call_count(operation=DETAIL) == 6 * 3
    # When the first account recovers
    us.set_member_status("pack", PACK, ACCOUNTS[9], "CREATE_SUCCESSFUL")
    config_sim.reset_calls()
    notifier.run()
    # Then its recovery is told, and nothing else (its own check was answered with every member)
    assert told(notifier) == [(ACCOUNTS[9], "CREATE_FAILED", "CREATE_SUCCESSFUL")]
    assert config_sim.call_count(operation=DETAIL) == 6 * 3 + 3
    # And a run where nothing moved tells nothing, with the filters ignored or honoured again
    notifier.run()
    assert notifier.received() == []
    config_sim.clear_faults()
    config_sim.reset_calls()
    notifier.run()
    assert notifier.received() == []
    assert config_sim.call_count(operation=DETAIL) == 6
