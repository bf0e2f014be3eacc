"""A misbehaving service: a NextToken that repeats forever, empty pages that carry a token,
answers without the members the model calls optional, and Filters it ignores. The notifier's bad-input tests lean on
these; here they are checked against boto3 itself."""

from __future__ import annotations

import pytest

from sandbox.config_sim import FaultRule
from tests.sandbox.support import (
    ACCOUNT_PACKS,
    DESCRIBE_PACKS,
    DESCRIBE_RULES,
    DETAIL_OPS,
    PACK_DETAIL,
    RULE_DETAIL,
    Op,
    account,
    output_problems,
)

LISTINGS = (DESCRIBE_RULES, PACK_DETAIL, ACCOUNT_PACKS)


@pytest.mark.parametrize("op", LISTINGS, ids=str)
def test_a_token_loop_answers_the_same_token_forever(op: Op, config, config_sim):
    # Given a listing that fits in one page, and a service that loops its NextToken
    op.populate(config_sim, "us-east-1", 3)
    config_sim.set_fault(operation=op.name, token_loop=True)
    # When a client follows the token a few times
    first = op.call(config)
    second = op.call(config, NextToken=first["NextToken"])
    third = op.call(config, NextToken=second["NextToken"])
    # Then every page is the first page again, with the same token
    assert first["NextToken"] == second["NextToken"] == third["NextToken"]
    assert op.keys(first) == op.keys(second) == op.keys(third)
    assert len(op.keys(first)) == 3


def test_a_token_loop_spares_other_regions_and_named_lookups(make_client, config_sim):
    # Given a token loop on the pack listing in eu-west-1 only
    for region in ("us-east-1", "eu-west-1"):
        DESCRIBE_PACKS.populate(config_sim, region, 2)
    config_sim.set_fault(region="eu-west-1", operation=DESCRIBE_PACKS.name, token_loop=True)
    us, eu = make_client("us-east-1"), make_client("eu-west-1")
    # When both regions are listed, and eu-west-1 is asked by name
    # Then us-east-1 ends, and a named lookup (never paged) has no token to loop
    assert "NextToken" not in DESCRIBE_PACKS.call(us)
    assert "NextToken" in DESCRIBE_PACKS.call(eu)
    named = DESCRIBE_PACKS.call(eu, **DESCRIBE_PACKS.named(["pack-00000"]))
    assert "NextToken" not in named
    assert DESCRIBE_PACKS.keys(named) == ["pack-00000"]


@pytest.mark.parametrize("op", LISTINGS, ids=str)
def test_empty_pages_carry_tokens_before_the_data(op: Op, config, config_sim, wire):
    # Given a listing of 250 items (several pages), preceded by 3 empty pages
    op.populate(config_sim, "us-east-1", 250)
    config_sim.set_fault(operation=op.name, empty_pages=3)
    # When botocore's paginator walks it
    pages = list(config.get_paginator(op.method).paginate(**op.fixed))
    # Then the first three pages are empty but carry a token, and every item still comes once
    assert [len(op.keys(p)) for p in pages[:3]] == [0, 0, 0]
    assert all("NextToken" in p for p in pages[:3])
    keys = [key for page in pages for key in op.keys(page)]
    assert keys == sorted(set(keys))
    assert len(keys) == 250
    # And every raw answer, empty ones included, is valid for the output shape
    for body in wire.bodies(op.name):
        assert output_problems(op.name, body) == []


def test_omitted_fields_leave_out_error_and_time_but_keep_the_rest(config, config_sim, wire):
    # Given a member failing with an error, and a service that leaves out optional members
    config_sim.add_accounts([account(1)])
    us = config_sim.region("us-east-1")
    us.put_org_pack("ops", status="CREATE_FAILED", error_code="E1", error_message="broken")
    config_sim.set_fault(omit_fields=["ErrorCode", "ErrorMessage", "LastUpdateTime"])
    # When the member and the organization-level status are read
    detail = PACK_DETAIL.call(config, OrganizationConformancePackName="ops")
    listed = DESCRIBE_PACKS.call(config)
    # Then the status is there and the optional members are not
    [member] = detail[PACK_DETAIL.result_key]
    [pack] = listed[DESCRIBE_PACKS.result_key]
    assert member["Status"] == pack["Status"] == "CREATE_FAILED"
    for item in (member, pack):
        assert not {"ErrorCode", "ErrorMessage", "LastUpdateTime"} & set(item)
    # And the raw answers still satisfy the output shapes (none of those members is required)
    assert output_problems(PACK_DETAIL.name, wire.bodies(PACK_DETAIL.name)[0]) == []


@pytest.mark.parametrize("op", DETAIL_OPS, ids=str)
def test_ignored_filters_answer_every_member_page_by_page(op: Op, config, config_sim):
    # Given 150 members, one of them failing, and a service that ignores Filters
    op.populate(config_sim, "us-east-1", 150)
    kind, name = ("rule", "detail-rule") if op is DETAIL_OPS[0] else ("pack", "detail-pack")
    config_sim.region("us-east-1").set_member_status(kind, name, account(7), "CREATE_FAILED")
    assert op.status_filter is not None
    failed = {op.status_filter: "CREATE_FAILED"}
    assert op.keys(op.call(config, Filters=failed)) == [account(7)]
    config_sim.set_fault(operation=op.name, ignore_filters=True)
    # When the failing members, then one account, are asked for through Filters
    first = op.call(config, Filters=failed)
    second = op.call(config, Filters=failed, NextToken=first["NextToken"])
    alone = op.call(config, Filters={"AccountId": account(3)})
    # Then every member comes back, over the pages an unfiltered listing takes
    assert op.keys(first) + op.keys(second) == [account(i) for i in range(150)]
    assert "NextToken" not in second
    assert len(op.keys(alone)) == 100


def test_the_new_fault_kinds_round_trip_through_the_control_api(config_sim):
    # Given rules with the new kinds, as JSON documents (what PUT /_sim/faults receives)
    docs = [
        {"operation": PACK_DETAIL.name, "token_loop": True},
        {"region": "eu-west-1", "empty_pages": 2, "omit_fields": ["ErrorCode"]},
        {"operation": RULE_DETAIL.name, "ignore_filters": True},
    ]
    # When they are loaded and listed again
    config_sim.set_faults([FaultRule.from_doc(doc) for doc in docs])
    listed = [rule.to_doc() for rule in config_sim.fault_rules()]
    # Then nothing is lost on the way
    assert listed[0]["token_loop"] is True
    assert (listed[1]["empty_pages"], list(listed[1]["omit_fields"])) == (2, ["ErrorCode"])
    assert listed[2]["ignore_filters"] is True


def test_the_new_fault_kinds_refuse_impossible_values(config_sim):
    # Given the simulator
    # When a rule asks for negative empty pages, or names one member as a bare string
    # Then it is refused at once
    with pytest.raises(ValueError, match="empty_pages"):
        config_sim.set_fault(empty_pages=-1)
    with pytest.raises(ValueError, match="omit_fields"):
        FaultRule(omit_fields="ErrorCode")  # type: ignore[arg-type]
    assert config_sim.fault_rules() == []
