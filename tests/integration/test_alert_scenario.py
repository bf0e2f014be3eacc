"""Alerts people act on, as a subscriber counts them: one change is one message (docs/design.md
rule 9), a reminder of what is still broken a day later and not an hour after, and a team's route
that delivers its packs and nothing else (docs/messages.md). Each scenario prints its counts.

Run with `-s` to see them: `.venv/bin/pytest tests/integration/test_alert_scenario.py -s`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from config_notifier.model import Rendering

REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = [str(300_000_000_000 + i) for i in range(20)]
NEWCOMER = "399999999999"
RULES = [f"rule-{i}" for i in range(6)]
PACKS = [f"pack-{i}" for i in range(6)]
NEW_PACK = "team-a-logging"
FAILING = {ACCOUNTS[3]: "NoAvailableConfigurationRecorder", ACCOUNTS[11]: "AccessDenied"}
T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
TEAM_ROUTE = {"name": "team-a", "match": {"deployments": ["team-a-*"]}}


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


def fail_new_pack(sim: Any) -> None:
    """NEW_PACK deployed in both regions, failing in the FAILING accounts."""
    for region in REGIONS:
        r = sim.region(region)
        r.put_org_pack(NEW_PACK, status="CREATE_FAILED")
        for account in ACCOUNTS:
            status, code = (
                ("CREATE_FAILED", FAILING[account])
                if account in FAILING
                else ("CREATE_SUCCESSFUL", None)
            )
            r.set_member_status("pack", NEW_PACK, account, status, code, code and "it failed")


def reminders(deliveries: list[Any]) -> list[Any]:
    return [d for d in deliveries if d.attributes.get("event_type") == "reminder"]


def test_a_pack_still_failing_a_day_later_is_one_reminder_and_an_hour_later_none(
    notifier: Any, config_sim: Any
) -> None:
    # Given the organization, baselined, and a pack failing in 2 accounts of each region since T0
    many_deployments(config_sim)
    notifier.run(now=T0 - HOUR)
    fail_new_pack(config_sim)
    notifier.run(now=T0)
    notifier.received()
    # When a run comes a day later, the pack unchanged
    notifier.run(now=T0 + DAY)
    day_later = reminders(notifier.received())
    # And another an hour after that
    notifier.run(now=T0 + DAY + HOUR)
    hour_later = reminders(notifier.received())
    print(f"\nreminders: a day later {len(day_later)}, an hour after that {len(hour_later)}")
    # Then one reminder names the pack and its failing accounts, in both regions
    [digest] = day_later
    assert NEW_PACK in digest.subject
    listed = {
        (d["region"], d["name"], a["account_id"])
        for d in digest.document["deployments"]
        for a in d["accounts"]
    }
    assert listed == {(r, NEW_PACK, a) for r in REGIONS for a in FAILING}
    # And none an hour later
    assert hour_later == []


def test_a_route_for_one_team_s_packs_delivers_those_and_nothing_else(
    make_notifier: Callable[..., Any], event_bus: str, config_sim: Any
) -> None:
    # Given a route for team A's packs (team-a-*) with a queue on it, and the organization
    notifier = make_notifier(EVENT_BUS_NAME=event_bus, ROUTES=json.dumps([TEAM_ROUTE]))
    team = notifier.subscribe(Rendering.JSON, "team-a")
    many_deployments(config_sim)
    notifier.run(now=T0 - HOUR)
    notifier.received()
    notifier.received(team)
    # When team A's pack fails in 2 accounts of each region, and another team's pack in one
    fail_new_pack(config_sim)
    config_sim.region(REGIONS[0]).set_member_status(
        "pack", PACKS[0], ACCOUNTS[5], "CREATE_FAILED", "AccessDenied", "denied"
    )
    notifier.run(now=T0)
    # And both are still failing a day later
    notifier.run(now=T0 + DAY)
    everyone, routed = notifier.received(), notifier.received(team)
    print(
        f"\nroute team-a: {len(routed)} messages of the {len(everyone)} everyone got "
        f"({', '.join(sorted(d.subject for d in routed))})"
    )
    # Then the team's queue got its pack's failure and its reminder, and nothing of the other pack
    [failure] = [d for d in routed if d.is_transition]
    assert {g["name"] for g in failure.groups} == {NEW_PACK}
    assert sorted(failure.accounts) == sorted(FAILING)
    [digest] = reminders(routed)
    assert {d["name"] for d in digest.document["deployments"]} == {NEW_PACK}
    assert len(routed) == 2
    # And everyone got both packs, in the failures and in the reminder
    told = {g["name"] for d in everyone if d.is_transition for g in d.groups}
    assert told == {NEW_PACK, PACKS[0]}
    [everyones_digest] = reminders(everyone)
    assert {d["name"] for d in everyones_digest.document["deployments"]} == {NEW_PACK, PACKS[0]}
