"""Only unhealthy members are read (docs/design.md rule 7), yet nothing inside a deployment is missed.

The real handler against a Config simulator whose clock stands still, so that AWS's
organization-level status and its update time stay exactly as they were while members move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from sandbox import ConfigSimulator
from sandbox.notifier import Notifier

ACCOUNTS = [str(400_000_000_000 + i) for i in range(30)]
PACK = "ops-baseline"
REGION = "us-east-1"
STILL = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def still_sim(sandbox_env: dict[str, str]) -> Iterator[ConfigSimulator]:
    """A simulator of its own whose clock never moves: no update time ever changes."""
    with ConfigSimulator(clock=lambda: STILL) as sim:
        yield sim


@pytest.fixture
def watching(make_notifier: Callable[..., Notifier], still_sim: ConfigSimulator) -> Notifier:
    return make_notifier(REGIONS=REGION, AWS_ENDPOINT_URL_CONFIG_SERVICE=still_sim.endpoint_url)


def org_status(sim: ConfigSimulator) -> tuple[Any, ...]:
    """The pack's organization-level status, error code and update time, as a client reads them."""
    config = boto3.client("config", region_name=REGION, endpoint_url=sim.endpoint_url)
    [status] = config.describe_organization_conformance_pack_statuses()[
        "OrganizationConformancePackStatuses"
    ]
    return status["Status"], status.get("ErrorCode"), status["LastUpdateTime"]


def members_told(notifier: Notifier) -> dict[str, tuple[str | None, str | None]]:
    """account -> (old status, new status) over every transition message received."""
    return {
        t["account_id"]: (
            (t["old"] or {}).get("status"),
            (t["new"] or {}).get("status"),
        )
        for delivery in notifier.transitions()
        for t in delivery.document["transitions"]
        if t["account_id"]
    }


def test_a_failure_and_a_recovery_behind_an_unmoved_org_status_are_seen_next_run(
    watching: Notifier, still_sim: ConfigSimulator
) -> None:
    # Given a pack failing in accounts 3 and 10, baselined
    still_sim.add_accounts(ACCOUNTS)
    us = still_sim.region(REGION)
    us.put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    for account in (ACCOUNTS[3], ACCOUNTS[10]):
        us.set_member_status("pack", PACK, account, "CREATE_FAILED", "Denied", "no")
    watching.run()
    watching.received()
    before = org_status(still_sim)
    # When account 20 fails too and account 10 recovers, while account 3, the first failing one,
    # keeps the organization-level status, its error code and its update time where they were
    us.set_member_status("pack", PACK, ACCOUNTS[20], "CREATE_FAILED", "Denied", "no")
    us.set_member_status("pack", PACK, ACCOUNTS[10], "CREATE_SUCCESSFUL")
    assert org_status(still_sim) == before
    still_sim.reset_calls()
    watching.run()
    # Then the next run tells both: the new failure through the status filters, the recovery
    # through the check of the accounts that were not healthy before
    assert members_told(watching) == {
        ACCOUNTS[20]: (None, "CREATE_FAILED"),
        ACCOUNTS[10]: ("CREATE_FAILED", "CREATE_SUCCESSFUL"),
    }
    # (six status filters, and the one account that was failing and is not any more)
    assert still_sim.call_count(operation="GetOrganizationConformancePackDetailedStatus") == 7
    # And when account 3 recovers last, the pack's own success and that recovery are told
    us.set_member_status("pack", PACK, ACCOUNTS[20], "CREATE_SUCCESSFUL")
    watching.run()
    watching.received()
    us.set_member_status("pack", PACK, ACCOUNTS[3], "CREATE_SUCCESSFUL")
    watching.run()
    [last] = watching.transitions()
    assert last.document["transitions"][0]["new"]["status"] == "CREATE_SUCCESSFUL"
    assert last.accounts == [ACCOUNTS[3]]
    # And from then on a run reads no member at all
    still_sim.reset_calls()
    watching.run()
    assert watching.received() == []
    assert still_sim.call_count(operation="GetOrganizationConformancePackDetailedStatus") == 0


def test_a_mass_recovery_reads_every_member_once_rather_than_each_account(
    make_notifier: Callable[..., Notifier], config_sim: ConfigSimulator
) -> None:
    # Given a pack failing in 150 of 250 accounts, baselined
    accounts = [str(410_000_000_000 + i) for i in range(250)]
    config_sim.add_accounts(accounts)
    us = config_sim.region(REGION)
    us.put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    for account in accounts[:150]:
        us.set_member_status("pack", PACK, account, "CREATE_FAILED", "NoRecorder", "no recorder")
    notifier = make_notifier(REGIONS=REGION)
    notifier.run()
    notifier.received()
    # When every one of them recovers at once (the pack is successful again)
    for account in accounts[:150]:
        us.set_member_status("pack", PACK, account, "CREATE_SUCCESSFUL")
    config_sim.reset_calls()
    notifier.run()
    # Then all 150 recoveries are told, from one read of every member (3 pages of 100), not
    # from 150 calls of one account each
    [message] = notifier.transitions()
    assert message.accounts == accounts[:150]
    assert config_sim.call_count(operation="GetOrganizationConformancePackDetailedStatus") == 3
