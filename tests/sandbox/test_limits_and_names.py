"""Limit, names and filters behave as the API reference says, for each of the five operations."""

from __future__ import annotations

import pytest

from tests.sandbox.support import (
    ACCOUNT_PACKS,
    ALL_OPS,
    DESCRIBE_PACKS,
    DESCRIBE_RULES,
    DETAIL_OPS,
    NAMED_OPS,
    PACK_DETAIL,
    RULE_DETAIL,
    Op,
    Wire,
    account,
)


def error_code(raised: pytest.ExceptionInfo[Exception]) -> str:
    return raised.value.response["Error"]["Code"]  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
@pytest.mark.parametrize("limit", [None, 0])
def test_an_absent_or_zero_limit_means_the_default_page(op: Op, limit, config, config_sim):
    # Given one item more than the default page
    op.populate(config_sim, "us-east-1", op.max_limit + 1)
    # When the operation is called without a limit, or with 0
    answer = op.call(config) if limit is None else op.call(config, Limit=limit)
    # Then a default page (100, or 20 for DescribeConformancePackStatus) comes back, and a token
    assert len(answer[op.result_key]) == op.max_limit
    assert "NextToken" in answer


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_a_limit_at_the_maximum_is_a_full_page(op: Op, config, config_sim):
    # Given more items than the maximum page
    op.populate(config_sim, "us-east-1", op.max_limit + 5)
    # When the maximum is asked for, and then 1
    full = op.call(config, Limit=op.max_limit)
    one = op.call(config, Limit=1)
    # Then exactly that many come back
    assert len(full[op.result_key]) == op.max_limit
    assert len(one[op.result_key]) == 1


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_a_limit_above_the_maximum_is_an_invalid_limit(op: Op, config, config_sim):
    # Given an operation whose maximum page is 100 (20 for DescribeConformancePackStatus)
    op.populate(config_sim, "us-east-1", 1)
    # When one more is asked for
    with pytest.raises(config.exceptions.InvalidLimitException) as raised:
        op.call(config, Limit=op.max_limit + 1)
    # Then Config's error says what the bound is
    assert f"less than or equal to {op.max_limit}" in str(raised.value)


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_a_negative_limit_is_an_invalid_limit(op: Op, make_client, config_sim):
    # Given a client that does not check parameters itself (botocore refuses < 0 client-side)
    op.populate(config_sim, "us-east-1", 1)
    client = make_client(parameter_validation=False)
    # When a negative limit reaches the service
    with pytest.raises(client.exceptions.InvalidLimitException) as raised:
        op.call(client, Limit=-1)
    # Then it is refused as out of range
    assert "greater than or equal to 0" in str(raised.value)


def _names(op: Op, n: int) -> list[str]:
    return [f"{'rule' if op is DESCRIBE_RULES else 'pack'}-{i:05d}" for i in range(n)]


@pytest.mark.parametrize("op", NAMED_OPS, ids=str)
def test_25_names_come_back_in_one_answer_without_paging(op: Op, config, config_sim):
    # Given 30 items
    op.populate(config_sim, "us-east-1", 30)
    names = _names(op, 25)
    # When 25 are named, with a limit of 1 and a token that is not even valid
    answer = op.call(config, **op.named(names), Limit=1, NextToken="not-a-token")
    # Then all 25 come back at once: Limit and NextToken do not apply to names
    assert op.keys(answer) == names
    assert "NextToken" not in answer


@pytest.mark.parametrize("op", NAMED_OPS, ids=str)
def test_26_names_are_a_validation_exception(op: Op, config, config_sim):
    # Given 26 existing items (botocore only checks the minimum length client-side)
    op.populate(config_sim, "us-east-1", 26)
    names = _names(op, 26)
    # When all 26 are named
    with pytest.raises(config.exceptions.ClientError) as raised:
        op.call(config, **op.named(names))
    # Then Config's usual validation message names the field and the bound
    assert error_code(raised) == "ValidationException"
    [param] = op.named(names)
    field = param[0].lower() + param[1:]
    assert raised.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '[{', '.join(names)}]' at '{field}' failed to "
        "satisfy constraint: Member must have length less than or equal to 25"
    )


@pytest.mark.parametrize("op", NAMED_OPS, ids=str)
def test_an_unknown_name_is_the_operations_no_such_error(op: Op, config, config_sim):
    # Given one existing item
    op.populate(config_sim, "us-east-1", 1)
    # When it is named together with one that does not exist
    with pytest.raises(getattr(config.exceptions, op.missing_error)) as raised:
        op.call(config, **op.named([*_names(op, 1), "missing-one"]))
    # Then the missing one is named in the error
    assert "missing-one" in str(raised.value)


@pytest.mark.parametrize("op", NAMED_OPS, ids=str)
def test_names_come_back_once_each_in_the_order_asked(op: Op, config, config_sim):
    # Given three items
    op.populate(config_sim, "us-east-1", 3)
    first, _, third = _names(op, 3)
    # When they are named out of order, one twice
    answer = op.call(config, **op.named([third, first, third]))
    # Then each comes back once, in that order
    assert op.keys(answer) == [third, first]


@pytest.mark.parametrize("op", DETAIL_OPS, ids=str)
def test_detail_of_an_unknown_rule_or_pack_is_the_no_such_error(op: Op, config, config_sim):
    # Given an organization without it
    # When its detail is asked for
    name_param = next(iter(op.fixed))
    with pytest.raises(getattr(config.exceptions, op.missing_error)):
        op.call(config, **{name_param: "absent"})


@pytest.mark.parametrize("op", DETAIL_OPS, ids=str)
def test_detail_without_a_name_is_a_validation_exception(op: Op, make_client, config_sim):
    # Given a client that does not check required parameters itself
    client = make_client(parameter_validation=False)
    # When the name is left out
    with pytest.raises(client.exceptions.ClientError) as raised:
        getattr(client, op.method)()
    # Then Config says which member must not be null
    assert error_code(raised) == "ValidationException"
    field = next(iter(op.fixed))
    assert f"Value null at '{field[0].lower()}{field[1:]}'" in str(raised.value)


@pytest.mark.parametrize("op", DETAIL_OPS, ids=str)
def test_detail_filters_by_account_and_status_before_paging(op: Op, config, config_sim, wire: Wire):
    # Given 10 member accounts, of which 4 failed
    op.populate(config_sim, "us-east-1", 10)
    kind, name = ("rule", "detail-rule") if op is RULE_DETAIL else ("pack", "detail-pack")
    failed = [account(i) for i in (1, 4, 6, 9)]
    for account_id in failed:
        config_sim.region("us-east-1").set_member_status(kind, name, account_id, "CREATE_FAILED")
    status_filter = {op.status_filter: "CREATE_FAILED"}
    # When the failed ones are asked for, 3 to a page
    pages = list(
        config.get_paginator(op.method).paginate(
            **op.fixed, Filters=status_filter, PaginationConfig={"PageSize": 3}
        )
    )
    # Then pages hold only failed members, full until the last
    assert [op.keys(page) for page in pages] == [failed[:3], failed[3:]]
    # And an account filter gives that account alone, combined filters their intersection
    assert op.keys(op.call(config, Filters={"AccountId": account(4)})) == [account(4)]
    both = {"AccountId": account(5), **status_filter}
    assert op.keys(op.call(config, Filters=both)) == []


@pytest.mark.parametrize("op", DETAIL_OPS, ids=str)
def test_detail_filters_are_validated_like_config_does(op: Op, config, config_sim):
    # Given a rule or pack
    op.populate(config_sim, "us-east-1", 1)
    # When the filters hold an account id that is not 12 digits and an unknown status
    with pytest.raises(config.exceptions.ClientError) as raised:
        op.call(config, Filters={"AccountId": "12345", op.status_filter: "BROKEN"})
    # Then both problems are listed in one ValidationException
    assert error_code(raised) == "ValidationException"
    message = raised.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: ")
    assert "Value '12345' at 'filters.accountId'" in message
    assert "Member must satisfy enum value set" in message


def test_account_packs_filter_by_type(config, config_sim):
    # Given a custom pack and a managed one
    region = config_sim.region("us-east-1")
    region.put_account_pack("custom-pack")
    region.put_account_pack("managed-pack", pack_type="MANAGED")
    # When each type is asked for, and both
    managed = ACCOUNT_PACKS.call(config, Filters={"Types": ["MANAGED"]})
    custom = ACCOUNT_PACKS.call(config, Filters={"Types": ["CUSTOM"]})
    both = ACCOUNT_PACKS.call(config, Filters={"Types": ["CUSTOM", "MANAGED"]})
    # Then each answer holds that type only, and its Type says so
    assert [(p["ConformancePackName"], p["Type"]) for p in managed[ACCOUNT_PACKS.result_key]] == [
        ("managed-pack", "MANAGED")
    ]
    assert ACCOUNT_PACKS.keys(custom) == ["custom-pack"]
    assert ACCOUNT_PACKS.keys(both) == ["custom-pack", "managed-pack"]


def test_describe_organization_packs_in_an_empty_region_is_empty(config):
    # Given a region where nothing was ever deployed
    # When its packs are listed
    answer = DESCRIBE_PACKS.call(config)
    # Then the list is there and empty, with no token
    assert answer[DESCRIBE_PACKS.result_key] == []
    assert "NextToken" not in answer


def test_pack_detail_needs_a_valid_name_pattern(config, config_sim):
    # Given an existing pack
    PACK_DETAIL.populate(config_sim, "us-east-1", 1)
    # When its name is asked for with characters the model forbids
    with pytest.raises(config.exceptions.ClientError) as raised:
        config.get_organization_conformance_pack_detailed_status(
            OrganizationConformancePackName="detail_pack!"
        )
    # Then Config checks the pattern server-side
    assert error_code(raised) == "ValidationException"
    assert "regular expression pattern" in str(raised.value)
