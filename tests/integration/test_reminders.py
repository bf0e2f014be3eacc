"""Reminders: the real handler against the sandbox, days apart (docs/design.md, "Reminders").

What a subscriber's queue receives is the product: these tests read the digest it gets and the
run's summary.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from config_notifier.dry_run import Deployed, dry_run
from config_notifier.settings import Settings
from tests.integration.test_notifier_runs import (
    FAILING,
    PACK,
    REGIONS,
    fail_pack,
    fix_pack,
    organization,
)

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def digests(notifier: Any) -> list[Any]:
    return [d for d in notifier.received() if d.attributes.get("event_type") == "reminder"]


def failing_since_t0(notifier: Any, sim: Any, **env: str) -> None:
    """Given a baselined organization whose pack fails in 3 accounts in both regions at T0."""
    organization(sim)
    notifier.run(now=T0 - timedelta(minutes=5), **env)
    fail_pack(sim)
    notifier.run(now=T0, **env)
    assert len(notifier.transitions()) == 1  # one message, for both regions


def test_a_pack_still_failing_a_day_later_is_reminded_once(notifier, config_sim) -> None:
    # Given a pack failing in 3 accounts in both regions since T0
    failing_since_t0(notifier, config_sim)
    # When runs go on within the day
    summary = notifier.run(now=T0 + timedelta(hours=23))
    # Then nothing is reminded yet
    assert summary["reminders_sent"] == 0
    assert digests(notifier) == []
    # When a run comes a day later
    summary = notifier.run(now=T0 + DAY)
    # Then one digest names the pack in both regions, with its failing accounts and since when
    [digest] = digests(notifier)
    assert summary["reminders_sent"] == 2
    assert digest.subject == f"[REMINDER] 1 deployment still failing or stuck in 2 regions: {PACK}"
    assert PACK in digest.subject
    doc = digest.document
    assert doc["schema"] == "config-deployment-notifier.reminder-digest"
    assert doc["omitted_deployments"] == 0
    assert sorted(d["region"] for d in doc["deployments"]) == sorted(REGIONS)
    for deployment in doc["deployments"]:
        assert deployment["name"] == PACK
        assert sorted(a["account_id"] for a in deployment["accounts"]) == FAILING
        assert all(a["since"] == T0.isoformat(timespec="seconds") for a in deployment["accounts"])
        assert all(a["minutes"] == 24 * 60 for a in deployment["accounts"])
        assert deployment["minutes"] == 24 * 60
    # And the snapshot keeps when it went out, in each region's partition
    marks = {i["pk"]["S"]: i for i in notifier.items() if i["sk"]["S"] == "#reminded"}
    assert sorted(marks) == sorted(f"R#{region}" for region in REGIONS)
    assert {m["sent"]["S"] for m in marks.values()} == {(T0 + DAY).isoformat(timespec="seconds")}
    # When the next run, a cold start, comes an hour after that
    summary = notifier.run(now=T0 + DAY + timedelta(hours=1))
    # Then nothing is reminded
    assert summary["reminders_sent"] == 0
    assert notifier.received() == []
    # And a day after the digest, it is reminded again
    notifier.run(now=T0 + 2 * DAY)
    assert len(digests(notifier)) == 1


def test_a_muted_pack_is_not_reminded(notifier, config_sim) -> None:
    # Given a pack failing since T0, muted by name once people heard of it
    mutes = json.dumps([{"name": PACK}])
    failing_since_t0(notifier, config_sim)
    # When a run comes a day later
    summary = notifier.run(now=T0 + DAY, MUTES=mutes)
    # Then nothing is reminded
    assert summary["reminders_sent"] == 0
    assert digests(notifier) == []


def test_a_pack_muted_in_its_failing_accounts_is_not_reminded(notifier, config_sim) -> None:
    # Given a pack failing since T0 in 3 accounts, each muted
    mutes = json.dumps([{"account": a} for a in FAILING])
    failing_since_t0(notifier, config_sim)
    # When a run comes a day later with those mutes
    summary = notifier.run(now=T0 + DAY, MUTES=mutes)
    # Then nothing is reminded
    assert summary["reminders_sent"] == 0
    assert digests(notifier) == []


def test_a_fixed_pack_drops_out(notifier, config_sim) -> None:
    # Given a pack failing since T0 in both regions, fixed in one region before a day is over
    failing_since_t0(notifier, config_sim)
    for account in FAILING:
        config_sim.region(REGIONS[0]).set_member_status("pack", PACK, account, "CREATE_SUCCESSFUL")
    notifier.run(now=T0 + timedelta(hours=12))
    notifier.received()
    # When a run comes a day later
    summary = notifier.run(now=T0 + DAY)
    # Then the digest names only the region where it still fails
    [digest] = digests(notifier)
    assert summary["reminders_sent"] == 1
    assert [d["region"] for d in digest.document["deployments"]] == [REGIONS[1]]
    # When it is fixed everywhere, a day after that nothing is reminded
    fix_pack(config_sim)
    notifier.run(now=T0 + DAY + timedelta(hours=1))
    notifier.received()
    summary = notifier.run(now=T0 + 2 * DAY + timedelta(hours=1))
    assert summary["reminders_sent"] == 0
    assert digests(notifier) == []


def test_reminder_hours_0_sends_none(notifier, config_sim) -> None:
    # Given a pack failing since T0, and reminders turned off
    failing_since_t0(notifier, config_sim, REMINDER_HOURS="0")
    # When runs come a day and a week later
    first = notifier.run(now=T0 + DAY, REMINDER_HOURS="0")
    second = notifier.run(now=T0 + 7 * DAY, REMINDER_HOURS="0")
    # Then nothing is reminded
    assert first["reminders_sent"] == second["reminders_sent"] == 0
    assert digests(notifier) == []


def test_a_refused_digest_is_sent_by_the_next_run(notifier, config_sim) -> None:
    # Given a pack failing since T0, and a topic that refuses every publish a day later
    failing_since_t0(notifier, config_sim)
    notifier.break_topic()
    # When the run that owes the digest cannot publish it
    summary = notifier.run(now=T0 + DAY)
    # Then it counts a failed message and no reminder
    assert summary["reminders_sent"] == 0
    assert summary["messages_failed"] == 1
    # When the topic is back, the next run sends the digest
    notifier.repair_topic()
    summary = notifier.run(now=T0 + DAY + timedelta(minutes=5))
    [digest] = digests(notifier)
    assert summary["reminders_sent"] == 2
    assert {d["name"] for d in digest.document["deployments"]} == {PACK}
    # And the run after it sends none
    assert notifier.run(now=T0 + DAY + timedelta(minutes=10))["reminders_sent"] == 0
    assert digests(notifier) == []


def test_the_dry_run_shows_a_due_digest_and_records_nothing(notifier, config_sim) -> None:
    # Given a pack failing since T0
    failing_since_t0(notifier, config_sim)
    before = notifier.items()
    # When the operator's dry run looks a day later
    deployed = Deployed("stack", "us-east-1", "function", Settings.from_env(notifier.env))
    messages, _ = dry_run(deployed, now=T0 + DAY)
    # Then it shows the digest, and the snapshot is as it was
    [digest] = [m for m in messages if m.attributes["event_type"] == "reminder"]
    assert PACK in digest.subject
    assert notifier.items() == before
    # And the real run after it sends the digest
    notifier.run(now=T0 + DAY + timedelta(minutes=5))
    assert len(digests(notifier)) == 1
