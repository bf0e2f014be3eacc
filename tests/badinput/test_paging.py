"""A service that paginates badly: a NextToken repeated forever, and empty pages that still carry a
token. The first makes a source unread (said so, nothing disappears); the second is legal and
must change nothing."""

from __future__ import annotations

import pytest

from tests.badinput.conftest import ACCOUNTS, REGIONS

REGION = REGIONS[0]
PACK = "ops-baseline"
LISTINGS = (
    "DescribeOrganizationConfigRuleStatuses",
    "DescribeOrganizationConformancePackStatuses",
    "DescribeConformancePackStatus",
)


def baselined(deployment, sim) -> None:
    sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        sim.region(region).put_org_pack(PACK)
        sim.region(region).put_org_rule("s3-bucket-encryption")
        sim.region(region).put_account_pack("local-guardrails")
    deployment.run("baseline")
    deployment.received()


def fail(sim, region: str = REGION) -> None:
    sim.region(region).set_member_status(
        "pack", PACK, ACCOUNTS[4], "CREATE_FAILED", "ValidationError", "template error"
    )


@pytest.mark.parametrize(
    ("operation", "source"),
    [
        ("DescribeOrganizationConformancePackStatuses", "organization-pack"),
        ("GetOrganizationConformancePackDetailedStatus", f"organization-pack {PACK}"),
    ],
)
def test_a_next_token_that_repeats_forever_makes_the_source_unread(
    operation, source, deployment, config_sim
):
    # Given a baselined organization, and a pack that fails in one account
    baselined(deployment, config_sim)
    fail(config_sim)
    # When the listing in us-east-1 answers the same NextToken forever
    config_sim.set_fault(region=REGION, operation=operation, token_loop=True)
    config_sim.reset_calls()
    summary = deployment.run("looping")
    # Then the source is reported unread, saying why, after two pages, not two thousand
    [failure] = summary["failed_sources"]
    assert (failure["region"], failure["source"]) == (REGION, source)
    assert "NextToken" in failure["reason"]
    assert config_sim.call_count(operation=operation, region=REGION) == 2
    # And nothing of it is reported gone: nothing, or the pack without its members, arrives
    for delivery in deployment.transitions():
        assert all(t["change"] != "disappeared" for t in delivery.document["transitions"])
        assert delivery.document["member_detail_read"] is False
    # And once the listing ends again, the failure in that account arrives
    config_sim.clear_faults()
    deployment.run("fixed")
    accounts = [
        t["account_id"]
        for d in deployment.transitions()
        for t in d.document["transitions"]
        if t["account_id"]
    ]
    assert accounts == [ACCOUNTS[4]]


def test_empty_pages_that_carry_a_token_change_nothing(deployment, config_sim):
    # Given a baselined organization, and a pack that fails in one account
    baselined(deployment, config_sim)
    fail(config_sim)
    # When every listing starts with three empty pages that carry a NextToken
    config_sim.set_fault(empty_pages=3)
    config_sim.reset_calls()
    summary = deployment.run("empty-pages")
    # Then every page was followed, and the failure arrives as if the pages had not been empty
    assert summary["failed_sources"] == []
    for operation in LISTINGS:
        assert config_sim.call_count(operation=operation, region=REGION) == 4
    [delivery] = deployment.transitions()
    assert [t["account_id"] for t in delivery.document["transitions"] if t["account_id"]] == [
        ACCOUNTS[4]
    ]
    assert all(t["change"] != "disappeared" for t in delivery.document["transitions"])
    # And the next run, pages still empty at first, repeats nothing
    deployment.run("empty-again")
    assert deployment.transitions() == []
