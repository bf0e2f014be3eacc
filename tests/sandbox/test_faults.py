"""Fault injection and call counters: what the notifier's resilience tests lean on."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.support import (
    ACCOUNT_PACKS,
    DESCRIBE_PACKS,
    ORGANIZATION_OPS,
    PACK_DETAIL,
    Op,
    Wire,
    outcomes,
)


def test_latency_is_added_in_the_faulty_region_only(make_client, config_sim):
    # Given 300 ms of latency in eu-west-1
    config_sim.set_fault(region="eu-west-1", latency_ms=300)
    eu, us = make_client("eu-west-1"), make_client("us-east-1")
    # When each region is called
    started = time.monotonic()
    DESCRIBE_PACKS.call(eu)
    eu_seconds = time.monotonic() - started
    started = time.monotonic()
    DESCRIBE_PACKS.call(us)
    us_seconds = time.monotonic() - started
    # Then only eu-west-1 is slow
    assert eu_seconds >= 0.3
    assert us_seconds < 0.2


def test_always_throttled_fails_after_botocores_retries_and_counts_each_attempt(
    make_client, config_sim, wire: Wire
):
    # Given eu-west-1 throttles every call, and a client allowed 2 attempts in all
    # (botocore's `max_attempts` counts retries after the first; `total_max_attempts` all of them)
    config_sim.set_fault(region="eu-west-1", throttle_rate=1.0)
    client = make_client("eu-west-1", retries={"mode": "standard", "total_max_attempts": 2})
    # When it calls
    with pytest.raises(ClientError) as raised:
        DESCRIBE_PACKS.call(client)
    # Then it gives up with ThrottlingException ("Rate exceeded", a 400 as Config sends it)
    error = raised.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ThrottlingException", "Rate exceeded")
    assert [e.status for e in wire.exchanges] == [400, 400]
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    # And both attempts were counted
    assert config_sim.calls() == {(DESCRIBE_PACKS.name, "eu-west-1"): 2}


def test_a_partial_throttle_rate_repeats_the_same_sequence(make_client, config_sim):
    # Given half the calls throttled, and a client that does not retry
    client = make_client(retries={"mode": "standard", "total_max_attempts": 1})

    def draw() -> list[str]:
        config_sim.clear_faults()  # the draw starts again from its seed
        config_sim.set_fault(throttle_rate=0.5)
        return outcomes(lambda _: DESCRIBE_PACKS.call(client))

    # When the same 20 calls are made twice
    first, second = draw(), draw()
    # Then both runs see the same mix of throttled and answered calls
    assert first == second
    assert set(first) == {"ok", "ThrottlingException"}


@pytest.mark.parametrize("op", ORGANIZATION_OPS, ids=str)
def test_access_denied_in_one_region_leaves_the_others_working(op: Op, make_client, config_sim):
    # Given access is denied in eu-west-1 and the operation has something to read everywhere
    for region in ("eu-west-1", "us-east-1"):
        op.populate(config_sim, region, 1)
    config_sim.set_fault(region="eu-west-1", access_denied=True)
    eu, us = make_client("eu-west-1"), make_client("us-east-1")
    # When both regions are called
    # Then eu-west-1 refuses as Config refuses organization calls, and us-east-1 answers
    with pytest.raises(eu.exceptions.OrganizationAccessDeniedException):
        op.call(eu)
    assert len(op.call(us)[op.result_key]) == 1


def test_access_denied_to_account_packs_is_an_access_denied_exception(make_client, config_sim):
    # Given access is denied in eu-west-1
    config_sim.set_fault(region="eu-west-1", access_denied=True)
    client = make_client("eu-west-1")
    # When the account's own packs are described
    with pytest.raises(ClientError) as raised:
        ACCOUNT_PACKS.call(client)
    # Then it is the IAM-style refusal, naming the action
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "config:DescribeConformancePackStatus" in str(raised.value)


def test_a_fault_on_one_operation_spares_the_others(make_client, config_sim):
    # Given only the pack detail is throttled, and a client that does not retry
    config_sim.set_fault(operation=PACK_DETAIL.name, throttle_rate=1.0)
    PACK_DETAIL.populate(config_sim, "us-east-1", 1)
    client = make_client(retries={"mode": "standard", "total_max_attempts": 1})
    # When the list and the detail are read
    listed = DESCRIBE_PACKS.call(client)
    # Then the list answers and the detail is throttled
    assert len(listed[DESCRIBE_PACKS.result_key]) == 1
    with pytest.raises(ClientError, match="ThrottlingException"):
        PACK_DETAIL.call(client)


def test_clear_faults_restores_normal_service(config, config_sim):
    # Given access denied everywhere
    config_sim.set_fault(access_denied=True)
    with pytest.raises(config.exceptions.OrganizationAccessDeniedException):
        DESCRIBE_PACKS.call(config)
    # When the faults are cleared
    config_sim.clear_faults()
    # Then calls answer again
    assert DESCRIBE_PACKS.call(config)[DESCRIBE_PACKS.result_key] == []


def test_counters_count_per_operation_and_region_errors_included(make_client, config_sim):
    # Given calls of two operations in two regions, one of them failing
    us, eu = make_client("us-east-1"), make_client("eu-west-1")
    DESCRIBE_PACKS.call(us)
    DESCRIBE_PACKS.call(us)
    ACCOUNT_PACKS.call(eu)
    with pytest.raises(ClientError):
        DESCRIBE_PACKS.call(eu, Limit=101)
    # When the counters are read
    # Then each (operation, region) has its own count, and filters add them up
    assert config_sim.calls() == {
        (DESCRIBE_PACKS.name, "us-east-1"): 2,
        (DESCRIBE_PACKS.name, "eu-west-1"): 1,
        (ACCOUNT_PACKS.name, "eu-west-1"): 1,
    }
    assert config_sim.call_count() == 4
    assert config_sim.call_count(operation=DESCRIBE_PACKS.name) == 3
    assert config_sim.call_count(region="eu-west-1") == 2
    # When they are reset
    config_sim.reset_calls()
    # Then they start from zero
    assert config_sim.calls() == {}
    assert config_sim.call_count() == 0


def test_fault_rules_refuse_impossible_values(config_sim):
    # Given the simulator
    # When a rule asks for a rate above 1 or a negative latency
    # Then it is refused at once
    with pytest.raises(ValueError, match="throttle_rate"):
        config_sim.set_fault(throttle_rate=1.5)
    with pytest.raises(ValueError, match="latency_ms"):
        config_sim.set_fault(latency_ms=-1)
    assert config_sim.fault_rules() == []
