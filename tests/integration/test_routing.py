"""Routing through SNS (moto): each copy of a message is published with MessageStructure String to
the topic of each rendering, with an `audience` attribute; subscriptions' filter policies, the
ones the stack writes, select what each destination receives."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest

from config_notifier.model import EVERYONE, Rendering, Severity
from sandbox import ConfigSimulator
from sandbox.notifier import Notifier
from sandbox.resources import Delivery
from tests.integration.conftest import REGIONS

REGION = REGIONS[0]
ACCOUNTS = [str(200_000_000_000 + i) for i in range(6)]
TEAM_PACKS = ["payments-baseline", "payments-encryption"]
OTHER_PACKS = ["identity-baseline", "ops-logging"]
ROUTES = [{"name": "payments", "match": {"deployments": ["payments-*"]}}]
FAILURES = (Severity.FAILURE, Severity.STUCK)  # the email filter "failures" (infra/values.py)


@pytest.fixture
def routed(
    make_notifier: Callable[..., Notifier], sandbox_boto3_session: boto3.Session
) -> Iterator[Notifier]:
    """A notifier with a route for the payments team's packs, on a bus of its own."""
    events = sandbox_boto3_session.client("events", region_name="us-east-1")
    name = f"routing-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    yield make_notifier(EVENT_BUS_NAME=name, ROUTES=json.dumps(ROUTES))
    events.delete_event_bus(Name=name)


def baselined(notifier: Notifier, sim: ConfigSimulator) -> None:
    sim.add_accounts(ACCOUNTS)
    for pack in TEAM_PACKS + OTHER_PACKS:
        sim.region(REGION).put_org_pack(pack, status="CREATE_SUCCESSFUL")
    notifier.run("baseline")


def fail(sim: ConfigSimulator, pack: str, account: str) -> None:
    sim.region(REGION).set_member_status(
        "pack", pack, account, "CREATE_FAILED", "ConformancePackCreationFailed", "denied"
    )


def names(deliveries: list[Delivery]) -> list[str]:
    return sorted(d.attributes["name"] for d in deliveries if d.is_transition)


def test_a_route_for_one_team_s_packs_delivers_those_and_nothing_else(
    routed: Notifier, config_sim: ConfigSimulator
) -> None:
    # Given a route for the payments team's packs (payments-*), with a queue and an email on it,
    # and the stack's own subscribers (audience all)
    team_json = routed.subscribe(Rendering.JSON, "payments")
    team_text = routed.subscribe(Rendering.TEXT, "payments")
    everyone_text = routed.subscribe(Rendering.TEXT, EVERYONE)
    # and a baselined organization: both team packs and two others
    baselined(routed, config_sim)
    for queue in (None, team_json, team_text, everyone_text):
        routed.received(queue)
    # When every pack fails in one account each
    for index, pack in enumerate(TEAM_PACKS + OTHER_PACKS):
        fail(config_sim, pack, ACCOUNTS[index])
    summary = routed.run("failures")
    # Then the route's queue gets the team's packs, each with its failing account, and nothing else
    team = routed.received(team_json)
    everyone = routed.received()
    print(
        f"routed: the payments route received {len(team)} of the {len(everyone)} messages "
        f"everyone did ({', '.join(names(team))})"
    )
    assert names(team) == TEAM_PACKS
    assert all(d.attributes["audience"] == "payments" for d in team)
    assert {d.document["name"]: d.accounts for d in team} == {
        "payments-baseline": [ACCOUNTS[0]],
        "payments-encryption": [ACCOUNTS[1]],
    }
    # And the stack's own subscribers get every pack, once each
    assert names(everyone) == sorted(TEAM_PACKS + OTHER_PACKS)
    assert all(d.attributes["audience"] == EVERYONE for d in everyone)
    # And the email subscribers get the text of their own copies, String-structured
    team_emails = routed.received(team_text)
    assert names(team_emails) == TEAM_PACKS
    assert all(d.message.startswith("[FAILED] payments-") for d in team_emails)
    assert names(routed.received(everyone_text)) == sorted(TEAM_PACKS + OTHER_PACKS)
    # And the run counts one message per pack: a route's copy is part of its message
    assert summary["messages_published"] == 4
    assert summary["messages_failed"] == 0


def test_a_route_by_account_gets_only_its_accounts_from_a_shared_pack(
    make_notifier: Callable[..., Notifier], config_sim: ConfigSimulator
) -> None:
    # Given a route for two accounts' failures, and a pack failing in three accounts
    route = {"name": "tenant-a", "match": {"accounts": ACCOUNTS[:2], "severities": ["failure"]}}
    notifier = make_notifier(ROUTES=json.dumps([route]))
    tenant = notifier.subscribe(Rendering.JSON, "tenant-a")
    baselined(notifier, config_sim)
    notifier.received()
    for account in ACCOUNTS[1:4]:
        fail(config_sim, OTHER_PACKS[0], account)
    notifier.run("failures")
    # Then the route gets one message naming its one failing account, not the others
    [delivery] = notifier.received(tenant)
    assert delivery.accounts == [ACCOUNTS[1]]
    assert delivery.subject.endswith(": 1 account failing")
    # And everyone gets the three
    [whole] = notifier.transitions()
    assert sorted(whole.accounts) == ACCOUNTS[1:4]


def test_an_email_severity_filter_selects_on_a_string_structured_message(
    routed: Notifier, config_sim: ConfigSimulator
) -> None:
    # Given an email subscriber of the text topic with the filter "failures": the policy the stack
    # writes for it, on audience and on severities failure and stuck
    failures_only = routed.subscribe(Rendering.TEXT, EVERYONE, FAILURES)
    baselined(routed, config_sim)
    # Then the baseline summary, of severity progress, did not reach it
    assert routed.received(failures_only) == []
    # When one pack fails and another is updated successfully
    fail(config_sim, OTHER_PACKS[0], ACCOUNTS[0])
    config_sim.region(REGION).set_org_status("pack", OTHER_PACKS[1], "UPDATE_IN_PROGRESS")
    routed.run("mixed")
    # Then the failure reaches it as the email text, and the progress does not
    [email] = routed.received(failures_only)
    assert email.attributes["severity"] == "failure"
    assert email.message.startswith(f"[FAILED] {OTHER_PACKS[0]}")
    assert "What to look at next:" in email.message
    # While everyone's JSON subscriber got both
    assert names(routed.transitions()) == sorted(OTHER_PACKS)
