"""A small S1, S2, S3 and S5 of the benchmark: a regression in the work a run does fails CI."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bench.scenarios import Shape, pack_name
from config_notifier.read import UNHEALTHY_STATUSES

SHAPE = Shape(accounts=201, regions=("us-east-1",), org_rules=101, org_packs=10, account_packs=21)
DETAIL_OPS = (
    "GetOrganizationConformancePackDetailedStatus",
    "GetOrganizationConfigRuleDetailedStatus",
)


def steady(notifier, config_sim) -> None:
    config_sim.load_state(SHAPE.state())
    notifier.run(REGIONS="us-east-1")
    notifier.received()
    config_sim.reset_calls()


def test_a_steady_run_makes_only_the_list_calls_and_writes_nothing(notifier, config_sim) -> None:
    # Given a baselined organization where nothing changes
    steady(notifier, config_sim)
    # When the notifier runs
    summary = notifier.run(REGIONS="us-east-1")
    # Then it reads each list page once (2 rule pages, 1 pack page, 2 account-pack pages) and nothing else
    assert config_sim.call_count() == SHAPE.min_list_calls() == 5
    assert sum(config_sim.call_count(operation=op) for op in DETAIL_OPS) == 0
    assert summary["records_written"] == summary["records_deleted"] == 0
    assert summary["messages_published"] == 0


def test_a_rollout_failure_reads_only_the_changed_pack(notifier, config_sim) -> None:
    # Given a baselined organization
    steady(notifier, config_sim)
    # When one pack fails in 10 of the 201 accounts
    failing = SHAPE.account_ids()[:10]
    for account in failing:
        config_sim.region("us-east-1").set_member_status(
            "pack", pack_name(3), account, "CREATE_FAILED", "ConformancePackCreationFailed", "boom"
        )
    summary = notifier.run(REGIONS="us-east-1")
    # Then only that pack's unhealthy members are read: one filtered call per unhealthy status,
    # whatever the number of accounts; in one message, with two writes
    assert (
        config_sim.call_count(operation="GetOrganizationConformancePackDetailedStatus")
        == len(UNHEALTHY_STATUSES)
        == 6
    )
    assert config_sim.call_count(operation="GetOrganizationConfigRuleDetailedStatus") == 0
    assert config_sim.call_count() == SHAPE.min_list_calls() + 6
    [message] = notifier.transitions()
    assert message.accounts == failing
    # one member chunk and the region's record chunk
    assert summary["records_written"] == 2


def test_the_baseline_steady_runs_and_the_reconcile_read_only_the_unhealthy(
    notifier, config_sim
) -> None:
    # Given the same organization with 3 of its 111 rules and packs failing in 3 accounts each
    shape = replace(SHAPE, unhealthy=3)
    config_sim.load_state(shape.state())
    bound = shape.min_list_calls() + shape.unhealthy_bound()
    every_member = shape.min_list_calls() + (shape.org_rules + shape.org_packs) * 3
    assert (bound, every_member) == (5 + 3 * 6, 338)
    # When the notifier runs for the first time, then twice more with nothing moving, then for
    # the daily reconcile of every rule and pack
    calls, written = [], []
    for now in (None, None, None, datetime.now(UTC) + timedelta(days=2)):
        config_sim.reset_calls()
        summary = notifier.run(REGIONS="us-east-1", now=now)
        calls.append(config_sim.call_count())
        written.append(summary["records_written"])
    # Then each run reads the list pages and the unhealthy ones' six filters, nothing else,
    # whatever the number of accounts
    assert calls == [bound] * 4
    # And the steady runs write nothing, while the reconcile records that it read them all
    assert written[1:3] == [0, 0]
    assert written[3] > 0
    # And the baseline told of the failures once, and nothing after it
    assert [d.attributes["event_type"] for d in notifier.received()] == ["baseline-summary"]
