"""Delegated administrators: the real handler assumes a role in an administrator account and
watches what that account deployed, apart from what the management account deployed.

The role is assumed from moto's STS; the simulator learns whose the temporary credentials are
from moto, as AWS does. A fault proxy in front of moto denies sts:AssumeRole when a test says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from sandbox import Sandbox
from sandbox.fault_proxy import FaultProxy
from sandbox.notifier import Notifier
from sandbox.resources import Delivery
from tests.integration.conftest import REGIONS

ADMIN = "111122223333"
ROLE = f"arn:aws:iam::{ADMIN}:role/config-notifier-read"
ACCOUNTS = [str(200_000_000_000 + i) for i in range(5)]
PACK = "security-baseline"


@pytest.fixture(scope="module")
def sts_proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's moto, to deny sts:AssumeRole."""
    with FaultProxy(sandbox.moto.url, seed=8) as proxy:
        yield proxy


@pytest.fixture
def watching(notifier: Notifier, config_sim: Any, sts_proxy: FaultProxy) -> Iterator[Notifier]:
    """The notifier with one delegated administrator role, reaching moto through the proxy;
    the organization has five accounts, ADMIN one of them and a registered administrator."""
    sts_proxy.clear_faults()
    notifier.env["DELEGATED_ADMIN_ROLE_ARNS"] = ROLE
    notifier.env["AWS_ENDPOINT_URL"] = sts_proxy.url
    config_sim.add_accounts([*ACCOUNTS, ADMIN])
    config_sim.register_delegated_admin(ADMIN)
    yield notifier
    sts_proxy.clear_faults()


def by_admin(config_sim: Any, region: str = "us-east-1") -> Any:
    return config_sim.region(region, deployed_by=ADMIN)


def fail(config_sim: Any, accounts: list[str], name: str = PACK, kind: str = "pack") -> None:
    for account in accounts:
        by_admin(config_sim).set_member_status(
            kind, name, account, "CREATE_FAILED", error_code="AccessDenied", error_message="no"
        )


def summaries(deliveries: list[Delivery]) -> list[Delivery]:
    return [d for d in deliveries if d.attributes["event_type"] == "baseline-summary"]


def test_a_pack_an_admin_deployed_failing_in_two_accounts_is_one_message_naming_the_admin(
    watching: Notifier, config_sim: Any
) -> None:
    # Given a pack the delegated administrator deployed to every account, baselined
    by_admin(config_sim).put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    watching.run()
    watching.received()
    # When it fails in two accounts and the notifier runs
    fail(config_sim, ACCOUNTS[:2])
    summary = watching.run()
    # Then the subscriber gets exactly one message, about that pack, saying who deployed it
    assert summary["failed_sources"] == []
    [message] = watching.received()
    assert message.attributes["deployed_by"] == ADMIN
    assert message.attributes["event_type"] == "transition"
    assert message.attributes["severity"] == "failure"
    assert message.document["admin_account"] == ADMIN
    assert message.document["name"] == PACK
    assert sorted(message.accounts) == ACCOUNTS[:2]
    assert f"delegated admin {ADMIN}" in message.subject
    assert len(message.subject) < 100


def test_the_same_rule_name_of_management_and_admin_stays_apart(
    watching: Notifier, config_sim: Any
) -> None:
    # Given a rule "ops" deployed by the management account and another "ops" by the admin
    config_sim.region("us-east-1").put_org_rule("ops", ACCOUNTS)
    by_admin(config_sim).put_org_rule("ops", ACCOUNTS)
    watching.run()
    watching.received()
    # When the admin's "ops" fails in one account
    fail(config_sim, ACCOUNTS[:1], name="ops", kind="rule")
    watching.run()
    # Then one message tells it, as the admin's
    [failed] = watching.received()
    assert (failed.attributes["name"], failed.attributes["deployed_by"]) == ("ops", ADMIN)
    assert failed.accounts == ACCOUNTS[:1]
    # When the management account's "ops" is deleted
    config_sim.region("us-east-1").delete_org_rule("ops")
    watching.run()
    # Then one message says the management account's "ops" is gone, and the admin's stays
    [removed] = watching.received()
    assert removed.attributes["status"] == "REMOVED"
    assert "deployed_by" not in removed.attributes
    assert removed.document["admin_account"] is None
    watching.run()
    assert watching.received() == []
    # And each is kept in a partition of its own in the snapshot
    table = boto3.client("dynamodb", region_name="us-east-1")
    items = table.query(
        TableName=watching.env["SNAPSHOT_TABLE_NAME"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"R#us-east-1@{ADMIN}"}},
    )["Items"]
    assert any("organization-rule#ops" in i.get("records", {}).get("S", "") for i in items)


def test_a_denied_role_leaves_the_admin_unknown_and_the_missed_changes_arrive_later(
    watching: Notifier, config_sim: Any, sts_proxy: FaultProxy
) -> None:
    # Given the admin's pack and rule, baselined, and a management rule
    by_admin(config_sim).put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    by_admin(config_sim).put_org_rule("admin-rule", ACCOUNTS)
    config_sim.region("us-east-1").put_org_rule("mgmt-rule", ACCOUNTS)
    watching.run()
    watching.received()
    # When the role can no longer be assumed, while the pack fails in an account and the rule
    # is deleted
    sts_proxy.add_fault("sts", "AssumeRole", "AccessDenied")
    fail(config_sim, ACCOUNTS[:1])
    by_admin(config_sim).delete_org_rule("admin-rule")
    summary = watching.run()
    # Then every source of the admin, in every region, is unread with a reason to act on
    failed = summary["failed_sources"]
    assert sorted((f["region"], f["source"]) for f in failed) == sorted(
        (region, source)
        for region in REGIONS
        for source in ("organization-rule", "organization-pack", "account-pack")
    )
    assert {f["admin_account"] for f in failed} == {ADMIN}
    assert all("cannot assume" in f["reason"] and "AccessDenied" in f["reason"] for f in failed)
    # And nothing is reported, least of all the rule as removed
    assert watching.received() == []
    # When the role works again
    sts_proxy.clear_faults()
    summary = watching.run()
    # Then the missed transitions arrive: the pack's failure and the rule's removal
    assert summary["failed_sources"] == []
    deliveries = watching.received()
    assert sorted((d.attributes["name"], d.attributes["status"]) for d in deliveries) == [
        ("admin-rule", "REMOVED"),
        (PACK, "CREATE_FAILED"),
    ]
    assert {d.attributes["deployed_by"] for d in deliveries} == {ADMIN}


def test_each_admin_region_has_a_silent_baseline_with_one_summary(
    watching: Notifier, config_sim: Any
) -> None:
    # Given the management account is watched already (baselined without an admin role)
    config_sim.region("us-east-1").put_org_pack("mgmt-pack")
    watching.run(DELEGATED_ADMIN_ROLE_ARNS="")
    assert len(summaries(watching.received())) == len(REGIONS)
    # And the admin has a pack failing in two accounts already
    by_admin(config_sim).put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    fail(config_sim, ACCOUNTS[:2])
    # When the admin role is configured and the notifier runs
    summary = watching.run()
    # Then each of the admin's regions gets its first, silent run: one summary each, no
    # transition, and the failing pack is named in its region's summary
    deliveries = watching.received()
    assert sorted(summary["baselined"]) == sorted(f"{r}@{ADMIN}" for r in REGIONS)
    assert summaries(deliveries) == deliveries
    deployers = {d.attributes["region"]: d.attributes["deployed_by"] for d in deliveries}
    assert deployers == dict.fromkeys(REGIONS, ADMIN)
    us = next(d for d in deliveries if d.attributes["region"] == "us-east-1")
    assert us.document["admin_account"] == ADMIN
    assert [(f["name"], f["failing_members"]) for f in us.document["failing"]] == [(PACK, 2)]
    # And the next run is quiet
    watching.run()
    assert watching.received() == []
