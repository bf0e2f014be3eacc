"""A small S1, S2, S3 and S5 of the benchmark: a regression in the work a run does fails CI.

The notifier reaches moto through the fault proxy (no faults), which counts its DynamoDB requests.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.scenarios import Shape, pack_name
from config_notifier.read import UNHEALTHY_STATUSES
from sandbox.fault_proxy import FaultProxy
from sandbox.notifier import Notifier
from tests.integration.test_notifier_runs import FAILING
from tests.integration.test_reminders import DAY, T0, digests, failing_since_t0

SHAPE = Shape(accounts=201, regions=("us-east-1",), org_rules=101, org_packs=10, account_packs=21)
DETAIL_OPS = (
    "GetOrganizationConformancePackDetailedStatus",
    "GetOrganizationConfigRuleDetailedStatus",
)


@pytest.fixture
def notifier(
    make_notifier: Callable[..., Notifier], fault_proxy: FaultProxy, event_bus: str
) -> Notifier:
    """A freshly deployed notifier whose DynamoDB requests pass the fault proxy, with no faults."""
    fault_proxy.clear_faults()
    return make_notifier(fault_proxy.url, EVENT_BUS_NAME=event_bus)


def dynamodb_requests(proxy: FaultProxy, notifier: Notifier, **run: Any) -> Counter[str]:
    """The DynamoDB requests of one run, by operation."""
    proxy.record()
    try:
        notifier.run(**run)
        return Counter(r.operation for r in proxy.recorded("dynamodb"))
    finally:
        proxy.record(False)


def steady(notifier, config_sim) -> None:
    config_sim.load_state(SHAPE.state())
    notifier.run(REGIONS="us-east-1")
    notifier.received()
    config_sim.reset_calls()


def test_a_steady_run_makes_only_the_list_calls_and_writes_nothing(
    notifier, config_sim, fault_proxy
) -> None:
    # Given a baselined organization where nothing changes
    steady(notifier, config_sim)
    # When the notifier runs
    fault_proxy.record()
    summary = notifier.run(REGIONS="us-east-1")
    dynamodb = Counter(r.operation for r in fault_proxy.recorded("dynamodb"))
    fault_proxy.record(False)
    # Then it reads each list page once (2 rule pages, 1 pack page, 2 account-pack pages) and nothing else
    assert config_sim.call_count() == SHAPE.min_list_calls() == 5
    assert sum(config_sim.call_count(operation=op) for op in DETAIL_OPS) == 0
    # and its snapshot with one query, nothing else (no reminder is due: nothing is broken)
    assert dynamodb == {"Query": 1}
    assert summary["records_written"] == summary["records_deleted"] == 0
    assert summary["messages_published"] == 0


# A run while the pack fails in both regions: it queries each region's records and the pack's
# members, and writes nothing (its member accounts are read at every run while it fails, so the
# time they were read is not written again: docs/design.md rule 7).
FAILING_RUN = {"Query": 4}


def test_reminders_cost_no_dynamodb_request_until_a_digest_is_due(
    notifier, config_sim, fault_proxy
):
    # Given a pack failing in 3 accounts in both regions since T0
    failing_since_t0(notifier, config_sim)
    # When runs come before a reminder is due, with reminders on and then off
    on = dynamodb_requests(fault_proxy, notifier, now=T0 + timedelta(hours=23))
    off = dynamodb_requests(
        fault_proxy, notifier, now=T0 + timedelta(hours=23, minutes=5), REMINDER_HOURS="0"
    )
    # Then both make the same requests, those of any run while the pack fails
    assert on == off == FAILING_RUN
    # When the digest goes out a day after the failure
    digest_run = dynamodb_requests(fault_proxy, notifier, now=T0 + DAY)
    # Then that run reads the committed snapshot again and keeps the marker in each region
    assert len(digests(notifier)) == 1
    assert digest_run["Query"] > FAILING_RUN["Query"]
    assert digest_run["PutItem"] >= 2
    # When runs come an hour later, with reminders on and then off
    on = dynamodb_requests(fault_proxy, notifier, now=T0 + DAY + timedelta(hours=1))
    off = dynamodb_requests(
        fault_proxy, notifier, now=T0 + DAY + timedelta(hours=1, minutes=5), REMINDER_HOURS="0"
    )
    # Then again reminders cost nothing
    assert on == off == FAILING_RUN
    assert digests(notifier) == []


def test_a_pack_failing_only_where_muted_is_looked_at_once_per_interval(
    notifier, config_sim, fault_proxy
) -> None:
    # Given a pack failing since T0 in 3 accounts, each muted
    mutes = json.dumps([{"account": a} for a in FAILING])
    failing_since_t0(notifier, config_sim, MUTES=mutes)
    # When a run a day later looks for a digest, and finds only muted accounts
    looked = dynamodb_requests(fault_proxy, notifier, now=T0 + DAY, MUTES=mutes)
    assert looked["Query"] > FAILING_RUN["Query"]
    # Then it sends nothing, and the runs after it within the day read nothing more
    assert digests(notifier) == []
    for hours in (1, 23):
        later = T0 + DAY + timedelta(hours=hours)
        assert dynamodb_requests(fault_proxy, notifier, now=later, MUTES=mutes) == FAILING_RUN
    assert digests(notifier) == []


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
    # the daily reconcile of every rule and pack (reminders off: test_reminders.py has them)
    calls, written = [], []
    for now in (None, None, None, datetime.now(UTC) + timedelta(days=2)):
        config_sim.reset_calls()
        summary = notifier.run(REGIONS="us-east-1", now=now, REMINDER_HOURS="0")
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
