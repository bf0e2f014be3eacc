"""botocore's paginators walk every listing to its end, and NextToken is refused whenever AWS
would refuse it: forged, stale, or from another request."""

from __future__ import annotations

import base64
import math

import pytest

from tests.sandbox.support import (
    ACCOUNT_PACKS,
    ALL_OPS,
    DESCRIBE_PACKS,
    DESCRIBE_RULES,
    PACK_DETAIL,
    RULE_DETAIL,
    Op,
    Wire,
    account,
    output_problems,
)


@pytest.mark.parametrize("n", [0, 1, 100, 101, 2500])
@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_a_paginator_returns_every_item_once_in_order(op: Op, n: int, config, config_sim, wire):
    # Given n items
    op.populate(config_sim, "us-east-1", n)
    page_size = op.max_limit  # 100; DescribeConformancePackStatus allows 20 at most
    # When botocore's paginator walks the listing at the largest page
    paginator = config.get_paginator(op.method)
    pages = list(paginator.paginate(**op.fixed, PaginationConfig={"PageSize": page_size}))
    # Then every item comes back exactly once, in the listing's stable order
    keys = [key for page in pages for key in op.keys(page)]
    assert len(keys) == n
    assert keys == sorted(set(keys))
    # And the pages are full until the last, which alone has no NextToken
    assert len(pages) == max(1, math.ceil(n / page_size))
    assert all(len(page[op.result_key]) == page_size for page in pages[:-1])
    assert ["NextToken" in page for page in pages] == [True] * (len(pages) - 1) + [False]
    # And every raw body holds only what the output shape allows, with known status values
    bodies = wire.bodies(op.name)
    assert len(bodies) == len(pages)
    for body in bodies:
        assert output_problems(op.name, body) == []


def test_the_token_is_a_cursor_so_changes_between_pages_skip_nothing(config, config_sim):
    # Given five rules, listed two to a page
    region = config_sim.region("us-east-1")
    for name in ("rule-a", "rule-b", "rule-c", "rule-d", "rule-e"):
        region.put_org_rule(name)
    first = config.describe_organization_config_rule_statuses(Limit=2)
    # When a rule already returned is deleted, and one sorting before the cursor is added
    region.delete_org_rule("rule-a")
    region.put_org_rule("rule-0")
    rest = config.describe_organization_config_rule_statuses(Limit=10, NextToken=first["NextToken"])
    # Then the listing goes on right after the last rule it returned: nothing skipped or repeated
    assert DESCRIBE_RULES.keys(first) == ["rule-a", "rule-b"]
    assert DESCRIBE_RULES.keys(rest) == ["rule-c", "rule-d", "rule-e"]


def _flip_last_byte(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[-1] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: "garbage",
        lambda token: "%%% not base64 %%%",
        lambda token: base64.urlsafe_b64encode(b"\x00" * 64).decode(),
        lambda token: token[:-8],
        _flip_last_byte,
    ],
    ids=["word", "not-base64", "zeros", "truncated", "tampered"],
)
@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_a_forged_token_is_invalid(op: Op, forge, config, config_sim):
    # Given a listing with a second page and a genuine token for it
    op.populate(config_sim, "us-east-1", 3)
    token = op.call(config, Limit=1)["NextToken"]
    # When the token is forged
    with pytest.raises(config.exceptions.InvalidNextTokenException):
        op.call(config, Limit=1, NextToken=forge(token))


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_a_token_older_than_an_hour_is_invalid(op: Op, make_client, clocked_sim, clock):
    # Given a simulator on a clock the test moves, and a token from it
    op.populate(clocked_sim, "us-east-1", 3)
    client = make_client()
    token = op.call(client, Limit=1)["NextToken"]
    # When it is used just inside the hour, it still works
    clock.advance(minutes=59)
    assert len(op.call(client, Limit=1, NextToken=token)[op.result_key]) == 1
    # When it is used after the hour
    clock.advance(minutes=2)
    # Then it is stale
    with pytest.raises(client.exceptions.InvalidNextTokenException) as raised:
        op.call(client, Limit=1, NextToken=token)
    assert "expired" in str(raised.value)


def test_expire_tokens_makes_every_earlier_token_stale(config, config_sim):
    # Given a token
    DESCRIBE_PACKS.populate(config_sim, "us-east-1", 3)
    token = DESCRIBE_PACKS.call(config, Limit=1)["NextToken"]
    # When the simulator expires tokens
    config_sim.expire_tokens()
    # Then the earlier token is refused, and a new one works
    with pytest.raises(config.exceptions.InvalidNextTokenException):
        DESCRIBE_PACKS.call(config, Limit=1, NextToken=token)
    fresh = DESCRIBE_PACKS.call(config, Limit=1)["NextToken"]
    assert DESCRIBE_PACKS.keys(DESCRIBE_PACKS.call(config, NextToken=fresh)) == [
        "pack-00001",
        "pack-00002",
    ]


def test_a_token_from_another_operation_is_invalid(config, config_sim):
    # Given a token from the rules listing
    DESCRIBE_RULES.populate(config_sim, "us-east-1", 3)
    DESCRIBE_PACKS.populate(config_sim, "us-east-1", 3)
    token = DESCRIBE_RULES.call(config, Limit=1)["NextToken"]
    # When it is used to list packs
    # Then it is refused as belonging to another request
    with pytest.raises(config.exceptions.InvalidNextTokenException) as raised:
        DESCRIBE_PACKS.call(config, Limit=1, NextToken=token)
    assert "different request" in str(raised.value)


def test_a_token_from_another_region_is_invalid(make_client, config_sim):
    # Given the same packs in two regions, and a token from us-east-1
    for region in ("us-east-1", "eu-west-1"):
        DESCRIBE_PACKS.populate(config_sim, region, 3)
    token = DESCRIBE_PACKS.call(make_client("us-east-1"), Limit=1)["NextToken"]
    eu = make_client("eu-west-1")
    # When it is used in eu-west-1
    with pytest.raises(eu.exceptions.InvalidNextTokenException):
        DESCRIBE_PACKS.call(eu, Limit=1, NextToken=token)


def test_a_token_from_another_caller_is_invalid(make_client, config_sim):
    # Given two access keys of the management account, and a token earned by the first
    ACCOUNT_PACKS.populate(config_sim, "us-east-1", 3)
    token = ACCOUNT_PACKS.call(make_client(access_key_id="AKIAFIRST"), Limit=1)["NextToken"]
    second = make_client(access_key_id="AKIASECOND")
    # When the second key uses it
    with pytest.raises(second.exceptions.InvalidNextTokenException):
        ACCOUNT_PACKS.call(second, Limit=1, NextToken=token)


@pytest.mark.parametrize(("op", "kind"), [(RULE_DETAIL, "rule"), (PACK_DETAIL, "pack")], ids=str)
def test_a_token_from_another_rule_or_pack_is_invalid(op: Op, kind, config, config_sim):
    # Given two rules (or packs) deployed to the same accounts, and a token from the first
    op.populate(config_sim, "us-east-1", 3)
    region = config_sim.region("us-east-1")
    (region.put_org_rule if kind == "rule" else region.put_org_pack)("other-one")
    token = op.call(config, Limit=1)["NextToken"]
    name_param = next(iter(op.fixed))
    # When it is used for the second
    with pytest.raises(config.exceptions.InvalidNextTokenException):
        op.call(config, **{name_param: "other-one"}, Limit=1, NextToken=token)


@pytest.mark.parametrize("op", [RULE_DETAIL, PACK_DETAIL], ids=str)
def test_a_token_from_another_filter_set_is_invalid(op: Op, config, config_sim):
    # Given a token earned with a status filter
    op.populate(config_sim, "us-east-1", 3)
    token = op.call(config, Limit=1, Filters={op.status_filter: "CREATE_SUCCESSFUL"})["NextToken"]
    # When it is used without the filter, or with another account filter
    for filters in ({}, {"AccountId": account(1)}):
        with pytest.raises(config.exceptions.InvalidNextTokenException):
            op.call(config, Limit=1, NextToken=token, Filters=filters)
    # And with the same filter it still works
    page = op.call(
        config, Limit=1, NextToken=token, Filters={op.status_filter: "CREATE_SUCCESSFUL"}
    )
    assert op.keys(page) == [account(1)]


def test_a_token_from_another_type_filter_is_invalid(config, config_sim):
    # Given a token earned while listing custom packs only
    ACCOUNT_PACKS.populate(config_sim, "us-east-1", 3)
    token = ACCOUNT_PACKS.call(config, Limit=1, Filters={"Types": ["CUSTOM"]})["NextToken"]
    # When it is used without the filter
    with pytest.raises(config.exceptions.InvalidNextTokenException):
        ACCOUNT_PACKS.call(config, Limit=1, NextToken=token)


def test_the_last_page_of_a_listing_that_shrank_has_no_token(config, config_sim, wire: Wire):
    # Given three packs and a token after the first
    DESCRIBE_PACKS.populate(config_sim, "us-east-1", 3)
    token = DESCRIBE_PACKS.call(config, Limit=1)["NextToken"]
    # When the rest is deleted before the next page is read
    for name in ("pack-00001", "pack-00002"):
        config_sim.region("us-east-1").delete_org_pack(name)
    page = DESCRIBE_PACKS.call(config, Limit=1, NextToken=token)
    # Then the listing simply ends
    assert page[DESCRIBE_PACKS.result_key] == []
    assert "NextToken" not in wire.exchanges[-1].body
