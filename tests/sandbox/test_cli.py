"""`python -m sandbox` and the Sandbox object: what people and fixtures start the sandbox with."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "sandbox" / "scenarios" / "example.json"


def test_the_sandbox_environment_names_both_endpoints_and_fake_credentials(sandbox: Sandbox):
    # Given the running sandbox
    # When its environment is asked for
    env = sandbox.env()
    # Then moto serves everything but Config, which the simulator serves, with fake credentials
    assert env == {
        "AWS_ENDPOINT_URL": sandbox.moto.url,
        "AWS_ENDPOINT_URL_CONFIG_SERVICE": sandbox.config_sim.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    assert env["AWS_ENDPOINT_URL"] != env["AWS_ENDPOINT_URL_CONFIG_SERVICE"]


def test_other_services_reach_moto(sandbox_env):
    # Given the sandbox environment
    # When another service is used through plain boto3
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="sandbox-smoke")["QueueUrl"]
    # Then moto answered it
    try:
        assert url in sqs.list_queues()["QueueUrls"]
    finally:
        sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def cli() -> Iterator[subprocess.Popen[str]]:
    """`python -m sandbox --scenario example.json`, stopped with SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # A fixed argv: this interpreter running this repository's module.
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--scenario", str(EXAMPLE)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def _exports(process: subprocess.Popen[str]) -> dict[str, str]:
    exports = {}
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value
        if line.startswith("# Config simulator state"):
            return exports
    raise AssertionError(f"the sandbox printed no exports; stderr: {process.stderr}")


def test_the_cli_prints_exports_serves_the_scenario_and_stops_on_sigterm(
    cli, monkeypatch: pytest.MonkeyPatch, sandbox_env
):
    # Given the sandbox started from a shell with the example scenario
    exports = _exports(cli)
    # When another process uses the printed variables
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("config", region_name="us-east-1")
    packs = client.describe_organization_conformance_pack_statuses()
    # Then it reads the scenario: the failing pack, with a realistic error
    [pack] = packs["OrganizationConformancePackStatuses"]
    assert (pack["Status"], pack["ErrorCode"]) == ("CREATE_FAILED", "ConformancePackCreationFailed")
    assert "CREATE_FAILED" in pack["ErrorMessage"]
    # When it is sent SIGTERM
    cli.send_signal(signal.SIGTERM)
    # Then it stops cleanly and promptly
    assert cli.wait(timeout=10) == 0


def test_the_cli_refuses_a_bad_scenario(tmp_path: Path):
    # Given a scenario with a misspelt key
    scenario = tmp_path / "bad.json"
    scenario.write_text('{"acounts": []}')
    # When the sandbox is started with it
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--scenario", str(scenario)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # Then it exits at once, saying what is wrong
    assert done.returncode == 2
    assert "unknown keys: acounts" in done.stderr
