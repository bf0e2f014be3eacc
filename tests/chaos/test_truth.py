"""The chaos run's truth: the script's model says what AWS Config (the simulator) answers, tick by
tick, and the timeline is a valid, repeatable script with every fault kind and clean ticks."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from chaos.timeline import FAULT_KINDS, SETTLE_TICKS, build
from chaos.world import PutOrg, SetMember, Truth, World, truths
from sandbox import ConfigSimulator


def read_everything(config: Any, region: str) -> Truth:
    """What a client reading every source and every member account of `region` sees."""
    seen: Truth = {}

    def pages(method: str, key: str, **params: Any) -> list[dict[str, Any]]:
        paginator = config.get_paginator(method)
        return [item for page in paginator.paginate(**params) for item in page[key]]

    for kind, method, key, name_key, status_key, detail, detail_key, member_status in (
        (
            "rule",
            "describe_organization_config_rule_statuses",
            "OrganizationConfigRuleStatuses",
            "OrganizationConfigRuleName",
            "OrganizationRuleStatus",
            "get_organization_config_rule_detailed_status",
            "OrganizationConfigRuleDetailedStatus",
            "MemberAccountRuleStatus",
        ),
        (
            "pack",
            "describe_organization_conformance_pack_statuses",
            "OrganizationConformancePackStatuses",
            "OrganizationConformancePackName",
            "Status",
            "get_organization_conformance_pack_detailed_status",
            "OrganizationConformancePackDetailedStatuses",
            "Status",
        ),
    ):
        for item in pages(method, key):
            name = item[name_key]
            seen[(region, f"organization-{kind}", name, "")] = (
                item[status_key],
                item.get("ErrorCode"),
            )
            for member in pages(detail, detail_key, **{name_key: name}):
                seen[(region, f"organization-{kind}-member", name, member["AccountId"])] = (
                    member[member_status],
                    member.get("ErrorCode"),
                )
    for pack in pages("describe_conformance_pack_status", "ConformancePackStatusDetails"):
        seen[(region, "account-pack", pack["ConformancePackName"], "")] = (
            pack["ConformancePackState"],
            None,
        )
    return seen


def test_the_model_is_what_the_simulator_answers_at_every_tick(sandbox_env, config_sim):
    # Given a 30-tick script (no faults are applied here)
    timeline = build(40, seed=3)
    clients = {r: boto3.client("config", region_name=r) for r in timeline.regions}
    world = World()
    for tick in timeline.ticks[:30]:
        # When its changes drive the simulator and the model
        for event in tick.events:
            event.drive(config_sim)
            event.apply(world)
        # Then every status and error code a client can read is the model's, and nothing else
        seen: Truth = {}
        for region, config in clients.items():
            seen.update(read_everything(config, region))
        assert seen == world.observe(), tick.index
        assert world.differences(config_sim.dump_state()) == []


def test_a_change_the_simulator_did_not_get_is_a_difference(config_sim: ConfigSimulator):
    # Given a model and a simulator that both hold one pack
    world = World()
    for event in (PutOrg("us-east-1", "pack", "ops", "CREATE_SUCCESSFUL", accounts=()),):
        event.drive(config_sim)
        event.apply(world)
    assert world.differences(config_sim.dump_state()) == []
    # When only the model hears of an account joining and failing
    world.accounts.add("200000000001")
    SetMember("us-east-1", "pack", "ops", "200000000001", "CREATE_FAILED", "E").apply(world)
    # Then the difference is reported
    problems = world.differences(config_sim.dump_state())
    assert any("accounts" in p for p in problems)
    assert any("pack ops" in p for p in problems)


def test_truths_are_the_state_at_each_tick_boundary():
    # Given a pack created, failing in one account, then fixed
    ticks = [
        [PutOrg("us-east-1", "pack", "ops", "CREATE_SUCCESSFUL", accounts=())],
        [],
        [PutOrg("us-east-1", "pack", "ops", "UPDATE_FAILED", error_code="E")],
    ]
    # When the truth is derived
    states = truths(ticks)
    # Then each tick has the state after its own changes and every earlier one
    key = ("us-east-1", "organization-pack", "ops", "")
    assert [s[key] for s in states] == [
        ("CREATE_SUCCESSFUL", None),
        ("CREATE_SUCCESSFUL", None),
        ("UPDATE_SUCCESSFUL", None),  # no member account: nothing failed
    ]


@pytest.mark.parametrize(("ticks", "quick"), [(40, True), (240, False)])
def test_a_timeline_is_repeatable_valid_and_has_every_fault_kind(ticks, quick):
    # Given a timeline built twice from the same seed
    first, second = build(ticks, seed=5, quick=quick), build(ticks, seed=5, quick=quick)
    # Then it is the same script
    assert first == second
    # And every scripted change is valid when it happens (the model applies each one)
    world = World()
    for tick in first.ticks:
        for event in tick.events:
            assert event.valid(world), (tick.index, event)
            event.apply(world)
    # And every fault kind has a window, with fault-free ticks at the end
    assert {f.kind for t in first.ticks for f in t.faults} == set(FAULT_KINDS)
    assert all(not t.faults for t in first.ticks[-SETTLE_TICKS:])
    # And something changes in most ticks, with a few dozen accounts in two regions
    assert sum(1 for t in first.ticks if t.events) > 0.8 * ticks
    assert 25 <= len(world.accounts) <= 40
    assert set(world.regions) == set(first.regions) == {"us-east-1", "eu-west-1"}
