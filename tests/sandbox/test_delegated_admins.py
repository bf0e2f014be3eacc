"""Delegated administrators in the simulator: each deploying account sees only its own
organization rules and packs; callers with assumed-role credentials are known through STS."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox import ConfigSimulator

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

ADMIN = "111122223333"
MEMBER = "444455556666"
ROLE = f"arn:aws:iam::{ADMIN}:role/config-notifier-read"


@pytest.fixture
def organization(config_sim: ConfigSimulator) -> ConfigSimulator:
    # Given an organization whose member ADMIN is a delegated administrator, and a rule named
    # "ops" deployed by the management account and another "ops" (a pack too) by ADMIN
    config_sim.add_accounts([ADMIN, MEMBER])
    config_sim.register_delegated_admin(ADMIN)
    config_sim.region("us-east-1").put_org_rule("ops", [MEMBER])
    by_admin = config_sim.region("us-east-1", deployed_by=ADMIN)
    by_admin.put_org_rule("ops", [MEMBER, ADMIN], status="CREATE_FAILED", error_code="Denied")
    by_admin.put_org_pack("security-baseline", [MEMBER])
    return config_sim


def assumed(sandbox_env: dict[str, str], role_arn: str = ROLE) -> ConfigServiceClient:
    """A Config client signing with credentials from sts:AssumeRole, as the notifier makes it."""
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=role_arn, RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "config",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def rules(client: ConfigServiceClient) -> dict[str, str]:
    answer = client.describe_organization_config_rule_statuses()
    return {
        r["OrganizationConfigRuleName"]: r["OrganizationRuleStatus"]
        for r in answer["OrganizationConfigRuleStatuses"]
    }


def packs(client: ConfigServiceClient) -> list[str]:
    answer = client.describe_organization_conformance_pack_statuses()
    return [
        p["OrganizationConformancePackName"] for p in answer["OrganizationConformancePackStatuses"]
    ]


def test_a_delegated_admin_sees_only_what_it_deployed(
    organization: ConfigSimulator, sandbox_env: dict[str, str]
) -> None:
    # When the admin account calls with assumed-role credentials (its key is known to STS alone)
    client = assumed(sandbox_env)
    # Then it sees its own "ops" (failed) and its pack, with its member accounts
    assert rules(client) == {"ops": "CREATE_FAILED"}
    assert packs(client) == ["security-baseline"]
    detail = client.get_organization_config_rule_detailed_status(OrganizationConfigRuleName="ops")
    statuses = detail["OrganizationConfigRuleDetailedStatus"]
    assert sorted(m["AccountId"] for m in statuses) == [ADMIN, MEMBER]


def test_the_management_account_sees_only_its_own(
    organization: ConfigSimulator, config: ConfigServiceClient
) -> None:
    # When the management account calls
    # Then only its "ops" shows, succeeded, and no pack; the admin's pack is not found
    assert rules(config) == {"ops": "CREATE_SUCCESSFUL"}
    assert packs(config) == []
    with pytest.raises(ClientError) as raised:
        config.get_organization_conformance_pack_detailed_status(
            OrganizationConformancePackName="security-baseline"
        )
    assert raised.value.response["Error"]["Code"] == "NoSuchOrganizationConformancePackException"


def test_a_member_that_is_no_admin_is_denied(
    organization: ConfigSimulator, sandbox_env: dict[str, str]
) -> None:
    # When a plain member account calls with assumed-role credentials
    client = assumed(sandbox_env, f"arn:aws:iam::{MEMBER}:role/config-notifier-read")
    # Then the organization operations are refused, as for any member account
    with pytest.raises(ClientError) as raised:
        client.describe_organization_config_rule_statuses()
    assert raised.value.response["Error"]["Code"] == "OrganizationAccessDeniedException"


def test_a_deregistered_admin_is_denied_and_its_deployments_go(
    organization: ConfigSimulator, sandbox_env: dict[str, str], config: ConfigServiceClient
) -> None:
    # Given the admin is deregistered
    organization.deregister_delegated_admin(ADMIN)
    # When it calls
    with pytest.raises(ClientError) as raised:
        rules(assumed(sandbox_env))
    # Then it is denied, and the management account's view did not change
    assert raised.value.response["Error"]["Code"] == "OrganizationAccessDeniedException"
    assert rules(config) == {"ops": "CREATE_SUCCESSFUL"}


def test_temporary_credentials_of_no_assumed_role_are_the_management_accounts(
    organization: ConfigSimulator, sandbox_env: dict[str, str]
) -> None:
    # Given temporary credentials that are no assumed role (as the function's own credentials
    # in Lambda: a key and a session token, which moto's STS answers with its default user)
    client = boto3.client(
        "config",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="a-lambda-session-token",
    )
    # When they are used, then they are the management account's, as any unregistered key
    assert rules(client) == {"ops": "CREATE_SUCCESSFUL"}


def test_scripting_an_account_that_is_no_admin_is_refused(config_sim: ConfigSimulator) -> None:
    config_sim.add_accounts([MEMBER])
    with pytest.raises(ValueError, match="not a delegated administrator"):
        config_sim.region("us-east-1", deployed_by=MEMBER)
    with pytest.raises(ValueError, match="not in the organization"):
        config_sim.register_delegated_admin(ADMIN)


def test_a_state_document_keeps_what_each_admin_deployed(organization: ConfigSimulator) -> None:
    # Given the state as a document
    doc = organization.dump_state()
    # When it is loaded into an emptied simulator
    organization.reset()
    organization.load_state(doc)
    # Then the admin and its deployments are back, apart from the management account's
    assert organization.delegated_admins == [ADMIN]
    assert organization.dump_state() == doc
    assert [
        r["name"]
        for r in doc["deployed_by_delegated_admins"][ADMIN]["us-east-1"]["organization_rules"]
    ] == ["ops"]
