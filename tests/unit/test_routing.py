"""Routes: a route's destinations get the part of each message the route matches, and nothing else;
and the letter that tells a group carries one copy per audience."""

from __future__ import annotations

import json
import re

import pytest

from config_notifier.audiences import copies_of
from config_notifier.diff import transition
from config_notifier.grouping import notices
from config_notifier.model import (
    EVERYONE,
    EntityId,
    Group,
    Kind,
    Rendering,
    Severity,
    Status,
    Stuck,
)
from config_notifier.reminders import Broken, Reminder
from config_notifier.routing import Route, parse_routes, restrict, restrict_reminder, to_json
from config_notifier.wording import Context

CONTEXT = Context(run_id="run-1", sent_at="2026-11-21T10:00:00+00:00")
REGION = "eu-west-1"
PAYMENTS, IDENTITY = "111122223333", "444455556666"
RUNNING, OK = Status("CREATE_IN_PROGRESS"), Status("CREATE_SUCCESSFUL")
FAILED = Status("CREATE_FAILED", "ConformancePackCreationFailed", "denied")


def pack_group(name: str, members: dict[str, Status], *, region: str = REGION) -> Group:
    """A pack whose organization-level status failed, and whose member accounts moved to
    `members`."""
    pack = EntityId(region, Kind.ORG_PACK, name)
    return Group(
        region,
        Kind.ORG_PACK,
        name,
        transition(pack, RUNNING, FAILED),
        FAILED,
        tuple(
            transition(EntityId(region, Kind.ORG_PACK_MEMBER, name, account), RUNNING, status)
            for account, status in members.items()
        ),
    )


ROLLOUT = pack_group("payments-baseline", {PAYMENTS: FAILED, IDENTITY: OK})


def accounts(group: Group | None) -> list[str]:
    assert group is not None
    return [t.entity.account_id for t in group.members]


def test_a_route_by_name_gets_the_whole_of_its_packs_and_nothing_of_others() -> None:
    route = Route("payments", deployments=("payments-*",))
    assert restrict(ROLLOUT, route) == ROLLOUT
    assert restrict(pack_group("identity-baseline", {IDENTITY: FAILED}), route) is None


def test_a_route_by_account_gets_only_that_account_and_not_the_organization_level_status() -> None:
    # Given a pack that failed in the payments account and deployed in the identity account
    # When it is restricted to a route for the payments account
    part = restrict(ROLLOUT, Route("payments", accounts=(PAYMENTS,)))
    # Then only that account's transition is in it: the organization-level one has no account
    assert accounts(part) == [PAYMENTS]
    assert part is not None
    assert part.parent is None
    # And its current status stays as context; its severity is the account's
    assert part.current == FAILED
    assert part.severity is Severity.FAILURE


def test_a_route_by_severity_leaves_out_what_is_less_severe() -> None:
    part = restrict(ROLLOUT, Route("oncall", severities=(Severity.FAILURE,)))
    assert accounts(part) == [PAYMENTS]
    assert part is not None
    assert part.parent == ROLLOUT.parent
    # And a message with nothing that severe is not the route's at all
    deployed = pack_group("payments-baseline", {IDENTITY: OK})
    assert restrict(deployed, Route("progress-only", severities=(Severity.RECOVERY,))) is None


def test_every_criterion_must_match_and_any_value_of_one_may() -> None:
    route = Route(
        "payments-eu",
        deployments=("identity-*", "payments-*"),
        accounts=(PAYMENTS, "999999999999"),
        regions=("eu-west-1",),
    )
    assert accounts(restrict(ROLLOUT, route)) == [PAYMENTS]
    # Given the same pack in another region, the route takes nothing of it
    us = pack_group("payments-baseline", {PAYMENTS: FAILED}, region="us-east-1")
    assert restrict(us, route) is None


def test_stuck_reports_match_as_severity_stuck_by_their_account() -> None:
    # Given a report of two member accounts stuck in progress, and nothing else
    stuck = tuple(
        Stuck(EntityId(REGION, Kind.ORG_PACK_MEMBER, "payments-baseline", a), RUNNING, "t0")
        for a in (PAYMENTS, IDENTITY)
    )
    group = Group(REGION, Kind.ORG_PACK, "payments-baseline", None, RUNNING, stuck=stuck)
    # Then a route for stuck reports of one account gets that account's report alone
    part = restrict(group, Route("payments", accounts=(PAYMENTS,), severities=(Severity.STUCK,)))
    assert part is not None
    assert [s.entity.account_id for s in part.stuck] == [PAYMENTS]
    # And a route for failures gets none of it
    assert restrict(group, Route("failures", severities=(Severity.FAILURE,))) is None


def test_the_message_has_everyone_s_copy_and_one_per_matching_route() -> None:
    # Given two routes, one matching the failing account and one matching nothing
    routes = [
        Route("payments", accounts=(PAYMENTS,)),
        Route("identity", deployments=("identity-*",)),
    ]
    # When the copies of the message about the rollout are made
    [notice] = notices([(0, ROLLOUT)])
    copies = copies_of(notice, CONTEXT, routes)
    # Then everyone gets the whole of it, and the payments route its account alone
    assert [m.audience for m in copies] == [EVERYONE, "payments"]
    whole, payments = copies
    assert {IDENTITY, PAYMENTS} <= set(whole.body(Rendering.TEXT).split())
    assert PAYMENTS in payments.body(Rendering.TEXT)
    assert IDENTITY not in payments.body(Rendering.TEXT)
    document = json.loads(payments.body(Rendering.JSON))
    assert [t["account_id"] for t in document["transitions"]] == [PAYMENTS]
    # And each copy says its audience in the attribute filter policies select on
    assert payments.sns_attributes["audience"] == "payments"
    assert whole.sns_attributes["audience"] == EVERYONE


def test_routes_round_trip_through_the_environment() -> None:
    routes = (
        Route("payments", deployments=("payments-*",), severities=(Severity.FAILURE,)),
        Route("eu", regions=("eu-west-1",), accounts=(PAYMENTS,)),
    )
    assert parse_routes(to_json(routes)) == routes
    assert parse_routes("") == ()


@pytest.mark.parametrize(
    ("routes", "problem"),
    [
        ('[{"name": "all", "match": {"regions": ["eu-west-1"]}}]', "the audience of the stack"),
        ('[{"name": "Payments Team", "match": {}}]', "is not a route name"),
        ('[{"name": "p", "match": {}}]', 'route "p" matches everything'),
        (
            '[{"name": "p", "match": {"account": ["1"]}}]',
            """match has unknown key 'account' (did you mean "accounts"?)""",
        ),
        ('[{"name": "p", "match": {"accounts": ["1"]}}]', "'1' is not a 12-digit account id"),
        ('[{"name": "p", "match": {"regions": ["mars"]}}]', "'mars' is not a region name"),
        ('[{"name": "p", "match": {"deployments": "p-*"}}]', "must be a list of non-empty"),
        ('[{"name": "p"}]', "match must be an object"),
        ('[{"name": "p", "to": [], "match": {}}]', "has unknown key 'to'; it takes name, match"),
        (
            '[{"name": "p", "match": {"regions": ["eu-west-1"]}},'
            ' {"name": "p", "match": {"regions": ["us-east-1"]}}]',
            "more than one route is named 'p'",
        ),
    ],
)
def test_a_bad_route_is_named_with_what_is_wrong(routes: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_routes(routes)


def broken_pack(name: str, accounts: dict[str, Severity]) -> Reminder:
    """A reminder of a pack failing itself and in `accounts` (each failing or stuck)."""
    pack = EntityId(REGION, Kind.ORG_PACK, name)
    since = "2026-11-20T10:00:00+00:00"
    return Reminder(
        pack,
        Broken(pack, FAILED, since, Severity.FAILURE),
        tuple(
            Broken(EntityId(REGION, Kind.ORG_PACK_MEMBER, name, a), FAILED, since, severity)
            for a, severity in accounts.items()
        ),
    )


def test_a_route_s_reminder_is_the_part_it_matches_as_for_its_messages() -> None:
    # Given a pack failing in one account and stuck in another, and another team's pack
    ours = broken_pack("payments-baseline", {PAYMENTS: Severity.FAILURE, IDENTITY: Severity.STUCK})
    theirs = broken_pack("identity-baseline", {IDENTITY: Severity.FAILURE})
    # Then a route by name reminds its pack whole, and nothing of the other
    by_name = Route("payments", deployments=("payments-*",))
    assert restrict_reminder(ours, by_name) == ours
    assert restrict_reminder(theirs, by_name) is None
    # And a route by account gets that account alone, not the pack's own state
    by_account = Route("tenant", accounts=(PAYMENTS,))
    part = restrict_reminder(ours, by_account)
    assert part is not None
    assert part.own is None
    assert [b.entity.account_id for b in part.members] == [PAYMENTS]
    # And a route by severity gets what is stuck, and nothing of what only fails
    stuck = Route("stalls", severities=(Severity.STUCK,))
    part = restrict_reminder(ours, stuck)
    assert part is not None
    assert (part.own, [b.entity.account_id for b in part.members]) == (None, [IDENTITY])
    assert restrict_reminder(theirs, stuck) is None


def test_every_problem_of_a_route_is_named_at_once() -> None:
    # Given a route with a bad name, a mistyped criterion and a severity that does not exist
    raw = '[{"name": "Payments", "match": {"deployment": ["p-*"], "severities": ["bad"]}}]'
    # Then one error names all three
    with pytest.raises(ValueError, match='route "Payments"') as caught:
        parse_routes(raw)
    message = str(caught.value)
    assert 'name "Payments" is not a route name' in message
    assert """match has unknown key 'deployment' (did you mean "deployments"?)""" in message
    assert "match.severities: 'bad' is not one of" in message


def test_a_route_s_part_of_an_account_message_without_its_accounts_names_the_deployments() -> None:
    # Given one account whose deployment moved three packs' organization-level status to failed
    groups = [pack_group(f"pack-{n}", {PAYMENTS: OK}) for n in range(3)]
    [notice] = notices(list(enumerate(groups)))
    assert notice.accounts == (PAYMENTS,)  # one message about the account
    # When a route for failures takes its part: the packs' own failures, not the account's
    [_, failures] = copies_of(notice, CONTEXT, [Route("alerts", severities=(Severity.FAILURE,))])
    # Then its subject counts the deployments, and says no "0 accounts"
    assert failures.subject == "[FAILED] 3 deployments in 1 region: 3 failing"
    assert PAYMENTS not in failures.body(Rendering.TEXT)
