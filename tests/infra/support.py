"""What the infrastructure tests share: the context variants (synthesized by sandbox.deploy)."""

from __future__ import annotations

import json
from typing import Any

from infra import REPO_ROOT

# What cdk.json ships with: the default variant is exactly what `cdk synth` builds.
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]

# Everything optional switched on, every email filter once, a period longer than Lambda's limit.
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
}

VARIANTS: dict[str, dict[str, Any]] = {"default": CDK_JSON_CONTEXT, "full": FULL_CONTEXT}
