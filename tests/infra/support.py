"""What the infrastructure tests share: the context variants (synthesized by sandbox.deploy), and
the stack deployed into the sandbox with an organization whose pack failed in one account."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3

from infra import REPO_ROOT
from infra.routes import TEAM_ID, TEAMS_CHANNEL_ID, TENANT_ID
from sandbox import ConfigSimulator
from sandbox.deploy import Deployment, deploy, synthesize

REGION = "us-east-1"
PACK = "ops-baseline"
FAILING_ACCOUNT = "222222222222"

# What cdk.json ships with: the default variant is exactly what `cdk synth` builds.
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]

PAYMENTS_QUEUE = "arn:aws:sqs:us-east-1:123456789012:payments-deployments"
PAYMENTS_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:payments-tickets"

# Everything optional switched on, every email filter once, a period longer than Lambda's limit,
# routes with every kind of destination.
FULL_CONTEXT: dict[str, Any] = {
    **CDK_JSON_CONTEXT,
    "stackName": "NotifierEverythingOn",
    "schedule": "rate(1 hour)",
    "regions": ["us-east-1", "eu-west-1"],
    "notificationEmails": [
        {"address": "failures@example.com", "filter": "failures"},
        {"address": "changes@example.com", "filter": "failures-and-recoveries"},
        "everything@example.com",
    ],
    "slackWorkspaceId": "T0123ABCD",
    "slackChannelId": "C0123ABCD",
    "baselineMode": "failures",
    "logRetentionDays": 30,
    "alarmEmail": "oncall@example.com",
    "maxConcurrency": 4,
    "fullReconcileHours": 12,
    "stuckAfterMinutes": 45,
    "accountNamesRefreshHours": 6,
    "mutes": [{"name": "sandbox-*"}, {"account": "123456789012", "until": "2026-12-31"}],
    "eventBusName": "config-deployments",
    "delegatedAdmins": [
        "arn:aws:iam::111122223333:role/config-notifier-read",
        {"account": "444455556666", "roleName": "config-notifier-read"},
    ],
    "teamsTeamId": TEAM_ID,
    "teamsChannelId": TEAMS_CHANNEL_ID,
    "teamsTenantId": TENANT_ID,
    "routes": [
        {
            "name": "payments",
            "match": {"deployments": ["payments-*"], "severities": ["failure", "stuck"]},
            "destinations": {
                "emails": [{"address": "payments@example.com", "filter": "failures"}],
                "slack": {"workspaceId": "T0123ABCD", "channelId": "C0456EFGH"},
                "teams": {"teamId": TEAM_ID, "channelId": TEAMS_CHANNEL_ID, "tenantId": TENANT_ID},
                "queues": [PAYMENTS_QUEUE],
                "functions": [PAYMENTS_FUNCTION],
            },
        },
        # An address that is also the stack's own subscriber: it gets both.
        {
            "name": "eu",
            "match": {"regions": ["eu-west-1"]},
            "destinations": {"emails": ["everything@example.com"]},
        },
    ],
}

VARIANTS: dict[str, dict[str, Any]] = {"default": CDK_JSON_CONTEXT, "full": FULL_CONTEXT}


def deploy_stack(
    session: boto3.Session, endpoint: str, code: Path, outdir: Path, stack_name: str
) -> Deployment:
    """The stack (baselineMode "failures", one region) created by moto's CloudFormation.

    Its event bus is one of its own: moto hands a custom event on the default bus to the stack's
    own schedule rule, which AWS never does (the rule has no event pattern), and fails on its
    Lambda target. Not deleted afterwards: the retained table keeps deletion protection on, as in
    AWS; the sandbox and everything in it go away with the session.
    """
    bus = f"config-deployments-{uuid.uuid4().hex[:8]}"
    session.client("events", region_name=REGION, endpoint_url=endpoint).create_event_bus(Name=bus)
    context = {
        **CDK_JSON_CONTEXT,
        "stackName": f"{stack_name}-{uuid.uuid4().hex[:8]}",
        "baselineMode": "failures",
        "eventBusName": bus,
    }
    return deploy(synthesize(context, outdir, code), session, endpoint, REGION)


def failing_pack(sim: ConfigSimulator, accounts: list[str]) -> None:
    """`accounts` in the organization, and a pack deployed to them that failed in FAILING_ACCOUNT."""
    sim.add_accounts(accounts)
    sim.region(REGION).put_org_pack(PACK, status="CREATE_SUCCESSFUL")
    sim.region(REGION).set_member_status(
        "pack",
        PACK,
        FAILING_ACCOUNT,
        "CREATE_FAILED",
        error_code="ConformancePackCreationFailed",
        error_message="AccessDenied on s3:PutBucketPolicy",
    )
