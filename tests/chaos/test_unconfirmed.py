"""Which deliveries a fault left unconfirmed, read from what the fault proxy saw of a real run: the
evidence the chaos scorer explains a duplicate with, entity by entity."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from chaos.score import Unconfirmed
from chaos.timeline import Fault
from chaos.unconfirmed import confirms, unconfirmed
from chaos.world import Key
from sandbox import ConfigSimulator
from sandbox.fault_proxy import Exchange, FaultProxy, ProxyFault, Request, Response
from sandbox.notifier import Notifier
from tests.chaos.conftest import REGIONS, kill_after_publish

ACCOUNTS = [str(200_000_000_000 + i) for i in range(6)]
REGION = REGIONS[0]
PACK = "ops-baseline"
FAILING = ACCOUNTS[2]
PACK_KEY: Key = (REGION, "organization-pack", PACK, "")
MEMBER_KEY: Key = (REGION, "organization-pack-member", PACK, FAILING)
COMMIT_WRITES = '"rev"'  # the snapshot's record chunks carry a revision; outboxes do not


@pytest.fixture
def failing(deployment: Notifier, config_sim: ConfigSimulator) -> Notifier:
    """A baselined organization with one pack in each region; a member account of the pack in
    REGION fails before the next run."""
    config_sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        config_sim.region(region).put_org_pack(PACK)
        config_sim.region(region).put_account_pack("local-guardrails")
    deployment.run("baseline")
    deployment.received()
    config_sim.region(REGION).set_member_status(
        "pack", PACK, FAILING, "CREATE_FAILED", "NoAvailableConfigurationRecorderException", "no"
    )
    return deployment


def recorded_run(deployment: Notifier, proxy: FaultProxy, *rules: ProxyFault) -> list[Exchange]:
    """One run with `rules` active; every exchange the proxy saw during it."""
    proxy.set_faults(rules)
    proxy.record()
    try:
        deployment.invoke("faulty")
        proxy.wait_idle()
        return proxy.exchanges()
    finally:
        proxy.record(on=False)
        proxy.clear_faults()


def test_a_lost_sns_answer_leaves_the_entities_of_that_message_unconfirmed(failing, fault_proxy):
    # Given a member account that fails, and SNS taking the next publish but losing its answer
    fault = Fault(
        "sns-publish-lost-answer",
        proxy=(ProxyFault("sns", "Publish", "InternalError", count=1, applied=True),),
    )
    # When the run publishes the failure
    exchanges = recorded_run(failing, fault_proxy, *fault.proxy)
    found = unconfirmed(exchanges, [fault])
    # Then that message's entities are unconfirmed, by that fault, and nothing of the other region
    assert [u.cause for u in found] == ["sns-publish-lost-answer"]
    assert MEMBER_KEY in found[0].keys
    assert {key[:3] for key in found[0].keys} <= {PACK_KEY[:3], MEMBER_KEY[:3]}


def test_a_publish_sns_surely_refused_leaves_nothing_unconfirmed(failing, fault_proxy):
    # Given a member account that fails, and SNS throttling every publish (a certain refusal)
    rule = ProxyFault("sns", "Publish", "Throttled")
    # When the run tries to publish the failure
    exchanges = recorded_run(failing, fault_proxy, rule)
    # Then nothing was left unconfirmed: the next run tells it as new, never as a repeat
    assert unconfirmed(exchanges, [Fault("sns-publish-error", proxy=(rule,))]) == []


def test_a_conflicting_commit_leaves_the_members_it_would_confirm_unconfirmed(failing, fault_proxy):
    # Given a member account that fails, and every commit of a snapshot chunk refused as another
    # writer's
    fault = Fault(
        "dynamodb-conflict",
        proxy=(
            ProxyFault(
                "dynamodb", "PutItem", "ConditionalCheckFailedException", contains=COMMIT_WRITES
            ),
        ),
    )
    # When the run publishes the failure and cannot commit it
    found = unconfirmed(recorded_run(failing, fault_proxy, *fault.proxy), [fault])
    # Then the member is unconfirmed by the conflict on its commit
    assert MEMBER_KEY in {key for u in found if u.cause == "dynamodb-conflict" for key in u.keys}


def test_a_write_refused_before_anything_was_published_leaves_nothing_unconfirmed(
    failing, fault_proxy
):
    # Given a member account that fails, and every snapshot write refused (outbox included)
    rule = ProxyFault("dynamodb", "PutItem", "InternalServerError")
    # When the run cannot record its outbox, and so publishes nothing
    exchanges = recorded_run(failing, fault_proxy, rule)
    # Then no delivery was left unconfirmed: none was made
    assert not any(
        e.request.service == "sns" and e.request.operation.startswith("Publish") for e in exchanges
    )
    assert unconfirmed(exchanges, [Fault("dynamodb-write-error", proxy=(rule,))]) == []


def test_a_kill_after_publishing_leaves_the_outbox_entities_unconfirmed(failing, fault_proxy):
    # Given a member account that fails
    fault_proxy.record()
    try:
        # When the function is killed right after its publish, before it could commit
        kill_after_publish(failing, fault_proxy)
        exchanges = fault_proxy.exchanges()
    finally:
        fault_proxy.record(on=False)
    # Then the outbox it left names the member: unconfirmed by the kill
    found = unconfirmed(exchanges, killed=True)
    assert [u.cause for u in found] == ["kill"]
    assert MEMBER_KEY in found[0].keys


def test_a_run_that_confirmed_everything_leaves_no_outbox_for_a_kill_to_explain(
    failing, fault_proxy
):
    # Given a member account that fails, and a run that publishes and commits it
    exchanges = recorded_run(failing, fault_proxy)
    # When its record is read as if a kill had landed afterwards
    # Then nothing is unconfirmed: its outboxes were removed
    assert unconfirmed(exchanges, killed=True) == []


def publish(run_id: str, key: Key, status: int = 200, *, topic: str = "json") -> Exchange:
    """A Publish of one transition to the `topic` rendering's topic, as the notifier sends it
    (MessageStructure String: the JSON topic's body is the document, the text topic's is text;
    both carry the message's subject and attributes), and its answer."""
    region, kind, name, account = key
    document = {
        "schema": "config-deployment-notifier.transitions",
        "run_id": run_id,
        "region": region,
        "transitions": [
            {
                "kind": kind,
                "name": name,
                "account_id": account or None,
                "old": None,
                "new": {"status": "CREATE_FAILED", "error_code": "E"},
            }
        ],
    }
    form = {
        "Action": "Publish",
        "TopicArn": f"arn:aws:sns:{REGION}:123456789012:notifier-{topic}",
        "Subject": f"[FAILED] {name} ({account or region})",
        "Message": json.dumps(document) if topic == "json" else f"{name} failed in {account}",
        "MessageAttributes.entry.1.Name": "severity",
        "MessageAttributes.entry.1.Value.DataType": "String",
        "MessageAttributes.entry.1.Value.StringValue": "error",
    }
    request = Request("POST", "/", [], urlencode(form).encode(), "sns", "Publish")
    return Exchange(request, Response(status, [], b""))


def test_two_overlapping_runs_that_both_published_an_entity_leave_it_unconfirmed():
    # Given two runs of one tick that both published the member, and one that only the first did
    exchanges = [
        publish("tick-0009-1", MEMBER_KEY),
        publish("tick-0009-1", PACK_KEY),
        publish("tick-0009-2", MEMBER_KEY),
    ]
    # When read as an overlapping tick
    # Then the member is unconfirmed by the overlap, the pack is not
    assert unconfirmed(exchanges, overlap=True) == [Unconfirmed("overlap", frozenset({MEMBER_KEY}))]
    # And outside an overlapping tick the same record explains nothing
    assert unconfirmed(exchanges) == []


def test_an_sns_5xx_not_injected_is_named_by_its_status():
    # Given a publish answered with a 5xx no rule injected
    exchanges = [publish("tick-0003", MEMBER_KEY, status=503)]
    # Then it is unconfirmed, named by what was answered
    assert unconfirmed(exchanges) == [
        Unconfirmed("sns 503 (not injected)", frozenset({MEMBER_KEY}))
    ]


OTHER_PACK: Key = (REGION, "organization-pack", "other", "")
OTHER_MEMBER: Key = (REGION, "organization-pack-member", "other", FAILING)
RULE_MEMBER: Key = (REGION, "organization-rule-member", PACK, FAILING)
ACCOUNT_PACK: Key = (REGION, "account-pack", "local", "")


@pytest.mark.parametrize(
    ("pk", "sk", "covered"),
    [
        # a pack's member chunk: its member accounts only
        (f"M#{REGION}#organization-pack#{PACK}", "chunk#0000", {MEMBER_KEY}),
        # the region's records: its rules, packs and account packs
        (f"R#{REGION}", "records#0001", {PACK_KEY, OTHER_PACK, ACCOUNT_PACK}),
        # a pack's outbox (its head, a piece): the pack and its member accounts
        (f"R#{REGION}", f"outbox#organization-pack#{PACK}", {PACK_KEY, MEMBER_KEY}),
        (f"R#{REGION}", f"outbox#organization-pack#{PACK}#g1#0001", {PACK_KEY, MEMBER_KEY}),
        # the region's single messages: account packs and removed rules and packs
        (f"R#{REGION}", "outbox##singles", {PACK_KEY, OTHER_PACK, ACCOUNT_PACK}),
        # another region, a baseline marker: nothing
        ("R#eu-west-1", "records#0001", set()),
        (f"R#{REGION}", "#baseline#organization-packs", set()),
    ],
)
def test_a_snapshot_item_confirms_the_entities_it_holds(pk, sk, covered):
    # Given entities of two packs, a rule's member account and an account pack, in one region
    keys = [PACK_KEY, MEMBER_KEY, OTHER_PACK, OTHER_MEMBER, RULE_MEMBER, ACCOUNT_PACK]
    # When asked which of them the item pk/sk confirms
    # Then exactly those it holds
    assert {key for key in keys if confirms(pk, sk, key)} == covered


def test_a_lost_answer_on_the_text_topic_leaves_the_message_of_its_json_copy_unconfirmed():
    # Given a message whose text copy SNS may have taken (a 5xx) and whose JSON copy it took
    exchanges = [
        publish("tick-0004", MEMBER_KEY, status=500, topic="text"),
        publish("tick-0004", MEMBER_KEY),
        publish("tick-0004", PACK_KEY),
    ]
    # Then the message's entities are unconfirmed, named from its JSON copy; the other's are not
    assert unconfirmed(exchanges) == [
        Unconfirmed("sns 500 (not injected)", frozenset({MEMBER_KEY}))
    ]


def test_a_copy_refused_on_one_topic_leaves_its_message_unconfirmed_when_another_copy_went():
    # Given a message whose text copy SNS surely refused (a 4xx) and whose JSON copy it took
    exchanges = [
        publish("tick-0005", MEMBER_KEY, status=400, topic="text"),
        publish("tick-0005", MEMBER_KEY),
    ]
    # Then it is unconfirmed: the notifier tells it again, and the JSON subscriber hears it twice
    assert unconfirmed(exchanges) == [
        Unconfirmed("sns 400 (not injected)", frozenset({MEMBER_KEY}))
    ]
    # And when every copy was surely refused, nothing is: its next delivery is its first
    refused = [
        publish("tick-0005", MEMBER_KEY, status=400, topic="text"),
        publish("tick-0005", MEMBER_KEY, status=400),
    ]
    assert unconfirmed(refused) == []
    # And when the run published the refused copy again and SNS took it, nothing is: it is
    # accepted, and its next delivery is a new transition's
    taken_again = [*exchanges, publish("tick-0005", MEMBER_KEY, topic="text")]
    assert unconfirmed(taken_again) == []
