"""Bad routes stop the synth: a key the route does not take (with the nearest one), a destination
the stack cannot build (a bad address, the ARN of another service, a chat channel missing an id),
a region nobody watches, an environment over Lambda's 4 KB. Each problem names the route and the
key with a valid example, every problem of every route at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import AppConfig, ContextError
from infra.routes import DESTINATION_EXAMPLES, EXAMPLE, TEAM_ID, TEAMS_CHANNEL_ID

QUEUE = "arn:aws:sqs:us-east-1:123456789012:payments-deployments"


def route(name: str = "payments", **destinations: Any) -> dict[str, Any]:
    return {
        "name": name,
        "match": {"deployments": ["payments-*"]},
        "destinations": destinations or {"queues": [QUEUE]},
    }


def problems_of(*routes: dict[str, Any], **context: Any) -> list[str]:
    context = {"routes": list(routes), **context}
    with pytest.raises(ContextError) as caught:
        AppConfig.from_context(context.get, present=context)
    return caught.value.problems


def test_a_mistyped_key_of_a_route_names_the_route_and_the_key_meant() -> None:
    # Given a route whose destinations are under "destination"
    mistyped = route()
    mistyped["destination"] = mistyped.pop("destinations")
    # Then the one problem names the route and suggests the key, with a whole route as example
    [problem] = problems_of(mistyped)
    assert problem == (
        'routes: route "payments": "destination" is not a key it takes; did you mean '
        f'"destinations"? for example {EXAMPLE}'
    )


def test_a_mistyped_destination_names_the_destination_meant_with_its_example() -> None:
    [problem] = problems_of(route(email=["payments@example.com"]))
    assert problem == (
        'routes: route "payments": destinations: "email" is not a key it takes; did you mean '
        f'"emails"? for example {DESTINATION_EXAMPLES["emails"]}'
    )


@pytest.mark.parametrize(
    ("destinations", "key", "what"),
    [
        ({"emails": ["payments-oncall"]}, "emails", "'payments-oncall' is not an email address"),
        ({"emails": "payments@example.com"}, "emails", "is not a list of email addresses"),
        (
            {"queues": ["arn:aws:sns:us-east-1:123456789012:payments"]},
            "queues",
            "is the ARN of sns, not of an SQS queue",
        ),
        ({"functions": [QUEUE]}, "functions", "is the ARN of sqs, not of a Lambda function"),
        ({"functions": ["payments-tickets"]}, "functions", "is not the ARN of a Lambda function"),
        ({"slack": {"workspaceId": "T0123ABCD"}}, "slack", "channelId missing"),
        (
            {"slack": {"workspaceId": "T0123ABCD", "channelId": "#payments"}},
            "slack",
            'channelId "#payments" is not a Slack channel id',
        ),
        (
            {"teams": {"teamId": TEAM_ID, "channelId": TEAMS_CHANNEL_ID}},
            "teams",
            "tenantId missing (a Microsoft Teams channel takes teamId, channelId, tenantId)",
        ),
        (
            {"teams": {"teamId": "payments", "channelId": TEAMS_CHANNEL_ID, "tenantId": TEAM_ID}},
            "teams",
            'teamId "payments" is not a Microsoft Teams team id (a UUID)',
        ),
    ],
)
def test_a_destination_the_stack_cannot_build_is_named_with_a_valid_example(
    destinations: dict[str, Any], key: str, what: str
) -> None:
    [problem] = problems_of(route(**destinations))
    assert problem.startswith(f'routes: route "payments": destinations.{key}: ')
    assert what in problem
    assert problem.endswith(f"for example {DESTINATION_EXAMPLES[key]}")


def test_a_route_without_destinations_or_matching_everything_is_refused() -> None:
    nowhere = route()
    del nowhere["destinations"]
    everything = {**route("everything"), "match": {}}
    problems = problems_of(nowhere, everything)
    assert problems == [
        'routes: route "payments": destinations must name where its messages go: emails, '
        f"slack, teams, queues or functions; for example {EXAMPLE}",
        'routes: route "everything" matches everything, like the stack\'s own subscribers: give '
        f"it deployments, accounts, severities or regions; for example {EXAMPLE}",
    ]


def test_every_problem_of_every_route_is_reported_at_once() -> None:
    # Given three routes with four problems between them, one of them twice named, and another
    # key wrong too
    problems = problems_of(
        route(emails=["nobody"], functions=[QUEUE]),
        {**route("eu"), "match": {"regions": ["eu-central-1"]}},
        route(),
        maxConcurrency=0,
    )
    # Then each is listed, naming its route and key, each with an example
    assert [p.split(": ")[1] for p in problems if p.startswith("routes:")] == [
        'route "payments"',
        'route "payments"',
        'route "payments"',
        'route "eu"',
    ]
    assert "destinations.emails" in problems[1]
    assert "destinations.functions" in problems[2]
    assert "more than one route has this name" in problems[3]
    assert "match.regions: eu-central-1 is not watched (regions: us-east-1)" in problems[4]
    assert problems[0].startswith("maxConcurrency: ")
    assert all("for example" in p for p in problems)


def test_routes_count_against_the_function_s_4_kb() -> None:
    # Given routes whose matches together are larger than the function's environment allows
    routes = [
        {
            "name": f"team-{n:02d}",
            "match": {"deployments": [f"team-{n:02d}-{'x' * 40}-{m}-*" for m in range(6)]},
            "destinations": {"queues": [QUEUE]},
        }
        for n in range(12)
    ]
    # Then the synth stops, naming routes as what takes the room
    [problem] = problems_of(*routes)
    assert problem.startswith("routes, ")
    assert "over Lambda's 4 KB" in problem
    # And with a third of them, the same routes fit
    context = {"routes": routes[:4]}
    assert len(AppConfig.from_context(context.get, present=context).routes) == 4


def test_the_examples_are_themselves_valid_routes() -> None:
    # Given a route made of every destination example
    destinations: dict[str, Any] = {}
    for example in DESTINATION_EXAMPLES.values():
        destinations |= json.loads("{" + example.split(" (")[0] + "}")
    context = {"routes": [{**route(), "destinations": destinations}]}
    # Then it is accepted, with every destination
    [config] = AppConfig.from_context(context.get, present=context).routes
    assert config.emails
    assert config.slack is not None
    assert config.teams is not None
    assert config.queues
    assert config.functions


def test_every_problem_of_one_route_is_reported_at_once() -> None:
    # Given a route with a bad name, a mistyped match key and a bad severity
    bad = {
        "name": "Payments",
        "match": {"deployment": ["payments-*"], "severities": ["bad"]},
        "destinations": {"queues": [QUEUE]},
    }
    # Then synth reports all three, each naming the route, each with a valid example
    problems = problems_of(bad)
    assert len(problems) == 3
    assert all(p.startswith('routes: route "Payments"') for p in problems)
    assert all(p.endswith(f"for example {EXAMPLE}") for p in problems)
    assert any('(did you mean "deployments"?)' in p for p in problems)


def test_a_fifo_queue_is_refused_the_topics_are_standard() -> None:
    # Given a route whose queue is a FIFO queue
    fifo = "arn:aws:sqs:us-east-1:123456789012:payments-deployments.fifo"
    # Then synth refuses it, saying why, with a standard queue as example
    [problem] = problems_of(route(queues=[fifo]))
    assert problem == (
        f'routes: route "payments": destinations.queues: {fifo!r} is a FIFO queue: the '
        "notifier's topics are standard topics; give a standard queue; for example "
        f"{DESTINATION_EXAMPLES['queues']}"
    )


FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:payments-tickets"


def test_queues_and_functions_of_another_account_or_region_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a synth without a known account: destinations in two accounts, functions in two
    # regions
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    elsewhere = "arn:aws:lambda:eu-west-1:999999999999:function:tickets"
    problems = problems_of(route(queues=[QUEUE], functions=[FUNCTION, elsewhere]))
    # Then the stray one is named, in its account and in its region, against the first one's
    account, region = problems
    assert (
        f"{elsewhere!r} is in account 999999999999, not in the first destination's ({QUEUE}) "
        "account 123456789012" in account
    )
    assert (
        f"{elsewhere!r} is in region eu-west-1, not in the first destination's ({FUNCTION}) "
        "region us-east-1" in region
    )
    assert all("subscribe another one from where it lives" in p for p in problems)
    assert account.endswith(f"for example {DESTINATION_EXAMPLES['functions']}")


def test_destinations_are_held_to_the_account_and_region_cdk_deploys_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the CDK CLI deploying to account 111111111111 in us-east-1
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "111111111111")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "us-east-1")
    # When a route's queue is in account 123456789012
    [problem] = problems_of(route(queues=[QUEUE]))
    # Then synth refuses it, naming the stack's account
    assert (
        f"{QUEUE!r} is in account 123456789012, not in the stack's account 111111111111" in problem
    )
    # And a queue of that account passes
    ours = QUEUE.replace("123456789012", "111111111111")
    config = AppConfig.from_context({"routes": [route(queues=[ours])]}.get, present={"routes": 1})
    assert [r.queues for r in config.routes] == [(ours,)]
