"""Large and unusual values: 10 KB error messages, names at the API's maximum length, Unicode, and
10,000 accounts in one pack. Every message fits SNS, is cut with "and N more" rather than
silently, and nothing is repeated by the run after."""

from __future__ import annotations

import json
import re

from tests.badinput.conftest import ACCOUNTS, REGIONS

REGION = REGIONS[0]
SNS_LIMIT = 256 * 1024
LONG_PACK = "p" + "-0123456789abcdef" * 7 + "x" * 8  # 128 characters, the API's maximum
LONG_RULE = "r" + "_0123456789-ABCDEF" * 3 + "z" * 9  # 64 characters
LONG_LOCAL = "L" + "x" * 255  # 256 characters
UNICODE = 'Échec : la pile « ops » a échoué 💥 — 失败\u202e\nline two\ttab "quoted" \\ back'


def test_ten_kilobyte_error_messages_are_cut_for_people_and_kept_for_machines(
    deployment, config_sim
):
    # Given a baselined organization of 12 accounts
    config_sim.add_accounts(ACCOUNTS)
    config_sim.region(REGION).put_org_pack("ops-baseline")
    deployment.run("baseline")
    deployment.received()
    # When every account fails with a different 10 KB error message
    huge = {a: f"{a}: " + ("CloudFormation said no. " * 440)[:10_240] for a in ACCOUNTS}
    for account, message in huge.items():
        config_sim.region(REGION).set_member_status(
            "pack", "ops-baseline", account, "CREATE_FAILED", "ValidationError", message
        )
    summary = deployment.run("huge")
    # Then one message arrives, within SNS's limit, naming all 12 accounts
    [delivery] = deployment.transitions()
    assert summary["messages_failed"] == 0
    assert delivery.size <= SNS_LIMIT
    members = [t for t in delivery.document["transitions"] if t["account_id"]]
    assert sorted(t["account_id"] for t in members) == ACCOUNTS
    # And each error message is cut visibly, never silently, its start intact
    for t in members:
        message = t["new"]["error_message"]
        assert message.startswith(huge[t["account_id"]][:200])
        assert len(message) < len(huge[t["account_id"]])
        assert "more characters]" in message
    # And the snapshot took it (items stay far below DynamoDB's 400 KB), so nothing repeats
    assert max(len(json.dumps(item)) for item in deployment.items()) < 400_000
    deployment.run("again")
    assert deployment.transitions() == []


def test_maximum_length_names_and_unicode_messages(deployment, config_sim):
    # Given a baselined organization with a pack, a rule and an account pack whose names are as
    # long as the API allows
    config_sim.add_accounts(ACCOUNTS)
    us = config_sim.region(REGION)
    us.put_org_pack(LONG_PACK)
    us.put_org_rule(LONG_RULE)
    us.put_account_pack(LONG_LOCAL)
    deployment.run("baseline")
    deployment.received()
    # When each fails with a Unicode error message (line breaks, RTL override, emoji, quotes)
    us.set_member_status(
        "pack", LONG_PACK, ACCOUNTS[0], "CREATE_FAILED", "ValidationError", UNICODE
    )
    us.set_member_status("rule", LONG_RULE, ACCOUNTS[1], "CREATE_FAILED", "Ünïcödé", UNICODE)
    us.put_account_pack(LONG_LOCAL, state="CREATE_FAILED", reason=UNICODE)
    deployment.run("unicode")
    # Then each arrives under its exact name, with the message exactly as AWS sent it
    deliveries = {d.document["name"]: d for d in deployment.transitions()}
    assert set(deliveries) == {LONG_PACK, LONG_RULE, LONG_LOCAL}
    for name, delivery in deliveries.items():
        assert delivery.attributes["name"] == name
        failures = [
            t for t in delivery.document["transitions"] if t["new"]["status"].endswith("FAILED")
        ]
        assert failures
        assert all(t["new"]["error_message"] == UNICODE for t in failures)
        # And the subject is what SNS accepts: printable ASCII, one line, under 100 characters
        assert len(delivery.subject) < 100
        assert delivery.subject.isascii()
        assert delivery.subject.isprintable()
    assert deliveries[LONG_RULE].document["transitions"][-1]["new"]["error_code"] == "Ünïcödé"
    # And the next run repeats nothing
    deployment.run("again")
    assert deployment.transitions() == []


def test_ten_thousand_accounts_failing_in_one_pack_are_one_message_that_fits(
    recorded_deployment, config_sim
):
    deployment, proxy = recorded_deployment
    # Given a pack deployed to 10,000 accounts, baselined
    accounts = [str(300_000_000_000 + i) for i in range(10_000)]
    config_sim.add_accounts(accounts)
    config_sim.region(REGION).put_org_pack("ops-baseline")
    deployment.run("baseline")
    deployment.received()
    proxy.record()
    # When it fails in every one of them
    config_sim.region(REGION).put_org_pack(
        "ops-baseline",
        status="UPDATE_FAILED",
        error_code="MaxNumberOfConformancePacksExceededException",
        error_message="the account already has 50 conformance packs",
    )
    summary = deployment.run("ten-thousand")
    # Then exactly one message was published, once to each rendering's topic, and each publish
    # fits SNS's 256 KiB with its subject and attributes
    publishes = {
        form["TopicArn"].rsplit("-", 1)[-1]: form
        for form in (r.form() for r in proxy.recorded("sns"))
        if form.get("Action", "").startswith("Publish")
    }
    assert sorted(publishes) == ["chat", "json", "text"]
    for publish in publishes.values():
        attributes = sum(
            len(v.encode()) for k, v in publish.items() if k.startswith("MessageAttributes.")
        )
        assert len(publish["Message"].encode()) + len(publish["Subject"]) + attributes <= SNS_LIMIT
        assert "MessageStructure" not in publish  # String: the default
    [delivery] = deployment.transitions()
    assert summary["messages_failed"] == 0
    # And the email says how many accounts it does not list
    email = publishes["text"]["Message"]
    listed_in_email = sum(1 for account in accounts if account in email)
    [more] = [int(n) for n in re.findall(r"and (\d+) more", email)]
    assert 0 < listed_in_email < 10_000
    assert more == 10_000 - listed_in_email
    # And the JSON document counts what it left out: every account is listed or counted
    document = delivery.document
    listed = [t for t in document["transitions"] if t["account_id"]]
    assert len(listed) + document["omitted_transitions"] == 10_000
    assert document["omitted_transitions"] > 0
    # And the next run, with nothing changed, repeats nothing
    deployment.run("again")
    assert deployment.transitions() == []
