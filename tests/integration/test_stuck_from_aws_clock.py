"""Stuck from AWS's own clock: a deployment already stuck when the notifier is installed.

The real handler against the sandbox. The simulator stamps every status change with the time it
is scripted (AWS's LastUpdateTime); the handler's clock is set hours later, as if the notifier
were installed then.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from config_notifier.read import CallCounter, read_account_packs, utc_session

ACCOUNTS = [str(300_000_000_000 + i) for i in range(12)]
RULE = "s3-bucket-encryption"
STALLED = sorted(ACCOUNTS[3:5])


def rule_updating(sim: Any, accounts: list[str]) -> None:
    """A rule deployed to every account, now updating in `accounts`: AWS stamps it now."""
    sim.add_accounts(ACCOUNTS)
    us = sim.region("us-east-1")
    us.put_org_rule(RULE, status="CREATE_SUCCESSFUL")
    for account in accounts:
        us.set_member_status("rule", RULE, account, "UPDATE_IN_PROGRESS")


def aws_time(updated_at: str) -> datetime:
    """An update time as the notifier keeps it: whole seconds."""
    return datetime.fromisoformat(updated_at).replace(microsecond=0)


def test_a_deployment_stuck_before_the_install_is_stuck_on_the_first_run_after_the_threshold(
    notifier: Any, config_sim: Any
) -> None:
    # Given a rule whose update has been in progress in 2 accounts since AWS last updated it
    rule_updating(config_sim, STALLED)
    installed = datetime.now(UTC) + timedelta(hours=3)
    # When the notifier runs for the first time, three hours later
    notifier.run(now=installed)
    # Then the region's one summary names the rule as stuck right now, since AWS's update time
    summaries = {d.attributes["region"]: d for d in notifier.received()}
    assert sorted(summaries) == ["eu-west-1", "us-east-1"]
    summary = summaries["us-east-1"]
    [stuck] = summary.document["stuck"]
    assert stuck["name"] == RULE
    assert stuck["status"]["status"].endswith("_IN_PROGRESS")
    since = datetime.fromisoformat(stuck["since"])
    assert since == aws_time(stuck["status"]["updated_at"])
    assert installed - since >= timedelta(hours=2, minutes=59)
    assert ": 0 failing, 1 stuck, 1 org rule" in summary.subject
    assert summary.attributes["severity"] == "stuck"
    assert summaries["eu-west-1"].document["stuck"] == []
    # When it runs again five minutes later
    notifier.run(now=installed + timedelta(minutes=5))
    # Then one stuck report names the rule and both accounts, stuck since AWS's update time,
    # not since the notifier first saw them (that would be two hours from now)
    [report] = notifier.received()
    assert report.attributes["event_type"] == "stuck"
    assert report.subject.startswith(f"[STUCK] {RULE} (org rule) in us-east-1: 2 accounts stuck")
    by_account = {s["account_id"]: s for s in report.document["stuck"]}
    assert sorted(a for a in by_account if a) == STALLED
    for account in STALLED:
        member = by_account[account]
        assert datetime.fromisoformat(member["since"]) == aws_time(member["status"]["updated_at"])
        assert member["minutes"] >= 184
    assert datetime.fromisoformat(by_account[None]["since"]) == since
    # And the run after that repeats nothing
    notifier.run(now=installed + timedelta(minutes=10))
    assert notifier.received() == []


def test_a_deployment_that_started_just_before_the_install_waits_for_the_threshold(
    notifier: Any, config_sim: Any
) -> None:
    # Given a rule update in progress for 30 minutes when the notifier is installed
    rule_updating(config_sim, ACCOUNTS[:1])
    installed = datetime.now(UTC) + timedelta(minutes=30)
    notifier.run(now=installed)
    # Then the first run's summary calls nothing stuck
    summaries = {d.attributes["region"]: d for d in notifier.received()}
    assert summaries["us-east-1"].document["stuck"] == []
    # And nothing is reported until two hours after AWS's update time, not the install
    notifier.run(now=installed + timedelta(minutes=85))
    assert notifier.received() == []
    notifier.run(now=installed + timedelta(minutes=95))
    [report] = notifier.received()
    assert report.attributes["event_type"] == "stuck"


def test_an_account_pack_updating_after_a_success_counts_from_the_request(
    sandbox_env: dict[str, str], config_sim: Any
) -> None:
    # Given this account's pack, created, then updated again: AWS keeps the last successful
    # update's LastUpdateCompletedTime while the new one is in progress
    us = config_sim.region("us-east-1")
    us.put_account_pack("local-guardrails", state="CREATE_COMPLETE")
    time.sleep(0.01)  # the API's timestamps have millisecond precision
    us.put_account_pack("local-guardrails", state="CREATE_IN_PROGRESS")
    client = boto3.session.Session(botocore_session=utc_session()).client(
        "config", region_name="us-east-1"
    )
    [raw] = client.describe_conformance_pack_status()["ConformancePackStatusDetails"]
    assert raw["LastUpdateCompletedTime"] < raw["LastUpdateRequestedTime"]
    # When the notifier reads it
    [pack] = read_account_packs(client, "us-east-1", CallCounter())
    # Then its state's update time is the request's, so it is not taken for stuck since the last
    # success
    assert pack.status.updated_at == raw["LastUpdateRequestedTime"].isoformat()
    # And once the update completes, the completion's
    time.sleep(0.01)
    us.put_account_pack("local-guardrails", state="CREATE_COMPLETE")
    [raw] = client.describe_conformance_pack_status()["ConformancePackStatusDetails"]
    [pack] = read_account_packs(client, "us-east-1", CallCounter())
    assert pack.status.updated_at == raw["LastUpdateCompletedTime"].isoformat()
