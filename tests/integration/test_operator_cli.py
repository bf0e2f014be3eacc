"""The operator CLI against the sandbox: status, check --dry-run, and its errors."""

from __future__ import annotations

import io
import json

import pytest

from config_notifier.cli import EXIT_ERROR, EXIT_FAILING, EXIT_OK, main

ACCOUNTS = [str(300_000_000_000 + i) for i in range(12)]


def organization(sim) -> None:
    sim.add_accounts(ACCOUNTS)
    region = sim.region("us-east-1")
    region.put_org_pack("healthy-pack")
    region.put_org_pack("broken-pack")
    region.put_org_rule("required-tags")
    region.set_member_status(
        "pack", "broken-pack", ACCOUNTS[3], "CREATE_FAILED", "ConformancePackCreationFailed", "boom"
    )


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_status_lists_failing_accounts_first(sandbox_env, config_sim) -> None:
    # Given a pack failing in one account next to healthy ones
    organization(config_sim)
    # When the operator asks for the status
    code, text = cli("status", "--region", "us-east-1")
    # Then the failing pack is the first row, its account is named, and the exit code says so
    assert code == EXIT_FAILING
    lines = text.splitlines()
    assert lines[0].split() == ["REGION", "KIND", "NAME", "STATUS", "FAILING", "ERROR"]
    assert lines[1].split()[:5] == [
        "us-east-1",
        "organization-pack",
        "broken-pack",
        "CREATE_FAILED",
        "1",
    ]
    assert (
        f"us-east-1 broken-pack: {ACCOUNTS[3]} CREATE_FAILED ConformancePackCreationFailed: boom"
        in text
    )
    assert "healthy-pack" in text
    assert "required-tags" in text


def test_status_as_json(sandbox_env, config_sim) -> None:
    organization(config_sim)
    code, text = cli("status", "--region", "us-east-1", "--json")
    rows = json.loads(text)
    assert code == EXIT_FAILING
    assert rows[0]["name"] == "broken-pack"
    assert rows[0]["failing_accounts"] == [
        {
            "account_id": ACCOUNTS[3],
            "status": "CREATE_FAILED",
            "error": "ConformancePackCreationFailed: boom",
        }
    ]
    assert {r["name"] for r in rows} == {"broken-pack", "healthy-pack", "required-tags"}


def test_status_of_a_healthy_organization_exits_zero(sandbox_env, config_sim) -> None:
    config_sim.add_accounts(ACCOUNTS)
    config_sim.region("us-east-1").put_org_pack("healthy-pack")
    assert cli("status", "--region", "us-east-1")[0] == EXIT_OK


def test_without_credentials_it_says_what_to_do(
    sandbox_env, config_sim, monkeypatch, capsys
) -> None:
    # Given no credentials anywhere
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # When the operator runs status
    code, _ = cli("status", "--region", "us-east-1")
    # Then it says so and how to fix it, without a stack trace
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert err.startswith("error: No AWS credentials found.")
    assert "Traceback" not in err


def test_from_a_member_account_it_says_where_to_run(
    sandbox_env, config_sim, monkeypatch, capsys
) -> None:
    # Given credentials of a member account
    organization(config_sim)
    config_sim.set_caller_account("AKIAMEMBER0000000001", ACCOUNTS[0])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAMEMBER0000000001")
    # When the operator runs status
    code, _ = cli("status", "--region", "us-east-1")
    # Then the error names the access problem and the fix
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert "OrganizationAccessDeniedException" in err
    assert "management account" in err


def test_check_without_dry_run_is_refused() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--stack", "ConfigDeploymentNotifier", "--region", "us-east-1"])
    assert exited.value.code == 2
