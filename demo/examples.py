"""One example of each kind of message, rendered by the real renderer, for docs/messages.md.

`python -m demo.examples` prints that file's "Examples of every message" section; a test keeps
the file equal to it, so the examples cannot drift from what subscribers receive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from config_notifier.audiences import for_route
from config_notifier.diff import diff
from config_notifier.digest import render_digest
from config_notifier.grouping import Notice, notices
from config_notifier.model import (
    EntityId,
    Group,
    Kind,
    Message,
    Observation,
    Record,
    Status,
    Stuck,
    Transition,
)
from config_notifier.reminders import Policy
from config_notifier.render import render
from config_notifier.render_notice import render_notice
from config_notifier.routing import Route
from config_notifier.summary import render_baseline_summary
from config_notifier.wording import Context

REGION = "eu-west-1"
PACK = "security-baseline"
RULE = "required-tags"
SENT_AT = "2026-11-21T10:05:00+00:00"
CONTEXT = Context(
    run_id="4f9c2d1e-0b7a-4c55-9d3e-2a6b8c1f0e47",
    sent_at=SENT_AT,
    account_names={
        "111122223333": "payments-prod",
        "444455556666": "identity-prod",
        "777788889999": "R&D sandbox",
    },
)
UPDATED = "2026-11-21T10:01:12+00:00"


def _record(entity: EntityId, status: str, since: str = "2026-11-21T09:00:00+00:00") -> Record:
    return Record(entity, Status(status, updated_at=UPDATED), since, since)


def _pack_group(old: str, new: str, members: dict[str, tuple[str, str, Status]]) -> Group:
    pack = EntityId(REGION, Kind.ORG_PACK, PACK)
    parent = diff({pack: _record(pack, old)}, [Observation(pack, Status(new, updated_at=UPDATED))])
    before, after = {}, []
    for account, (was, _, now) in members.items():
        entity = EntityId(REGION, Kind.ORG_PACK_MEMBER, PACK, account)
        before[entity] = _record(entity, was)
        after.append(Observation(entity, now))
    return Group(
        REGION,
        Kind.ORG_PACK,
        PACK,
        parent[0] if parent else None,
        Status(new, updated_at=UPDATED),
        members=tuple(diff(before, after)),
    )


def failure() -> Message:
    failed = Status(
        "CREATE_FAILED",
        "ConformancePackCreationFailed",
        "The stack awsconfigconforms-security-baseline-4ktd2xqz is in CREATE_FAILED state: "
        "s3:PutBucketPolicy is denied by a service control policy",
        UPDATED,
    )
    return render(
        _pack_group(
            "CREATE_IN_PROGRESS",
            "CREATE_FAILED",
            {
                "111122223333": ("CREATE_IN_PROGRESS", "", failed),
                "777788889999": (
                    "CREATE_IN_PROGRESS",
                    "",
                    Status("CREATE_SUCCESSFUL", updated_at=UPDATED),
                ),
            },
        ),
        CONTEXT,
    )


def success() -> Message:
    done = Status("CREATE_SUCCESSFUL", updated_at=UPDATED)
    return render(
        _pack_group(
            "CREATE_IN_PROGRESS",
            "CREATE_SUCCESSFUL",
            {
                "111122223333": ("CREATE_IN_PROGRESS", "", done),
                "444455556666": ("CREATE_IN_PROGRESS", "", done),
            },
        ),
        CONTEXT,
    )


def recovery() -> Message:
    return render(
        _pack_group(
            "CREATE_FAILED",
            "CREATE_SUCCESSFUL",
            {
                "111122223333": (
                    "CREATE_FAILED",
                    "",
                    Status("CREATE_SUCCESSFUL", updated_at=UPDATED),
                )
            },
        ),
        CONTEXT,
    )


def stuck() -> Message:
    rule = EntityId(REGION, Kind.ORG_RULE, RULE)
    status = Status("UPDATE_IN_PROGRESS", updated_at="2026-11-21T07:58:40+00:00")
    # Every member finished, so none is read (docs/design.md rule 7): no member is unhealthy.
    report = Stuck(rule, status, "2026-11-21T08:00:00+00:00", (), members_finished=True)
    return render(Group(REGION, Kind.ORG_RULE, RULE, None, status, stuck=(report,)), CONTEXT)


def removed() -> Message:
    rule = EntityId(REGION, Kind.ORG_RULE, RULE)
    [gone] = diff({rule: _record(rule, "CREATE_SUCCESSFUL")}, [])
    return render(Group(REGION, Kind.ORG_RULE, RULE, gone, None), CONTEXT)


def account_pack() -> Message:
    pack = EntityId(REGION, Kind.ACCOUNT_PACK, "local-guardrails")
    now = Status(
        "CREATE_FAILED", None, "Template validation failed: unknown parameter MaxAge", UPDATED
    )
    [moved] = diff({pack: _record(pack, "CREATE_IN_PROGRESS")}, [Observation(pack, now)])
    return render(Group(REGION, Kind.ACCOUNT_PACK, pack.name, moved, now), CONTEXT)


def account_joins() -> Message:
    """One account joining: every rule and pack deploys to it in two regions, one message."""
    newcomer = "444455556666"
    deploying = Status("CREATE_IN_PROGRESS", updated_at=UPDATED)
    groups = [
        Group(
            region,
            kind,
            name,
            None,
            Status("CREATE_SUCCESSFUL", updated_at=UPDATED),
            members=tuple(
                diff(
                    {}, [Observation(EntityId(region, kind.member_kind, name, newcomer), deploying)]
                )
            ),
        )
        for region in (REGION, "us-east-1")
        for kind, name in (
            (Kind.ORG_RULE, RULE),
            (Kind.ORG_RULE, "s3-bucket-logging"),
            (Kind.ORG_PACK, PACK),
        )
    ]
    [notice] = notices(list(enumerate(groups)))
    return render_notice(notice, CONTEXT)


def rollout_fails() -> Message:
    """A pack rolled out to two regions, failing in a few accounts: one message."""
    return render_notice(_rollout_notice(), CONTEXT)


def routed_copy() -> Message:
    """The same message as the `emea` route of docs/messages.md ("Routes") gets it: the part in
    eu-west-1 about its two accounts."""
    route = Route("emea", accounts=("111122223333", "444455556666"), regions=("eu-west-1",))
    part = for_route(_rollout_notice(), route)
    assert part is not None  # noqa: S101 - the route names one of the failing accounts
    return replace(render_notice(part, CONTEXT), audience=route.name)


def _rollout_notice() -> Notice[int]:
    failed = Status(
        "CREATE_FAILED",
        "ConformancePackCreationFailed",
        "s3:PutBucketPolicy is denied by a service control policy",
        UPDATED,
    )
    done = Status("CREATE_SUCCESSFUL", updated_at=UPDATED)
    groups = []
    for region, failing in ((REGION, "111122223333"), ("us-east-1", "777788889999")):
        members = {
            account: ("CREATE_IN_PROGRESS", "", failed if account == failing else done)
            for account in ("111122223333", "444455556666", "777788889999")
        }
        group = _pack_group("CREATE_IN_PROGRESS", "CREATE_FAILED", members)
        groups.append(group if region == REGION else _in_region(group, region))
    [notice] = notices(list(enumerate(groups)))
    return notice


def _in_region(group: Group, region: str) -> Group:
    """The same group, about `region`."""

    def moved(t: Transition) -> Transition:
        return replace(t, entity=replace(t.entity, region=region))

    return replace(
        group,
        region=region,
        parent=moved(group.parent) if group.parent else None,
        members=tuple(map(moved, group.members)),
    )


def baseline_summary() -> Message:
    pack = EntityId(REGION, Kind.ORG_PACK, PACK)
    failing = Status("CREATE_FAILED", "ConformancePackCreationFailed", None, UPDATED)
    # In progress since 06:40 by AWS's clock: stuck already when the notifier is installed.
    stalled = Status("UPDATE_IN_PROGRESS", updated_at="2026-11-21T06:40:00+00:00")
    watched = {
        Kind.ORG_RULE: [
            Observation(EntityId(REGION, Kind.ORG_RULE, RULE), Status("CREATE_SUCCESSFUL")),
            Observation(EntityId(REGION, Kind.ORG_RULE, "s3-bucket-logging"), stalled),
        ],
        Kind.ORG_PACK: [Observation(pack, failing)],
        Kind.ACCOUNT_PACK: [],
    }
    return render_baseline_summary(
        REGION, watched, {pack: 3}, [], CONTEXT, stuck_after=timedelta(hours=2)
    )


def reminder_digest() -> Message:
    """A day on: the pack still failing in two accounts, a rule stuck since the night."""
    pack = EntityId(REGION, Kind.ORG_PACK, PACK)
    rule = EntityId(REGION, Kind.ORG_RULE, "s3-bucket-logging")
    failed = "2026-11-20T09:40:00+00:00"
    members = [
        Record(
            EntityId(REGION, Kind.ORG_PACK_MEMBER, PACK, account),
            Status("CREATE_FAILED", "ConformancePackCreationFailed", "AccessDenied", UPDATED),
            failed,
            failed,
        )
        for account in ("111122223333", "777788889999")
    ]
    records = {
        pack: Record(pack, Status("CREATE_FAILED", updated_at=UPDATED), failed, failed),
        rule: _record(rule, "UPDATE_IN_PROGRESS", "2026-11-20T06:40:00+00:00"),
    }
    policy = Policy(timedelta(hours=24), timedelta(hours=2), (), datetime.fromisoformat(SENT_AT))
    listed = policy.reminders(records, {pack: members})
    return render_digest(listed, CONTEXT, interval=policy.interval)


KINDS: list[tuple[str, Callable[[], Message]]] = [
    ("A failure in member accounts (severity `failure`)", failure),
    ("A deployment that succeeded (severity `progress`)", success),
    ("A recovery (severity `recovery`)", recovery),
    ("A stuck deployment (severity `stuck`, event_type `stuck`)", stuck),
    ("A rule or pack removed (severity `progress`)", removed),
    ("This account's own conformance pack (kind `account-pack`)", account_pack),
    ("One account joining many rules and packs (cause `accounts`)", account_joins),
    ("A pack failing in two regions (cause `deployment`)", rollout_fails),
    ("A route's copy of the same message (audience `emea`)", routed_copy),
    ("The first run's summary (event_type `baseline-summary`)", baseline_summary),
    ("The reminder digest (event_type `reminder`)", reminder_digest),
]


ROUTED = next(n for n, (_, make) in enumerate(KINDS) if make is routed_copy)


def markdown() -> str:
    """The docs/messages.md section: each kind's subject, email text and JSON document, and the
    chat cards of the first and of the route's copy."""
    parts = [
        "## Examples of every message",
        "",
        "Rendered by the notifier's own code (`python -m demo.examples` prints this section; a "
        "test keeps it current). Every message also carries the chat card (the chat topic's, "
        "shown for the first) and the SNS message attributes above.",
    ]
    for number, (title, make) in enumerate(KINDS):
        message = make()
        document = json.dumps(json.loads(message.bodies["sqs"]), indent=2)
        parts += [
            "",
            f"### {title}",
            "",
            f"Subject: `{message.subject}`",
            "",
            "```text",
            message.bodies["email"],
            "```",
            "",
            "```json",
            document,
            "```",
        ]
        if number in (0, ROUTED):
            card = json.dumps(json.loads(message.bodies["https"]), indent=2, ensure_ascii=False)
            where = (
                "as AWS Chatbot receives it"
                if number == 0
                else "as the route's Slack or Microsoft Teams channel receives it (AWS Chatbot "
                "on the route's chat topic)"
            )
            parts += ["", f"Its chat card, {where}:", "", "```json", card, "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
