"""Account names: "name (id)" from AWS Organizations, cached in the table, never a reason to fail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3

from config_notifier.accounts import PARTITION, AccountNames
from sandbox.organizations import create_named_accounts as create_accounts

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
PACK = "ops-baseline"


def named_organization(sim) -> dict[str, str]:
    """Three named accounts in moto's organization, the Config simulator's members, one pack."""
    suffix = uuid.uuid4().hex[:6]
    accounts = create_accounts(
        [f"prod-payments-{suffix}", f"dev-sandbox-{suffix}", f"audit-{suffix}"]
    )
    sim.add_accounts(accounts)
    sim.region("us-east-1").put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    return accounts


def fail(sim, account: str) -> None:
    sim.region("us-east-1").set_member_status(
        "pack", PACK, account, "CREATE_FAILED", "ConformancePackCreationFailed", "boom"
    )


def test_member_accounts_are_named_from_organizations(notifier, config_sim) -> None:
    # Given an organization whose accounts have names, baselined
    accounts = named_organization(config_sim)
    notifier.run(now=T0, REGIONS="us-east-1")
    notifier.received()
    # When the pack fails in one account
    account = sorted(accounts)[0]
    fail(config_sim, account)
    summary = notifier.run(now=T0 + timedelta(minutes=5), REGIONS="us-east-1")
    # Then the message gives that account's name beside its id
    [message] = notifier.transitions()
    [member] = [t for t in message.document["transitions"] if t["account_id"]]
    assert (member["account_id"], member["account_name"]) == (account, accounts[account])
    assert summary["account_names"] == "listed"


def test_names_are_cached_until_the_refresh_interval_passes(notifier, config_sim) -> None:
    # Given names listed once by a run that needed them
    accounts = named_organization(config_sim)
    notifier.run(now=T0, REGIONS="us-east-1")
    fail(config_sim, sorted(accounts)[0])
    notifier.run(now=T0 + timedelta(minutes=5), REGIONS="us-east-1")
    notifier.received()
    # When an account joins the organization and fails within the refresh interval (24 h)
    [(late, late_name)] = create_accounts([f"late-joiner-{uuid.uuid4().hex[:6]}"]).items()
    config_sim.add_accounts([late])
    config_sim.region("us-east-1").set_member_status("pack", PACK, late, "CREATE_SUCCESSFUL")
    notifier.run(now=T0 + timedelta(minutes=10), REGIONS="us-east-1")
    notifier.received()
    fail(config_sim, late)
    summary = notifier.run(now=T0 + timedelta(hours=1), REGIONS="us-east-1")
    # Then the run used the cached copy: no listing, so no name for the newcomer yet
    assert summary["account_names"] == "cached"
    [message] = notifier.transitions()
    assert member_names(message) == {late: None}
    # When the refresh interval has passed and the newcomer recovers
    config_sim.region("us-east-1").set_member_status("pack", PACK, late, "CREATE_SUCCESSFUL")
    summary = notifier.run(now=T0 + timedelta(hours=25), REGIONS="us-east-1")
    # Then the organization is listed again and the newcomer is named
    assert summary["account_names"] == "listed"
    [message] = notifier.transitions()
    assert member_names(message) == {late: late_name}


def member_names(message) -> dict[str, str | None]:
    return {
        t["account_id"]: t["account_name"]
        for t in message.document["transitions"]
        if t["account_id"]
    }


def test_without_organizations_the_id_alone_is_shown_and_nothing_fails(
    notifier, config_sim
) -> None:
    # Given Organizations cannot be reached (the same path as a denied permission: an AWS error)
    accounts = named_organization(config_sim)
    broken = {"AWS_ENDPOINT_URL_ORGANIZATIONS": "http://127.0.0.1:9"}
    notifier.run(now=T0, REGIONS="us-east-1", **broken)
    # When the pack fails in an account
    account = sorted(accounts)[0]
    fail(config_sim, account)
    summary = notifier.run(now=T0 + timedelta(minutes=5), REGIONS="us-east-1", **broken)
    # Then the failure is delivered with the id alone, and the run says names were unavailable
    [message] = notifier.transitions()
    [member] = [t for t in message.document["transitions"] if t["account_id"]]
    assert (member["account_id"], member["account_name"]) == (account, None)
    assert summary["account_names"] == "unavailable"
    assert summary["failed_sources"] == []


def test_names_can_be_turned_off(notifier, config_sim) -> None:
    # Given ACCOUNT_NAMES_REFRESH_HOURS=0
    accounts = named_organization(config_sim)
    notifier.run(now=T0, REGIONS="us-east-1", ACCOUNT_NAMES_REFRESH_HOURS="0")
    # When the pack fails in an account
    fail(config_sim, sorted(accounts)[0])
    notifier.run(
        now=T0 + timedelta(minutes=5), REGIONS="us-east-1", ACCOUNT_NAMES_REFRESH_HOURS="0"
    )
    # Then the message shows the id alone
    [message] = notifier.transitions()
    assert [t["account_name"] for t in message.document["transitions"] if t["account_id"]] == [None]


class ListedOrganization:
    """An Organizations client whose list_accounts pages hold `names` (a stand-in, no moto)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.listings = 0

    def get_paginator(self, operation: str) -> ListedOrganization:
        assert operation == "list_accounts"
        return self

    def paginate(self) -> list[dict[str, list[dict[str, str]]]]:
        self.listings += 1
        ids = sorted(self.names)
        return [
            {"Accounts": [{"Id": i, "Name": self.names[i]} for i in ids[start : start + 20]]}
            for start in range(0, len(ids), 20)
        ]


def test_a_large_organization_is_cached_in_chunks_and_shrinks_cleanly(notifier) -> None:
    # Given an organization of 4,500 accounts, listed once into the table
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = notifier.env["SNAPSHOT_TABLE_NAME"]
    big = {f"{100_000_000_000 + i}": f"team-{i:05d}" for i in range(4_500)}
    listed = ListedOrganization(big)
    names = AccountNames(listed, dynamodb, table, timedelta(hours=24))  # type: ignore[arg-type]
    first = names.load(T0)
    # Then every name is there, spread over items that each fit DynamoDB's 400 KB
    assert first.names == big
    assert first.refreshed
    assert chunk_count(dynamodb, table) == 3
    # And a run within the refresh interval reads the copy without listing
    assert names.load(T0 + timedelta(hours=1)).names == big
    assert listed.listings == 1
    # When the organization shrinks and the copy is refreshed
    listed.names = dict(list(big.items())[:10])
    refreshed = names.load(T0 + timedelta(hours=25))
    # Then the copy holds exactly the 10 accounts, in one item
    assert refreshed.names == listed.names
    assert chunk_count(dynamodb, table) == 1
    assert names.load(T0 + timedelta(hours=26)).names == listed.names


def chunk_count(dynamodb, table: str) -> int:
    return int(
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": PARTITION}},
            Select="COUNT",
        )["Count"]
    )
