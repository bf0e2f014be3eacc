"""One change is one message (docs/design.md rule 9): the scenario counts, printed.

Run with `-s` to see the counts: `.venv/bin/pytest tests/integration/test_grouped_messages.py -s`.
"""

from __future__ import annotations

from typing import Any

REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = [str(300_000_000_000 + i) for i in range(20)]
NEWCOMER = "399999999999"
RULES = [f"rule-{i}" for i in range(6)]
PACKS = [f"pack-{i}" for i in range(6)]
NEW_PACK = "team-a-logging"
FAILING = {ACCOUNTS[3]: "NoAvailableConfigurationRecorder", ACCOUNTS[11]: "AccessDenied"}


def many_deployments(sim: Any) -> None:
    """20 accounts, 6 organization rules and 6 packs, deployed in both regions."""
    sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        r = sim.region(region)
        for rule in RULES:
            r.put_org_rule(rule)
        for pack in PACKS:
            r.put_org_pack(pack)


def baselined(notifier: Any, sim: Any) -> None:
    many_deployments(sim)
    notifier.run()
    notifier.received()


def member_everywhere(sim: Any, account: str, status: str) -> None:
    for region in REGIONS:
        for rule in RULES:
            sim.region(region).set_member_status("rule", rule, account, status)
        for pack in PACKS:
            sim.region(region).set_member_status("pack", pack, account, status)


def test_an_account_joining_twelve_deployments_in_two_regions_is_one_message_a_run(
    notifier: Any, config_sim: Any
) -> None:
    # Given an organization of 12 rules and packs in 2 regions, baselined
    baselined(notifier, config_sim)
    # When an account joins and Config starts deploying everything to it
    config_sim.add_accounts([NEWCOMER])
    member_everywhere(config_sim, NEWCOMER, "CREATE_IN_PROGRESS")
    notifier.run()
    started = notifier.transitions()
    # And finishes by the next run
    member_everywhere(config_sim, NEWCOMER, "CREATE_SUCCESSFUL")
    notifier.run()
    finished = notifier.transitions()
    print(f"\naccount join, 12 deployments x 2 regions: {len(started)} + {len(finished)} messages")
    # Then each run sent one message, naming the account, about all 24 rules and packs
    for delivery in (*started, *finished):
        assert delivery.accounts == [NEWCOMER]
        assert NEWCOMER in delivery.subject
        assert len(delivery.groups) == 24
    assert len(started) == 1
    assert len(finished) == 1


def test_a_pack_rolled_out_to_two_regions_is_one_message_a_run(
    notifier: Any, config_sim: Any
) -> None:
    # Given the same organization, baselined
    baselined(notifier, config_sim)
    # When a new pack rolls out to both regions
    for region in REGIONS:
        config_sim.region(region).put_org_pack(NEW_PACK, status="CREATE_IN_PROGRESS")
    notifier.run()
    started = notifier.transitions()
    # And fails in two accounts of each region, succeeding in the others
    for region in REGIONS:
        r = config_sim.region(region)
        for account in ACCOUNTS:
            if account in FAILING:
                r.set_member_status(
                    "pack", NEW_PACK, account, "CREATE_FAILED", FAILING[account], "it failed"
                )
            else:
                r.set_member_status("pack", NEW_PACK, account, "CREATE_SUCCESSFUL")
    notifier.run()
    ended = notifier.transitions()
    print(f"\npack rollout to 2 regions, failing in 2 accounts: {len(started)} + {len(ended)}")
    # Then one message each run
    assert len(started) == 1
    [failure] = ended
    # And the failure names every failing account with its error, in both regions
    failed = {
        (group["region"], t["account_id"]): t["new"]["error_code"]
        for group in failure.groups
        for t in group["transitions"]
        if t["account_id"] and t["new"]["status"] == "CREATE_FAILED"
    }
    assert failed == {
        (region, account): code for region in REGIONS for account, code in FAILING.items()
    }
    assert failure.subject == f"[FAILED] {NEW_PACK} (org pack) in 2 regions: 2 accounts failing"
