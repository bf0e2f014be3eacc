"""What the infrastructure tests share: the context variants and how the app is synthesized."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, IStackSynthesizer
from aws_cdk.assertions import Template

from infra import REPO_ROOT
from infra.application import add_notifier
from infra.config import AppConfig

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


@dataclass(frozen=True)
class Synthesis:
    """One synthesized app: its configuration, cloud assembly directory and stack template."""

    config: AppConfig
    outdir: Path
    template_json: dict[str, Any]

    @property
    def template(self) -> Template:
        return Template.from_json(self.template_json)

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template_json["Resources"].items()
            if resource["Type"] == resource_type
        }


def synthesize(
    context: dict[str, Any],
    outdir: Path,
    code: Path,
    synthesizer: IStackSynthesizer | None = None,
    app_context: dict[str, Any] | None = None,
) -> Synthesis:
    """Build the app as app.py does (cdk-nag included) and synthesize it into `outdir`."""
    config = AppConfig.from_context(context.get, present=context)
    app = App(outdir=str(outdir), context=app_context)
    add_notifier(app, config, code, synthesizer=synthesizer)
    assembly = app.synth()
    template = assembly.get_stack_by_name(config.stack_name).template
    return Synthesis(config=config, outdir=outdir, template_json=template)
