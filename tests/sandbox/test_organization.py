"""The scripted organization, seen only through boto3: derived statuses, member records, account
packs, member-account callers, and state documents."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import ConfigSimulator
from sandbox.config_sim.errors import ORGANIZATION_ACCESS_DENIED_MESSAGE
from tests.sandbox.support import (
    ACCOUNT_PACKS,
    ALL_OPS,
    DESCRIBE_PACKS,
    DESCRIBE_RULES,
    NAMED_OPS,
    ORGANIZATION_OPS,
    PACK_DETAIL,
    RULE_DETAIL,
    Op,
    account,
    output_problems,
)

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_config.type_defs import (
        OrganizationConfigRuleStatusTypeDef,
        OrganizationConformancePackDetailedStatusTypeDef,
        OrganizationConformancePackStatusTypeDef,
    )

ACCOUNTS = [account(i) for i in range(4)]


def pack_status(
    client: ConfigServiceClient, name: str = "ops-baseline"
) -> OrganizationConformancePackStatusTypeDef:
    answer = client.describe_organization_conformance_pack_statuses(
        OrganizationConformancePackNames=[name]
    )
    [status] = answer["OrganizationConformancePackStatuses"]
    return status


def rule_status(
    client: ConfigServiceClient, name: str = "s3-encryption"
) -> OrganizationConfigRuleStatusTypeDef:
    answer = client.describe_organization_config_rule_statuses(OrganizationConfigRuleNames=[name])
    [status] = answer["OrganizationConfigRuleStatuses"]
    return status


def pack_members(
    client: ConfigServiceClient, name: str = "ops-baseline"
) -> list[OrganizationConformancePackDetailedStatusTypeDef]:
    return client.get_organization_conformance_pack_detailed_status(
        OrganizationConformancePackName=name
    )["OrganizationConformancePackDetailedStatuses"]


@pytest.fixture
def org(config_sim: ConfigSimulator) -> ConfigSimulator:
    """Four member accounts; a pack and a rule deployed to all of them in us-east-1."""
    config_sim.add_accounts(ACCOUNTS)
    config_sim.region("us-east-1").put_org_pack("ops-baseline")
    config_sim.region("us-east-1").put_org_rule("s3-encryption")
    return config_sim


def test_a_deployment_that_succeeded_everywhere_is_create_successful(config, org):
    # Given a pack deployed to every account with success
    # When its statuses are read
    status = pack_status(config)
    members = pack_members(config)
    # Then the organization and each of the four accounts say CREATE_SUCCESSFUL, with no error
    assert status["Status"] == "CREATE_SUCCESSFUL"
    assert "ErrorCode" not in status
    assert [(m["AccountId"], m["Status"]) for m in members] == [
        (a, "CREATE_SUCCESSFUL") for a in ACCOUNTS
    ]


def test_one_failing_member_fails_the_organization_with_its_error(config, org):
    # Given one account still in progress and two failed, with their own errors
    region = org.region("us-east-1")
    region.set_member_status("pack", "ops-baseline", ACCOUNTS[0], "CREATE_IN_PROGRESS")
    region.set_member_status(
        "pack", "ops-baseline", ACCOUNTS[3], "CREATE_FAILED", "LateFailure", "later account"
    )
    region.set_member_status(
        "pack", "ops-baseline", ACCOUNTS[2], "CREATE_FAILED", "ConformancePackCreationFailed",
        "The stack awsconfigconforms-x is in CREATE_FAILED state",
    )  # fmt: skip
    # When the organization-level status is read
    status = pack_status(config)
    # Then it is failed, with the error of a failing account (the first by account id)
    assert status["Status"] == "CREATE_FAILED"
    assert status["ErrorCode"] == "ConformancePackCreationFailed"
    assert status["ErrorMessage"] == "The stack awsconfigconforms-x is in CREATE_FAILED state"
    # And the detail names which accounts failed, and why
    failed = [(m["AccountId"], m.get("ErrorCode")) for m in pack_members(config)]
    assert failed[2:] == [
        (ACCOUNTS[2], "ConformancePackCreationFailed"),
        (ACCOUNTS[3], "LateFailure"),
    ]


def test_members_in_progress_make_the_organization_in_progress(config, org):
    # Given one account in progress and the others successful
    org.region("us-east-1").set_member_status(
        "rule", "s3-encryption", ACCOUNTS[1], "CREATE_IN_PROGRESS"
    )
    # When the rule's status is read
    # Then it is in progress
    assert rule_status(config)["OrganizationRuleStatus"] == "CREATE_IN_PROGRESS"


def test_putting_a_deployed_pack_again_is_an_update(config, org):
    # Given a pack created once
    # When it is put again, in progress in two accounts only
    org.region("us-east-1").put_org_pack(
        "ops-baseline", accounts=ACCOUNTS[:2], status="UPDATE_IN_PROGRESS"
    )
    # Then the organization shows an update in progress, and only those two accounts remain
    assert pack_status(config)["Status"] == "UPDATE_IN_PROGRESS"
    assert [m["AccountId"] for m in pack_members(config)] == ACCOUNTS[:2]
    # And once they succeed, the update succeeded
    for account_id in ACCOUNTS[:2]:
        org.region("us-east-1").set_member_status(
            "pack", "ops-baseline", account_id, "UPDATE_SUCCESSFUL"
        )
    assert pack_status(config)["Status"] == "UPDATE_SUCCESSFUL"


def test_a_deletion_in_progress_then_done(config, org):
    # Given a rule whose deletion started
    region = org.region("us-east-1")
    region.begin_org_delete("rule", "s3-encryption")
    # When its status is read
    # Then it says so, in the organization and in each account
    assert rule_status(config)["OrganizationRuleStatus"] == "DELETE_IN_PROGRESS"
    detail = config.get_organization_config_rule_detailed_status(
        OrganizationConfigRuleName="s3-encryption"
    )[RULE_DETAIL.result_key]
    assert {m["MemberAccountRuleStatus"] for m in detail} == {"DELETE_IN_PROGRESS"}
    # When the deletion completes
    region.delete_org_rule("s3-encryption")
    # Then the rule is gone from every API
    assert config.describe_organization_config_rule_statuses()[DESCRIBE_RULES.result_key] == []
    with pytest.raises(config.exceptions.NoSuchOrganizationConfigRuleException):
        config.get_organization_config_rule_detailed_status(
            OrganizationConfigRuleName="s3-encryption"
        )
    with pytest.raises(config.exceptions.NoSuchOrganizationConfigRuleException):
        rule_status(config)


def test_an_overridden_organization_status_sticks_until_cleared(config, org):
    # Given every account succeeded, but the organization status is stuck in progress
    org.region("us-east-1").set_org_status("pack", "ops-baseline", "CREATE_IN_PROGRESS")
    # When it is read
    # Then the stuck status is what Config says, while the accounts say success
    assert pack_status(config)["Status"] == "CREATE_IN_PROGRESS"
    assert {m["Status"] for m in pack_members(config)} == {"CREATE_SUCCESSFUL"}
    # When the override is cleared
    org.region("us-east-1").set_org_status("pack", "ops-baseline", None)
    # Then the status is derived from the accounts again
    assert pack_status(config)["Status"] == "CREATE_SUCCESSFUL"


def test_an_unknown_member_status_is_passed_on_verbatim(config, org, wire):
    # Given a member status the API model does not list
    org.region("us-east-1").set_member_status(
        "rule", "s3-encryption", ACCOUNTS[1], "ROLLBACK_PAUSED"
    )
    # When the rule's detail is read
    detail = config.get_organization_config_rule_detailed_status(
        OrganizationConfigRuleName="s3-encryption"
    )[RULE_DETAIL.result_key]
    # Then the value arrives as it is, and it is the only thing the model does not allow
    assert detail[1]["MemberAccountRuleStatus"] == "ROLLBACK_PAUSED"
    body = wire.exchanges[-1].body
    assert output_problems(RULE_DETAIL.name, body, strict_enums=False) == []
    assert len(output_problems(RULE_DETAIL.name, body)) == 1


def test_last_update_times_follow_the_clock_and_real_changes(make_client, clocked_sim, clock):
    # Given a pack created at 09:00 in two accounts
    clocked_sim.add_accounts(ACCOUNTS[:2])
    region = clocked_sim.region("us-east-1")
    region.put_org_pack("ops-baseline")
    client = make_client()
    created = clock.now
    # When one account fails at 09:05, and the other is set to the status it already had at 09:10
    failed_at = clock.advance(minutes=5)
    region.set_member_status("pack", "ops-baseline", ACCOUNTS[0], "CREATE_FAILED", "E", "m")
    clock.advance(minutes=5)
    region.set_member_status("pack", "ops-baseline", ACCOUNTS[1], "CREATE_SUCCESSFUL")
    # Then the organization's time is that of the latest real member change
    assert pack_status(client)["LastUpdateTime"] == failed_at
    # And each member keeps its own time, moved only when its status changed
    times = {m["AccountId"]: m["LastUpdateTime"] for m in pack_members(client)}
    assert times == {ACCOUNTS[0]: failed_at, ACCOUNTS[1]: created}


def test_member_side_names_look_like_awss_and_stay_stable(config, org):
    # Given a rule and a pack
    # When their member records are read, before and after a re-deployment
    pack_name = pack_members(config)[0]["ConformancePackName"]
    rule_name = config.get_organization_config_rule_detailed_status(
        OrganizationConfigRuleName="s3-encryption"
    )[RULE_DETAIL.result_key][0]["ConfigRuleName"]
    org.region("us-east-1").put_org_pack("ops-baseline")
    # Then they carry the names AWS gives inside member accounts, unchanged by the update
    assert re.fullmatch(r"OrgConformsPack-ops-baseline-[a-z0-9]{8}", pack_name)
    assert re.fullmatch(r"OrgConfigRule-s3-encryption-[a-z0-9]{8}", rule_name)
    assert {m["ConformancePackName"] for m in pack_members(config)} == {pack_name}


def test_a_long_rule_name_still_fits_the_member_side_limit(config, config_sim, wire):
    # Given a rule whose name takes the full 64 characters
    name = "r" * 64
    config_sim.add_accounts(ACCOUNTS[:1])
    config_sim.region("us-east-1").put_org_rule(name)
    # When its member record is read
    config.get_organization_config_rule_detailed_status(OrganizationConfigRuleName=name)
    # Then the member-side name stays within ConfigRuleName's 64 characters
    assert output_problems(RULE_DETAIL.name, wire.exchanges[-1].body) == []


def test_an_account_leaving_disappears_from_every_region(make_client, clocked_sim, clock):
    # Given a pack in two regions deployed to four accounts
    clocked_sim.add_accounts(ACCOUNTS)
    for region in ("us-east-1", "eu-west-1"):
        clocked_sim.region(region).put_org_pack("ops-baseline")
    # When one account leaves the organization an hour later
    left_at = clock.advance(hours=1)
    clocked_sim.remove_account(ACCOUNTS[0])
    # Then no region lists it, and each organization status shows a change at that time
    for region in ("us-east-1", "eu-west-1"):
        client = make_client(region)
        assert [m["AccountId"] for m in pack_members(client)] == ACCOUNTS[1:]
        assert pack_status(client)["LastUpdateTime"] == left_at


def test_scripting_refuses_what_the_api_could_not_show(config_sim):
    # Given an organization of one account
    config_sim.add_accounts(ACCOUNTS[:1])
    region = config_sim.region("us-east-1")
    # When names, accounts or kinds are invalid, Then the script is stopped at once
    with pytest.raises(ValueError, match="regular expression"):
        region.put_org_pack("ops_baseline")
    with pytest.raises(ValueError, match="not in the organization"):
        region.put_org_pack("ops-baseline", accounts=[account(99)])
    with pytest.raises(ValueError, match="12"):
        config_sim.add_accounts(["1234"])
    with pytest.raises(KeyError):
        region.set_member_status("pack", "absent", ACCOUNTS[0], "CREATE_FAILED")
    with pytest.raises(ValueError, match="kind"):
        region.set_member_status("stack", "absent", ACCOUNTS[0], "CREATE_FAILED")


# The account's own conformance packs --------------------------------------------------------


def test_an_account_pack_has_awss_identifiers_and_only_the_times_it_earned(config, config_sim):
    # Given a pack that failed to create
    region = config_sim.region("us-east-1")
    region.put_account_pack("local-guardrails", state="CREATE_FAILED", reason="Template invalid")
    # When it is described
    [failed] = config.describe_conformance_pack_status()[ACCOUNT_PACKS.result_key]
    # Then it has AWS-shaped identifiers, its reason, and no completion time
    pack_id = failed["ConformancePackId"]
    assert re.fullmatch(r"conformance-pack-[a-z0-9]{12}", pack_id)
    assert failed["ConformancePackArn"] == (
        f"arn:aws:config:us-east-1:111111111111:conformance-pack/local-guardrails/{pack_id}"
    )
    assert re.fullmatch(
        r"arn:aws:cloudformation:us-east-1:111111111111:stack/"
        r"awsconfigconforms-local-guardrails-[a-z0-9]{8}/[0-9a-f-]{36}",
        failed["StackArn"],
    )
    assert failed["ConformancePackState"] == "CREATE_FAILED"
    assert failed["ConformancePackStatusReason"] == "Template invalid"
    assert "LastUpdateCompletedTime" not in failed
    # When it is fixed, and a later update fails
    region.put_account_pack("local-guardrails", state="CREATE_COMPLETE")
    [fixed] = config.describe_conformance_pack_status()[ACCOUNT_PACKS.result_key]
    region.put_account_pack("local-guardrails", state="UPDATE_FAILED", reason="Bad parameter")
    [broken] = config.describe_conformance_pack_status()[ACCOUNT_PACKS.result_key]
    # Then the reason goes when there is none, the completion time is kept, the ids never change
    assert "ConformancePackStatusReason" not in fixed
    assert broken["LastUpdateCompletedTime"] == fixed["LastUpdateCompletedTime"]
    assert broken["ConformancePackStatusReason"] == "Bad parameter"
    assert {p["ConformancePackArn"] for p in (failed, fixed, broken)} == {
        failed["ConformancePackArn"]
    }
    # When it is deleted
    region.delete_account_pack("local-guardrails")
    # Then it is gone
    assert config.describe_conformance_pack_status()[ACCOUNT_PACKS.result_key] == []


# Member-account callers ---------------------------------------------------------------------


@pytest.mark.parametrize("op", ORGANIZATION_OPS, ids=str)
def test_a_member_account_is_denied_the_organization_operations(op: Op, make_client, org):
    # Given an access key of a member account
    org.set_caller_account("AKIAMEMBER", ACCOUNTS[0])
    member = make_client(access_key_id="AKIAMEMBER")
    op.populate(org, "us-east-1", 1)
    # When it calls an organization operation
    with pytest.raises(member.exceptions.OrganizationAccessDeniedException) as raised:
        op.call(member)
    # Then Config says only the management account or a delegated administrator may
    assert raised.value.response["Error"]["Message"] == ORGANIZATION_ACCESS_DENIED_MESSAGE


def test_a_member_account_sees_its_own_conformance_packs(make_client, config, org):
    # Given a pack of the management account, and a member account's key
    org.region("us-east-1").put_account_pack("management-pack")
    org.set_caller_account("AKIAMEMBER", ACCOUNTS[0])
    member = make_client(access_key_id="AKIAMEMBER")
    # When the member describes its packs
    # Then it sees none of the management account's
    assert member.describe_conformance_pack_status()[ACCOUNT_PACKS.result_key] == []
    # When a pack of its own exists
    org.region("us-east-1").put_account_pack("member-pack", account_id=ACCOUNTS[0])
    # Then it sees that one, in its own account's ARN, and the management account still its own
    [own] = member.describe_conformance_pack_status()[ACCOUNT_PACKS.result_key]
    assert (own["ConformancePackName"], own["ConformancePackArn"].split(":")[4]) == (
        "member-pack",
        ACCOUNTS[0],
    )
    assert ACCOUNT_PACKS.keys(config.describe_conformance_pack_status()) == ["management-pack"]


# State documents ------------------------------------------------------------------------------


def _read_everything(make_client) -> dict[tuple[str, str], Any]:
    """What every operation answers in each region, without response metadata."""
    answers = {}
    for region, ops in (("us-east-1", ALL_OPS), ("eu-west-1", NAMED_OPS)):
        client = make_client(region)
        for op in ops:
            answer = op.call(client)
            answer.pop("ResponseMetadata")
            answers[(region, op.name)] = answer
    return answers


def test_a_dumped_state_loads_back_to_the_same_answers(make_client, config_sim):
    # Given a varied organization in two regions
    config_sim.add_accounts(ACCOUNTS)
    config_sim.set_caller_account("AKIAMEMBER", ACCOUNTS[3])
    us, eu = config_sim.region("us-east-1"), config_sim.region("eu-west-1")
    RULE_DETAIL.populate(config_sim, "us-east-1", 3)
    PACK_DETAIL.populate(config_sim, "us-east-1", 4)
    us.set_member_status("pack", "detail-pack", ACCOUNTS[1], "CREATE_FAILED", "Code", "Message")
    us.set_org_status("rule", "detail-rule", "CREATE_IN_PROGRESS")
    us.put_account_pack("local", state="CREATE_FAILED", reason="why")
    eu.put_org_pack("eu-pack", accounts=ACCOUNTS[:2], status="CREATE_IN_PROGRESS")
    eu.put_account_pack("managed", pack_type="MANAGED")
    before = _read_everything(make_client)
    dumped = config_sim.dump_state()
    # When the simulator is emptied and the dump loaded back
    config_sim.reset()
    config_sim.load_state(dumped)
    # Then every operation answers exactly as before, and the dump is the same
    assert _read_everything(make_client) == before
    assert config_sim.dump_state() == dumped
    # And the member account's key is still a member account's
    member = make_client(access_key_id="AKIAMEMBER")
    with pytest.raises(member.exceptions.OrganizationAccessDeniedException):
        DESCRIBE_PACKS.call(member)


def test_a_short_scenario_fills_in_defaults(config, config_sim):
    # Given a hand-written scenario naming only what matters
    config_sim.load_state(
        {
            "accounts": ACCOUNTS[:2],
            "regions": {
                "us-east-1": {
                    "organization_packs": [
                        {
                            "name": "ops-baseline",
                            "members": [
                                {
                                    "account_id": ACCOUNTS[1],
                                    "status": "CREATE_FAILED",
                                    "error_code": "ConformancePackCreationFailed",
                                    "last_update_time": "2026-11-20T08:00:00Z",
                                }
                            ],
                        }
                    ]
                }
            },
        }
    )
    # When the pack is read
    status = pack_status(config)
    members = pack_members(config)
    # Then the other account defaulted to success and the failing one carries its time
    assert status["Status"] == "CREATE_FAILED"
    assert [m["Status"] for m in members] == ["CREATE_SUCCESSFUL", "CREATE_FAILED"]
    assert members[1]["LastUpdateTime"] == datetime(2026, 11, 20, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("doc", "complaint"),
    [
        ({"acounts": []}, "unknown keys"),
        ({"regions": {"us-east-1": {"organization_packs": [{}]}}}, "needs a 'name'"),
        ({"regions": {"us-east-1": {"organization_packs": [{"name": "p", "accounts": "x"}]}}},
         "accounts must be a list"),
        ({"regions": {"us-east-1": {"organization_rules": [
            {"name": "r", "members": [{"account_id": "222222222222", "status": "X"}]}
        ]}}}, "not in the organization"),
        ({"regions": {"us-east-1": {"account_packs": [
            {"name": "p", "last_update_requested_time": "yesterday"}
        ]}}}, "last_update_requested_time"),
        ({"regions": {"us-east-1": {"organization_rules": [{"name": "r", "operation": "MOVE"}]}}},
         "operation"),
    ],
)  # fmt: skip
def test_a_bad_document_changes_nothing(config_sim, doc, complaint):
    # Given an organization
    config_sim.add_accounts(ACCOUNTS[:1])
    config_sim.region("us-east-1").put_org_pack("ops-baseline")
    before = config_sim.dump_state()
    # When a bad document is loaded
    with pytest.raises(ValueError, match=complaint):
        config_sim.load_state(doc)
    # Then the state is as it was
    assert config_sim.dump_state() == before
