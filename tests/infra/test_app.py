"""app.py through the pinned CDK CLI, offline and without credentials, as `make synth` runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import REPO_ROOT

pytestmark = pytest.mark.slow

QUIET = {
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


def without_aws_credentials() -> dict[str, str]:
    """This environment minus anything that could reach or identify an AWS account."""
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "CDK_"))
    }
    # No shared config or credentials files either.
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return {**env, **QUIET}


def cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    assert npx is not None, "node and npm are needed for the pinned CDK CLI (make setup)"
    return subprocess.run(
        [npx, "--no-install", "cdk", *args, "--quiet", "--no-notices", "--output", str(outdir)],
        cwd=REPO_ROOT,
        env=without_aws_credentials(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_synthesizes_the_app_offline_without_credentials(tmp_path: Path) -> None:
    # When the pinned CLI synthesizes the app with cdk.json's context and no AWS credentials
    result = cdk("synth", outdir=tmp_path)

    # Then it succeeds, cdk-nag included, and writes the stack's template
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "ConfigDeploymentNotifier.template.json").read_text())
    assert "AWS::Lambda::Function" in {r["Type"] for r in template["Resources"].values()}
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_cli_reports_every_wrong_context_key_and_stops(tmp_path: Path) -> None:
    # When the CLI is given two wrong context values
    result = cdk(
        "synth", "-c", "regions=us-east-1,Mars", "-c", "logRetentionDays=42", outdir=tmp_path
    )

    # Then the synth fails, naming both keys with an example, before building anything
    assert result.returncode != 0
    assert "  - regions: not a region name: 'Mars'; for example" in result.stderr
    assert "  - logRetentionDays: 42 is not a retention" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))
