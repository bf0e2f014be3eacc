"""Muting: muted transitions are committed and logged, never published; expired mutes stop."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.integration.test_notifier_runs import FAILING, PACK, baselined, fail_pack, fix_pack

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_a_muted_account_is_left_out_of_the_message_and_not_reported_later(
    notifier, config_sim
) -> None:
    # Given a baselined organization and a mute on one of the accounts about to fail
    baselined(notifier, config_sim)
    notifier.env["MUTES"] = json.dumps([{"account": FAILING[0]}])
    # When the pack fails in 3 accounts in both regions
    fail_pack(config_sim)
    summary = notifier.run()
    # Then the one message, for both regions, names the 2 others only
    [delivery] = notifier.transitions()
    assert len(delivery.groups) == 2
    assert delivery.accounts == FAILING[1:]
    assert summary["muted"] == 2
    # And once the mute is gone, nothing about that account comes late: it was committed
    del notifier.env["MUTES"]
    assert notifier.run()["messages_published"] == 0


def test_a_name_glob_mute_expires_on_its_own(notifier, config_sim) -> None:
    # Given a mute on ops-* that applies through 21 November
    baselined(notifier, config_sim)
    notifier.env["MUTES"] = json.dumps([{"name": "ops-*", "until": "2026-11-21"}])
    # When the pack fails on its last day
    fail_pack(config_sim)
    summary = notifier.run(now=T0)
    # Then nothing is published and every failing account is counted as muted
    assert notifier.received() == []
    assert summary["muted"] == 2 * (len(FAILING) + 1)  # the pack and its accounts, 2 regions
    # When it recovers the next day, with the mute still configured
    fix_pack(config_sim)
    notifier.run(now=T0 + timedelta(days=1))
    # Then the mute has expired: the recovery is published
    [recovery] = notifier.transitions()
    assert [g["name"] for g in recovery.groups] == [PACK, PACK]
    assert recovery.attributes["severity"] == "recovery"


def test_a_severity_mute_holds_back_only_that_severity(notifier, config_sim) -> None:
    # Given a mute on progress and on stuck reports
    baselined(notifier, config_sim)
    notifier.env["MUTES"] = json.dumps([{"severity": "progress"}, {"severity": "stuck"}])
    # When this account's pack starts an update (progress) and an organization pack fails
    config_sim.region("eu-west-1").put_account_pack("local-guardrails", state="CREATE_IN_PROGRESS")
    fail_pack(config_sim, regions=("us-east-1",))
    notifier.run(now=T0)
    # Then only the failure is published
    [delivery] = notifier.transitions()
    assert delivery.attributes["severity"] == "failure"
    # When the account pack stays in progress for hours
    notifier.run(now=T0 + timedelta(hours=3))
    # Then its stall is muted too
    assert notifier.received() == []
