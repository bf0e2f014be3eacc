"""A small S1 and S2 of the benchmark: a regression in the work a run does fails CI."""

from __future__ import annotations

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
