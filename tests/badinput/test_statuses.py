"""Statuses the API model does not list, and answers without the members it calls optional: the
real handler passes them on as they are, loses nothing and repeats nothing."""

from __future__ import annotations

from tests.badinput.conftest import ACCOUNTS, REGIONS

REGION = REGIONS[0]
PACK, RULE, LOCAL = "ops-baseline", "s3-bucket-encryption", "local-guardrails"


def baselined(deployment, sim) -> None:
    sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        sim.region(region).put_org_pack(PACK)
        sim.region(region).put_org_rule(RULE)
        sim.region(region).put_account_pack(LOCAL)
    deployment.run("baseline")
    deployment.received()


def test_unknown_status_values_are_passed_on_verbatim(deployment, config_sim):
    # Given a baselined organization whose rule fails in one account (only members that are not
    # healthy are read: docs/design.md rule 7)
    baselined(deployment, config_sim)
    us = config_sim.region(REGION)
    us.set_member_status("rule", RULE, ACCOUNTS[1], "CREATE_FAILED")
    deployment.run("failing")
    deployment.received()
    # When that member, an organization-level status and an account pack report values the
    # model does not list
    us.set_member_status("rule", RULE, ACCOUNTS[1], "ROLLBACK_PAUSED")
    us.set_org_status("pack", PACK, "UPDATE_QUEUED")
    us.put_account_pack(LOCAL, state="UPDATE_ROLLBACK_COMPLETE")
    summary = deployment.run("unknown")
    # Then each arrives with the value exactly as AWS sent it
    got = {
        (t["kind"], t["account_id"]): t["new"]["status"]
        for d in deployment.transitions()
        for t in d.document["transitions"]
    }
    assert got == {
        ("organization-rule-member", ACCOUNTS[1]): "ROLLBACK_PAUSED",
        # (with no member failing or in progress, the rule's own status is successful again)
        ("organization-rule", None): "CREATE_SUCCESSFUL",
        ("organization-pack", None): "UPDATE_QUEUED",
        ("account-pack", None): "UPDATE_ROLLBACK_COMPLETE",
    }
    assert summary["messages_failed"] == 0
    # And they are kept: the next run repeats nothing, and a known value after them is reported
    deployment.run("again")
    assert deployment.transitions() == []
    us.set_member_status("rule", RULE, ACCOUNTS[1], "CREATE_SUCCESSFUL")
    deployment.run("known")
    [back] = deployment.transitions()
    [member] = [t for t in back.document["transitions"] if t["account_id"]]
    assert (member["old"]["status"], member["new"]["status"]) == (
        "ROLLBACK_PAUSED",
        "CREATE_SUCCESSFUL",
    )


def test_a_failure_without_error_code_message_or_time_is_reported(deployment, config_sim):
    # Given a baselined organization, and a service that leaves out every optional member
    baselined(deployment, config_sim)
    config_sim.set_fault(
        omit_fields=[
            "ErrorCode",
            "ErrorMessage",
            "LastUpdateTime",
            "ConformancePackStatusReason",
            "LastUpdateCompletedTime",
        ]
    )
    # When a member account fails and this account's pack fails
    us = config_sim.region(REGION)
    us.set_member_status("pack", PACK, ACCOUNTS[2], "CREATE_FAILED", "E1", "it broke")
    us.put_account_pack(LOCAL, state="CREATE_FAILED", reason="stack failed")
    summary = deployment.run("bare")
    # Then both failures arrive, with nothing invented for what was not sent
    deliveries = {d.attributes["kind"]: d for d in deployment.transitions()}
    assert set(deliveries) == {"organization-pack", "account-pack"}
    pack_doc = deliveries["organization-pack"].document
    [member] = [t for t in pack_doc["transitions"] if t["account_id"] == ACCOUNTS[2]]
    assert member["new"] == {
        "status": "CREATE_FAILED",
        "error_code": None,
        "error_message": None,
        "updated_at": None,
    }
    assert deliveries["account-pack"].document["transitions"][0]["new"]["status"] == "CREATE_FAILED"
    assert deliveries["organization-pack"].attributes["status"] == "CREATE_FAILED"
    assert deliveries["organization-pack"].attributes["severity"] == "failure"
    assert summary["failed_sources"] == []
    # And the next run, still without those members, repeats nothing
    deployment.run("bare-again")
    assert deployment.transitions() == []


def test_an_unread_source_is_one_structured_log_record_with_the_run_id(deployment, config_sim):
    # Given a baselined organization
    baselined(deployment, config_sim)
    # When the pack listing in one region loops its NextToken
    config_sim.set_fault(
        region=REGION, operation="DescribeOrganizationConformancePackStatuses", token_loop=True
    )
    result = deployment.invoke("looping")
    assert result.error is None, result.error
    # Then the run logs it once as structured JSON: region, source and reason, and the run's id
    [record] = [r for r in result.logs if r.get("source") == "organization-pack"]
    assert record["level"] == "ERROR"
    assert record["region"] == REGION
    assert "NextToken" in record["reason"]
    assert record["correlation_id"] == "looping"
    assert result.plain_logs == ()
