"""Grouping by cause, and the one message a notice becomes."""

from __future__ import annotations

import json
from collections.abc import Mapping

from config_notifier.diff import transition
from config_notifier.grouping import Cause, notices
from config_notifier.model import EntityId, Group, Kind, Status, Stuck
from config_notifier.render_notice import render_notice
from config_notifier.wording import MAX_MESSAGE_BYTES, MAX_SUBJECT, Context

CONTEXT = Context(
    run_id="run-1",
    sent_at="2026-11-21T10:00:00+00:00",
    account_names={"111111111111": "prod"},
)
REGIONS = ("us-east-1", "eu-west-1")
DEPLOYMENTS = [(Kind.ORG_RULE, f"rule-{i}") for i in range(5)] + [
    (Kind.ORG_PACK, f"pack-{i}") for i in range(7)
]
NEWCOMER = "111111111111"


def member_group(
    region: str,
    kind: Kind,
    name: str,
    accounts: Mapping[str, tuple[str | None, str]],
    *,
    parent: tuple[str, str] | None = None,
) -> Group:
    """A rule or pack in `region` whose member accounts moved (account -> (old, new))."""
    parent_entity = EntityId(region, kind, name)
    members = tuple(
        transition(
            EntityId(region, kind.member_kind, name, account),
            Status(old) if old else None,
            Status(new, "Boom" if new.endswith("FAILED") else None),
        )
        for account, (old, new) in accounts.items()
    )
    moved = transition(parent_entity, Status(parent[0]), Status(parent[1])) if parent else None
    return Group(
        region, kind, name, moved, Status(parent[1] if parent else "CREATE_SUCCESSFUL"), members
    )


def joined(account: str) -> list[Group]:
    """An account joining: every rule and pack deploys to it in both regions."""
    return [
        member_group(
            region,
            kind,
            name,
            {account: (None, "CREATE_IN_PROGRESS")},
            parent=("CREATE_SUCCESSFUL", "CREATE_IN_PROGRESS"),
        )
        for region in REGIONS
        for kind, name in DEPLOYMENTS
    ]


def keyed(groups: list[Group]) -> list[tuple[int, Group]]:
    return list(enumerate(groups))


def test_an_account_joining_twelve_deployments_in_two_regions_is_one_notice() -> None:
    # Given an account joining 12 rules and packs in 2 regions: 24 groups
    groups = joined(NEWCOMER)
    # When they are grouped by cause
    [notice] = notices(keyed(groups))
    # Then one notice, about that account, carries every group with its own organization move
    assert notice.cause is Cause.ACCOUNTS
    assert notice.accounts == (NEWCOMER,)
    assert len(notice.groups) == 24
    assert all(g.parent is not None for g in notice.groups)
    assert {key for key, _ in notice.parts} == set(range(24))
    # And its message names the account, how many deployments and regions, and fits a subject
    message = render_notice(notice, CONTEXT)
    assert message.subject == "[DEPLOYING] prod (111111111111) in 12 deployments, 2 regions"
    assert len(message.subject) <= MAX_SUBJECT
    assert "Progress: 48 DEPLOYING." in message.bodies["email"]
    assert json.loads(message.bodies["sqs"])["cause"] == "accounts"


def test_a_pack_failing_in_two_regions_is_one_notice_listing_every_failure() -> None:
    # Given a pack failing in 3 accounts of 40 in each of 2 regions
    failing = {f"{i:012d}": ("CREATE_IN_PROGRESS", "CREATE_FAILED") for i in range(3)}
    fine = {f"{900 + i:012d}": ("CREATE_IN_PROGRESS", "CREATE_SUCCESSFUL") for i in range(37)}
    groups = [member_group(region, Kind.ORG_PACK, "team-a", failing | fine) for region in REGIONS]
    # When grouped
    [notice] = notices(keyed(groups))
    # Then one notice about the pack: failures listed by name and account, progress counted
    assert notice.cause is Cause.DEPLOYMENT
    message = render_notice(notice, CONTEXT)
    assert message.subject == "[FAILED] team-a (org pack) in 2 regions: 3 accounts failing"
    email = message.bodies["email"]
    for region in REGIONS:
        for account in failing:
            assert f"FAILED    {region} {account}  CREATE_IN_PROGRESS -> CREATE_FAILED" in email
    assert "Progress: 74 DEPLOYED." in email
    assert "region" not in message.attributes
    assert message.attributes["name"] == "team-a"


def test_an_unrelated_failure_stays_with_its_own_deployment() -> None:
    # Given an account joining every deployment, and a pack failing in 20 other accounts
    failing = {f"{i:012d}": ("CREATE_SUCCESSFUL", "CREATE_FAILED") for i in range(20)}
    groups = [*joined(NEWCOMER), member_group("us-east-1", Kind.ORG_PACK, "other", failing)]
    # When grouped
    found = notices(keyed(groups))
    # Then two notices, the failure first: the pack's, and the account's
    assert [n.cause for n in found] == [Cause.DEPLOYMENT, Cause.ACCOUNTS]
    assert {g.name for g in found[0].groups} == {"other"}
    assert len(found[1].groups) == 24


def test_the_newcomer_in_a_deployment_rolling_out_everywhere_goes_with_the_rollout() -> None:
    # Given a new pack rolling out to 30 accounts, one of them the newcomer joining everything
    rollout = {f"{i:012d}": (None, "CREATE_IN_PROGRESS") for i in range(29)}
    rollout[NEWCOMER] = (None, "CREATE_IN_PROGRESS")
    groups = [
        *joined(NEWCOMER),
        member_group("us-east-1", Kind.ORG_PACK, "new-pack", rollout, parent=("A", "B")),
    ]
    # When grouped
    found = notices(keyed(groups))
    by_cause = {n.cause: n for n in found}
    # Then the rollout keeps all its 30 accounts and its own move; the account notice the rest
    [rollout_group] = by_cause[Cause.DEPLOYMENT].groups
    assert len(rollout_group.members) == 30
    assert rollout_group.parent is not None
    assert len(by_cause[Cause.ACCOUNTS].groups) == 24


def test_a_deployment_with_a_change_of_its_own_keeps_its_accounts_changes_whole() -> None:
    # Given two accounts joining four packs, and one of the packs also failing in account C
    both = {"a00000000000": (None, "CREATE_IN_PROGRESS"), "b00000000000": (None, "X")}
    p1 = member_group("us-east-1", Kind.ORG_PACK, "p1", both, parent=("S", "T"))
    p2 = member_group(
        "us-east-1",
        Kind.ORG_PACK,
        "p2",
        both | {"c00000000000": ("CREATE_SUCCESSFUL", "CREATE_FAILED")},
        parent=("S", "T"),
    )
    p3 = member_group("us-east-1", Kind.ORG_PACK, "p3", both)
    p4 = member_group("us-east-1", Kind.ORG_PACK, "p4", both)
    # When grouped
    found = notices(keyed([p1, p2, p3, p4]))
    deployment = next(n for n in found if n.cause is Cause.DEPLOYMENT)
    accounts = next(n for n in found if n.cause is Cause.ACCOUNTS)
    # Then p2 goes whole, with the joiners, in its own message: SNS's answer to it is p2's
    assert deployment.groups == (p2,)
    # And the joiners' other packs are one message, each with its own move
    assert accounts.accounts == ("a00000000000", "b00000000000")
    assert [g.name for g in accounts.groups] == ["p1", "p3", "p4"]
    assert accounts.groups[0].parent is not None
    # And every group is in exactly one message
    assert sorted(key for n in found for key, _ in n.parts) == [0, 1, 2, 3]


def test_stalls_group_like_transitions() -> None:
    # Given a stuck pack in two regions
    groups = [
        Group(
            region,
            Kind.ORG_PACK,
            "slow",
            None,
            Status("CREATE_IN_PROGRESS"),
            stuck=(
                Stuck(
                    EntityId(region, Kind.ORG_PACK, "slow"),
                    Status("CREATE_IN_PROGRESS"),
                    since="2026-11-21T07:00:00+00:00",
                ),
            ),
        )
        for region in REGIONS
    ]
    # When grouped and rendered
    [notice] = notices(keyed(groups))
    message = render_notice(notice, CONTEXT)
    # Then one stuck message lists both, with how long
    assert message.subject == "[STUCK] slow (org pack) in 2 regions: 2 items stuck"
    assert message.attributes["event_type"] == "stuck"
    assert message.bodies["email"].count("CREATE_IN_PROGRESS since") == 2
    assert "for 3 h 0 min" in message.bodies["email"]


def test_one_group_is_rendered_as_its_own_message() -> None:
    # Given one pack in one region
    group = member_group("eu-west-1", Kind.ORG_PACK, "solo", {"000000000001": ("A", "B")})
    # When grouped and rendered
    [notice] = notices(keyed([group]))
    # Then it is the message the pack's group has always had
    assert render_notice(notice, CONTEXT).subject.endswith("in eu-west-1: 1 account changed")


def test_a_huge_notice_is_cut_with_and_n_more_and_fits_sns() -> None:
    # Given 300 accounts failing a pack in 2 regions with long errors
    failing = {f"{i:012d}": ("CREATE_SUCCESSFUL", "CREATE_FAILED") for i in range(300)}
    groups = [member_group(region, Kind.ORG_PACK, "big", failing) for region in REGIONS]
    for group in groups:
        object.__setattr__(
            group,
            "members",
            tuple(
                t.__class__(
                    t.entity,
                    t.change,
                    t.old,
                    Status("CREATE_FAILED", "Boom", "x" * 3_000),
                    t.severity,
                )
                for t in group.members
            ),
        )
    # When rendered
    [notice] = notices(keyed(groups))
    message = render_notice(notice, CONTEXT)
    # Then it fits SNS, and says how many it left out, never silently
    assert message.size <= MAX_MESSAGE_BYTES
    assert "... and " in message.bodies["email"]
    document = json.loads(message.bodies["sqs"])
    listed = sum(len(g["transitions"]) for g in document["groups"])
    assert listed + document["omitted"] == 600
