"""`config-notifier check --dry-run` against a stack deployed into the sandbox: it reads the
deployed function's own configuration, says which it applied, and agrees with the next real run.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from config_notifier.cli import EXIT_ERROR, EXIT_OK, main
from sandbox import ConfigSimulator
from sandbox.deploy import deploy, synthesize
from sandbox.lambda_runtime import ExecutionEnvironment
from sandbox.resources import new_subscriber_queue, received
from tests.infra.support import CDK_JSON_CONTEXT

pytestmark = pytest.mark.slow

REGION = "us-east-1"
ADMIN = "111122223333"
ROLE = f"arn:aws:iam::{ADMIN}:role/config-notifier-read"
ACCOUNTS = [str(200_000_000_000 + i) for i in range(4)]
PACK, MUTED_PACK, RULE, ADMIN_PACK = "ops-baseline", "sandbox-tools", "required-tags", "admin-pack"
ROUTE = {
    "name": "ops",
    "match": {"deployments": ["ops-*"]},
    "destinations": {"emails": ["ops@example.com"]},
}


def dry_run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["check", "--dry-run", *args], out=out), out.getvalue()


def test_the_dry_run_applies_the_deployed_configuration_and_agrees_with_the_next_run(
    sandbox_env: dict[str, str],
    sandbox_boto3_session: boto3.Session,
    lambda_bundle: Path,
    config_sim: ConfigSimulator,
    tmp_path: Path,
) -> None:
    # Given a stack deployed with a mute, a 30-minute stuck threshold and a delegated administrator
    endpoint = sandbox_env["AWS_ENDPOINT_URL"]
    clients: dict[str, Any] = {
        s: sandbox_boto3_session.client(s, region_name=REGION, endpoint_url=endpoint)
        for s in ("events", "sns", "sqs")
    }
    bus = f"config-deployments-{uuid.uuid4().hex[:8]}"
    clients["events"].create_event_bus(Name=bus)
    stack = f"DryRun-{uuid.uuid4().hex[:8]}"
    context = {
        **CDK_JSON_CONTEXT,
        "stackName": stack,
        "eventBusName": bus,
        "regions": [REGION],
        "stuckAfterMinutes": 30,
        "mutes": [{"name": MUTED_PACK}],
        "delegatedAdmins": [ROLE],
        "routes": [ROUTE],
    }
    deployment = deploy(
        synthesize(context, tmp_path, lambda_bundle), sandbox_boto3_session, endpoint
    )
    queue = new_subscriber_queue(
        clients["sns"],
        clients["sqs"],
        deployment.topic_arn,
        f"dry-{uuid.uuid4().hex[:8]}",
    )
    # and an organization baselined 40 minutes ago, whose rule has been updating since
    config_sim.add_accounts([*ACCOUNTS, ADMIN])
    config_sim.register_delegated_admin(ADMIN)
    region = config_sim.region(REGION)
    for name in (PACK, MUTED_PACK):
        region.put_org_pack(name, status="CREATE_SUCCESSFUL")
    region.put_org_rule(RULE, status="CREATE_SUCCESSFUL")
    region.set_org_status("rule", RULE, "UPDATE_IN_PROGRESS")
    config_sim.region(REGION, deployed_by=ADMIN).put_org_pack(
        ADMIN_PACK, status="CREATE_SUCCESSFUL"
    )
    env = deployment.function_environment
    with ExecutionEnvironment(env, function_name=deployment.function_name) as function:
        function.invoke("baseline", now=datetime.now(UTC) - timedelta(minutes=40))
    received(clients["sqs"], queue)
    # When a pack fails in one account, the muted pack fails too, and the admin's pack fails
    region.set_member_status("pack", PACK, ACCOUNTS[1], "CREATE_FAILED", "Denied", "no")
    region.set_member_status("pack", MUTED_PACK, ACCOUNTS[2], "CREATE_FAILED")
    config_sim.region(REGION, deployed_by=ADMIN).set_member_status(
        "pack", ADMIN_PACK, ACCOUNTS[3], "CREATE_FAILED"
    )
    # and the operator asks what the next run would send, by the stack's name
    code, text = dry_run("--stack", deployment.synthesized.stack_name, "--region", REGION, "--json")
    # Then it says it used the deployed function's own settings
    assert code == EXIT_OK
    report = json.loads(text)
    applied = report["configuration"]
    assert applied["function"] == deployment.function_name
    assert applied["stuck_after_minutes"] == 30
    assert applied["mutes"] == [{"name": MUTED_PACK}]
    assert applied["delegated_admins"] == {ADMIN: ROLE}
    assert applied["routes"] == [{"name": "ops", "match": {"deployments": ["ops-*"]}}]
    # And nothing was published or written by it
    assert received(clients["sqs"], queue) == []
    # When the real run follows
    with ExecutionEnvironment(env, function_name=deployment.function_name) as function:
        summary = function.invoke("next").summary_or_raise()
    delivered = received(clients["sqs"], queue)
    # Then both held back the muted pack, reported the stuck rule and the admin's pack, and
    # told the same messages, the route's copy of the ops pack's among them (the queue listens to
    # every audience)
    dry = sorted(m["subject"] for m in report["messages"])
    assert dry == sorted(d.subject for d in delivered)
    assert [m["document"]["name"] for m in report["messages"] if m["audience"] == "ops"] == [PACK]
    assert sorted(d.attributes["audience"] for d in delivered if d.attributes["name"] == PACK) == [
        "all",
        "ops",
    ]
    # (the pack's own transition and its member's)
    assert report["summary"]["muted"] == summary["muted"] == 2
    assert any(s.startswith(f"[STUCK] {RULE}") for s in dry)
    assert any(ADMIN_PACK in s for s in dry)
    assert not any(MUTED_PACK in s for s in dry)


def test_check_names_a_stack_it_cannot_find(sandbox_env: dict[str, str], capsys: Any) -> None:
    code, _ = dry_run("--stack", "NoSuchStack", "--region", REGION)
    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert "cannot read the deployed notifier of stack 'NoSuchStack' in us-east-1" in err
    assert "config-notifier check --dry-run --stack ConfigDeploymentNotifier" in err
