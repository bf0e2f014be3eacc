"""cdk-nag's AwsSolutions pack on every synthesized variant (checkov and cfn-lint: test_scanners)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk.aws_sqs as sqs
import pytest
from aws_cdk import App

from infra import findings
from infra.application import add_notifier
from infra.config import AppConfig
from sandbox.deploy import Synthesized
from tests.infra.support import VARIANTS

pytestmark = pytest.mark.slow


def nag_violations(outdir: Path) -> list[dict[str, Any]]:
    report = json.loads((outdir / "validation-report.json").read_text())
    return [
        violation
        for plugin in report["pluginReports"]
        if plugin["pluginName"] == "AwsSolutions"
        for violation in plugin["violations"]
    ]


def acknowledgments(synthesis: Synthesized) -> dict[str, str]:
    """Every acknowledged rule of the stack, by rule id, with its reason."""
    (metadata_file,) = synthesis.outdir.glob("*.metadata.json")
    found: dict[str, str] = {}
    for entries in json.loads(metadata_file.read_text()).values():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                for rule_id, reason in entry["data"].items():
                    found[rule_id.removeprefix("Annotation::")] = reason
    return found


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cdk_nag_reports_no_unacknowledged_finding(
    synthesized: Callable[[str], Synthesized], variant: str
) -> None:
    # Given the variant synthesized with the AwsSolutions pack (a finding would fail the synth)
    synthesis = synthesized(variant)
    # Then its validation report lists nothing
    assert nag_violations(synthesis.outdir) == []


def test_cdk_nag_runs_on_every_synth(lambda_bundle: Path, tmp_path: Path) -> None:
    # Given the app as add_notifier builds it, plus a queue that breaks two AwsSolutions rules
    app = App(outdir=str(tmp_path))
    stack = add_notifier(app, AppConfig.defaults(), lambda_bundle)
    sqs.Queue(stack, "Canary")

    # When it is synthesized
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()

    # Then the report names that queue, and only it
    violations = nag_violations(tmp_path)
    assert {v["ruleName"] for v in violations} == {"AwsSolutions-SQS3", "AwsSolutions-SQS4"}
    paths = {c["constructPath"] for v in violations for c in v["violatingConstructs"]}
    assert paths == {f"{stack.stack_name}/Canary/Resource"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_acknowledgments_are_the_reviewed_ones(
    synthesized: Callable[[str], Synthesized], variant: str
) -> None:
    # Given the cdk-nag findings the reviewed file accepts
    reviewed = {
        entry.rule: entry.reason for entry in findings.accepted() if entry.tool == "cdk-nag"
    }
    # Then the synthesized app acknowledges exactly those, with the file's reasons
    assert acknowledgments(synthesized(variant)) == reviewed


def test_wildcard_resource_acknowledgment_names_every_action_it_covers(
    synthesized: Callable[[str], Synthesized],
) -> None:
    # Given the statements that use Resource "*"
    synthesis = synthesized("full")
    unscoped = {
        action
        for policy in synthesis.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == "*"
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    reason = acknowledgments(synthesis)["AwsSolutions-IAM5[Resource::*]"]

    # Then the reason says why each needs it: no resource-level permissions
    assert "no resource-level permissions" in reason
    for action in unscoped:
        assert action in reason


def test_queue_acknowledgment_says_it_is_a_dead_letter_queue(
    synthesized: Callable[[str], Synthesized],
) -> None:
    reason = acknowledgments(synthesized("default"))["AwsSolutions-SQS3"]
    assert "dead-letter queue" in reason
    assert "EventBridge" in reason
