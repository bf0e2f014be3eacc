"""Rendering: what a person and a machine read, within every SNS limit."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from config_notifier.diff import diff
from config_notifier.model import (
    EntityId,
    Group,
    Kind,
    Observation,
    Record,
    Severity,
    SourceFailure,
    Status,
)
from config_notifier.render import render
from config_notifier.summary import render_baseline_summary
from config_notifier.wording import (
    CHAT_DESCRIPTION_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_SUBJECT,
    SCHEMA,
    Context,
    console_url,
)

CONTEXT = Context(run_id="run-1", sent_at="2026-11-21T10:00:00+00:00")
PACK = EntityId("eu-west-1", Kind.ORG_PACK, "ops-baseline")
SNS_LIMIT = 256 * 1024


def member(account: str, status: str, code: str | None = None, message: str | None = None):
    return Observation(
        EntityId("eu-west-1", Kind.ORG_PACK_MEMBER, "ops-baseline", account),
        Status(status, code, message, "2026-11-21T09:58:00+00:00"),
    )


def rollout_group(failing: int, fine: int, message: str = "The stack failed") -> Group:
    """A pack rolled out to `failing + fine` accounts that were all successful before."""
    observations = [
        member(f"{i:012d}", "CREATE_FAILED", "ConformancePackCreationFailed", message)
        for i in range(failing)
    ] + [member(f"{900000000000 + i:012d}", "UPDATE_SUCCESSFUL") for i in range(fine)]
    previous = {
        o.entity: Record(o.entity, Status("CREATE_SUCCESSFUL"), "t0", "t0") for o in observations
    }
    parent = diff(
        {PACK: Record(PACK, Status("CREATE_SUCCESSFUL"), "t0", "t0")},
        [Observation(PACK, Status("UPDATE_FAILED", "ConformancePackCreationFailed"))],
    )[0]
    return Group(
        region="eu-west-1",
        kind=Kind.ORG_PACK,
        name="ops-baseline",
        parent=parent,
        current=parent.new,
        members=tuple(diff(previous, observations)),
    )


def test_an_email_names_the_failing_accounts_and_why_worst_first() -> None:
    # Given a pack update that failed in 3 accounts and succeeded in 2
    group = rollout_group(failing=3, fine=2)
    # When it is rendered
    message = render(group, CONTEXT)
    email = message.bodies["email"]
    # Then the email says what failed, where, why and what to look at next
    assert email.startswith("[FAILED] ops-baseline (org pack) in eu-west-1: 3 accounts failing\n")
    assert "CREATE_SUCCESSFUL -> UPDATE_FAILED" in email
    for account in ("000000000000", "000000000001", "000000000002"):
        assert account in email
    assert email.count("ConformancePackCreationFailed: The stack failed") == 3
    assert "get-organization-conformance-pack-detailed-status --region eu-west-1" in email
    # And failures come before the accounts that merely progressed
    assert email.index("000000000002") < email.index("900000000000")
    assert message.attributes == {
        "event_type": "transition",
        "severity": "failure",
        "kind": "organization-pack",
        "region": "eu-west-1",
        "status": "UPDATE_FAILED",
        "name": "ops-baseline",
    }


def test_the_subject_is_short_ascii_and_says_what_happened() -> None:
    message = render(rollout_group(failing=3, fine=2), CONTEXT)
    assert message.subject == "[FAILED] ops-baseline (org pack) in eu-west-1: 3 accounts failing"


def test_a_long_name_keeps_its_start_and_the_counts_give_way_first() -> None:
    # Given a pack name that leaves no room for the counts
    group = rollout_group(1, 0)
    name = "very-long-pack-name-" + "x" * 40
    subject = render(
        Group(group.region, group.kind, name, group.parent, group.current, group.members), CONTEXT
    ).subject
    # Then the counts go, and the whole name stays as long as it fits
    assert subject == f"[FAILED] {name} (org pack) in eu-west-1"


@pytest.mark.parametrize("name", ["p" * 128, "Ünïcødé-πack-" + "x" * 100, "a"])
def test_every_subject_fits_sns_rules(name: str) -> None:
    # Given a name of any length and alphabet
    group = rollout_group(1, 0)
    group = Group(group.region, group.kind, name, group.parent, group.current, group.members)
    # When it is rendered
    subject = render(group, CONTEXT).subject
    # Then the subject is ASCII, one line, under 100 characters, and starts with punctuation
    assert len(subject) <= MAX_SUBJECT
    assert subject.isascii()
    assert "\n" not in subject
    assert subject[0] == "["


def test_the_slack_card_is_an_aws_chatbot_custom_notification() -> None:
    card = json.loads(render(rollout_group(3, 0), CONTEXT).bodies["https"])
    assert card["version"] == "1.0"
    assert card["source"] == "custom"
    content = card["content"]
    assert content["textType"] == "client-markdown"
    assert content["title"].startswith(":red_circle: [FAILED]")
    assert "`000000000001` CREATE_SUCCESSFUL → CREATE_FAILED" in content["description"]
    assert any(
        "get-organization-conformance-pack-detailed-status" in s for s in content["nextSteps"]
    )
    assert content["keywords"] == ["eu-west-1", "FAILED", "UPDATE_FAILED"]


def test_the_machine_document_is_versioned_and_complete() -> None:
    doc = json.loads(render(rollout_group(3, 2), CONTEXT).bodies["sqs"])
    assert (doc["schema"], doc["version"]) == (SCHEMA, 1)
    assert (doc["region"], doc["kind"], doc["name"]) == (
        "eu-west-1",
        "organization-pack",
        "ops-baseline",
    )
    assert doc["severity"] == "failure"
    assert doc["omitted_transitions"] == 0
    # the parent first, then 5 member accounts, worst first
    assert [t["account_id"] for t in doc["transitions"]] == [
        None,
        "000000000000",
        "000000000001",
        "000000000002",
        "900000000000",
        "900000000001",
    ]
    assert doc["transitions"][1]["new"] == {
        "status": "CREATE_FAILED",
        "error_code": "ConformancePackCreationFailed",
        "error_message": "The stack failed",
        "updated_at": "2026-11-21T09:58:00+00:00",
    }
    assert json.loads(render(rollout_group(3, 2), CONTEXT).bodies["lambda"]) == doc


@pytest.mark.parametrize(
    ("kind", "name", "fragment"),
    [
        (
            Kind.ACCOUNT_PACK,
            "local guardrails",
            "#/conformance-packs/details?conformancePackName=local%20guardrails",
        ),
        (Kind.ORG_PACK, "ops-baseline", "#/conformance-packs"),
        (Kind.ORG_RULE, "s3-encryption", "#/rules"),
    ],
)
def test_console_links_open_the_config_console_of_that_region(
    kind: Kind, name: str, fragment: str
) -> None:
    # Given a pack or rule in eu-west-1
    # When its console link is made
    url = console_url("eu-west-1", kind, name)
    # Then it opens that region's AWS Config console on the page for it
    assert url == f"https://eu-west-1.console.aws.amazon.com/config/home?region=eu-west-1{fragment}"


def test_every_body_carries_the_console_link() -> None:
    # Given a failing organization pack
    message = render(rollout_group(3, 0), CONTEXT)
    link = console_url("eu-west-1", Kind.ORG_PACK, "ops-baseline")
    # Then the email, the Slack card and the JSON document all link to its console page
    assert f"AWS Config console: {link}" in message.bodies["email"]
    assert (
        f"AWS Config console: {link}" in json.loads(message.bodies["https"])["content"]["nextSteps"]
    )
    assert json.loads(message.bodies["sqs"])["console_url"] == link


def test_a_huge_rollout_is_cut_with_and_n_more_and_fits_sns() -> None:
    # Given 10,000 failing accounts, each with a 10 KB error message
    group = rollout_group(failing=10_000, fine=0, message="E" * 10_240)
    # When it is rendered
    message = render(group, CONTEXT)
    # Then the whole publish fits SNS's 256 KiB
    assert message.size <= SNS_LIMIT
    # And every body says how much it left out, rather than dropping it silently
    doc = json.loads(message.bodies["sqs"])
    listed = len(doc["transitions"]) - 1
    assert doc["omitted_transitions"] == 10_000 - listed > 0
    email = message.bodies["email"]
    listed_in_email = email.count("ConformancePackCreationFailed: EEE")
    assert 0 < listed_in_email < 10_000
    assert f"... and {10_000 - listed_in_email} more accounts" in email
    card = json.loads(message.bodies["https"])["content"]["description"]
    assert f"and {10_000 - card.count('`0000')} more accounts" in card
    # And cut error messages say how much was cut
    assert "more characters]" in message.bodies["email"]


def test_a_removed_pack_says_so() -> None:
    [gone] = diff({PACK: Record(PACK, Status("CREATE_SUCCESSFUL"), "t0", "t0")}, [])
    message = render(Group("eu-west-1", Kind.ORG_PACK, "ops-baseline", gone, None), CONTEXT)
    assert message.subject == "[REMOVED] ops-baseline (org pack) in eu-west-1"
    assert (
        "describe-organization-conformance-pack-statuses --region eu-west-1"
        in message.bodies["email"]
    )
    assert "get-organization-conformance-pack-detailed-status" not in message.bodies["email"]
    assert message.attributes["status"] == "REMOVED"
    assert "CREATE_SUCCESSFUL -> no longer reported" in message.bodies["email"]


def test_a_recovery_is_reported_as_one() -> None:
    member_entity = EntityId("eu-west-1", Kind.ORG_PACK_MEMBER, "ops-baseline", "000000000001")
    [fixed] = diff(
        {member_entity: Record(member_entity, Status("CREATE_FAILED", "X"), "t0", "t0")},
        [Observation(member_entity, Status("UPDATE_SUCCESSFUL"))],
    )
    group = Group(
        "eu-west-1", Kind.ORG_PACK, "ops-baseline", None, Status("UPDATE_SUCCESSFUL"), (fixed,)
    )
    message = render(group, CONTEXT)
    assert group.severity is Severity.RECOVERY
    assert message.subject.startswith("[RECOVERED]")
    assert message.attributes["severity"] == "recovery"


def test_the_baseline_summary_says_what_is_watched_and_failing() -> None:
    # Given a first run that saw 3 org packs (1 failing in 2 accounts) and 2 rules
    packs = [
        Observation(EntityId("us-east-1", Kind.ORG_PACK, f"pack-{i}"), Status(s, code))
        for i, (s, code) in enumerate(
            [
                ("CREATE_FAILED", "ConformancePackCreationFailed"),
                ("CREATE_SUCCESSFUL", None),
                ("CREATE_SUCCESSFUL", None),
            ]
        )
    ]
    rules = [
        Observation(EntityId("us-east-1", Kind.ORG_RULE, f"rule-{i}"), Status("CREATE_SUCCESSFUL"))
        for i in range(2)
    ]
    unread = [SourceFailure("us-east-1", "account-pack", "AccessDeniedException: nope")]
    # When the summary is rendered
    message = render_baseline_summary(
        "us-east-1",
        {Kind.ORG_RULE: rules, Kind.ORG_PACK: packs},
        {packs[0].entity: 2},
        unread,
        CONTEXT,
    )
    # Then it counts, lists the failing pack with its failing accounts, and the unread source
    text = message.bodies["email"]
    assert "Now watching AWS Config deployments in us-east-1." in text
    assert (
        'organization conformance pack "pack-0": CREATE_FAILED (ConformancePackCreationFailed), 2 member accounts failing'
        in text
    )
    assert "account-pack: AccessDeniedException: nope" in text
    assert len(message.subject) <= MAX_SUBJECT
    assert (
        message.subject
        == "[WATCHING] Config deployments in us-east-1: 1 failing, 2 org rules, 3 org packs"
    )
    assert message.attributes["event_type"] == "baseline-summary"
    doc = json.loads(message.bodies["sqs"])
    assert doc["watched"] == {"organization-rule": 2, "organization-pack": 3}
    assert [f["name"] for f in doc["failing"]] == ["pack-0"]


def test_named_accounts_read_name_then_id_everywhere() -> None:
    # Given a run that knows one of the failing accounts' names
    context = Context(
        run_id="run-1",
        sent_at="2026-11-21T10:00:00+00:00",
        account_names={"000000000001": "prod-payments"},
    )
    # When the rollout is rendered
    message = render(rollout_group(3, 0), context)
    # Then the email and the Slack card say "name (id)", and the document carries both
    assert (
        "prod-payments (000000000001)  CREATE_SUCCESSFUL -> CREATE_FAILED"
        in message.bodies["email"]
    )
    assert (
        "`prod-payments (000000000001)`"
        in json.loads(message.bodies["https"])["content"]["description"]
    )
    names = {
        t["account_id"]: t["account_name"] for t in json.loads(message.bodies["sqs"])["transitions"]
    }
    assert names == {
        None: None,
        "000000000000": None,
        "000000000001": "prod-payments",
        "000000000002": None,
    }


def test_a_delegated_admins_message_names_it_everywhere_and_still_fits() -> None:
    # Given a pack a delegated administrator deployed, with a name as long as AWS allows, and
    # the administrator's account name known
    admin = "111122223333"
    group = rollout_group(failing=2, fine=1)
    long_group = replace(group, name="p" * 256, admin_account=admin)
    context = Context("run-1", "2026-11-21T10:00:00+00:00", {admin: "security-tooling"})
    # When it is rendered
    message = render(long_group, context)
    # Then the subject says so and fits SNS; the other bodies name the account and its name
    assert f"delegated admin {admin}" in message.subject
    assert len(message.subject) < 100
    assert "\n" not in message.subject
    assert message.attributes["deployed_by"] == admin
    assert "delegated administrator security-tooling (111122223333)" in message.bodies["email"]
    card = json.loads(message.bodies["https"])
    assert "security-tooling (111122223333)" in card["content"]["description"]
    assert card["metadata"]["threadId"].startswith(f"{admin}/")
    document = json.loads(message.bodies["sqs"])
    assert (document["admin_account"], document["admin_account_name"]) == (
        admin,
        "security-tooling",
    )
    # And the management account's own message carries no deployed_by and a null admin_account
    own = render(group, CONTEXT)
    assert "deployed_by" not in own.attributes
    assert json.loads(own.bodies["sqs"])["admin_account"] is None


# What each message is called, and the chat card's text, as a subscriber reads them.


def moved_group(
    parent_old: str | None, parent_new: str | None, member_moves: dict[str, tuple[str, str]]
) -> Group:
    """A pack whose organization-level status moved (or not: equal statuses) and whose members
    moved from one status to another."""
    before_parent = {PACK: Record(PACK, Status(parent_old), "t0", "t0")} if parent_old else {}
    now_parent = [Observation(PACK, Status(parent_new))] if parent_new else []
    parent = diff(before_parent, now_parent)
    before = {
        m.entity: Record(m.entity, Status(old), "t0", "t0")
        for account, (old, _) in member_moves.items()
        for m in [member(account, old)]
    }
    after = [member(account, new) for account, (_, new) in member_moves.items()]
    return Group(
        "eu-west-1",
        Kind.ORG_PACK,
        "ops-baseline",
        parent[0] if parent else None,
        Status(parent_new) if parent_new else None,
        members=tuple(diff(before, after)),
    )


@pytest.mark.parametrize(
    ("group", "subject"),
    [
        (
            moved_group(
                "CREATE_IN_PROGRESS",
                "CREATE_SUCCESSFUL",
                {"1": ("CREATE_IN_PROGRESS", "CREATE_SUCCESSFUL")},
            ),
            "[DEPLOYED] ops-baseline (org pack) in eu-west-1: 1 account deployed",
        ),
        (
            moved_group("CREATE_SUCCESSFUL", "UPDATE_SUCCESSFUL", {}),
            "[UPDATED] ops-baseline (org pack) in eu-west-1",
        ),
        (
            moved_group("UPDATE_SUCCESSFUL", "UPDATE_IN_PROGRESS", {}),
            "[UPDATING] ops-baseline (org pack) in eu-west-1",
        ),
        (
            moved_group("CREATE_SUCCESSFUL", "DELETE_SUCCESSFUL", {}),
            "[DELETED] ops-baseline (org pack) in eu-west-1",
        ),
        (
            moved_group(
                "CREATE_IN_PROGRESS",
                "CREATE_IN_PROGRESS",
                {"1": ("CREATE_IN_PROGRESS", "CREATE_SUCCESSFUL")},
            ),
            "[DEPLOYING] ops-baseline (org pack) in eu-west-1: 1 account deployed",
        ),
        (
            moved_group(
                "UPDATE_IN_PROGRESS",
                "UPDATE_IN_PROGRESS",
                {
                    "1": ("UPDATE_IN_PROGRESS", "UPDATE_SUCCESSFUL"),
                    "2": ("UPDATE_SUCCESSFUL", "UPDATE_IN_PROGRESS"),
                },
            ),
            "[UPDATING] ops-baseline (org pack) in eu-west-1: 2 accounts changed",
        ),
        (
            moved_group(None, "CREATE_SUCCESSFUL", {}),
            "[NEW] ops-baseline (org pack) in eu-west-1",
        ),
        (
            moved_group("CREATE_SUCCESSFUL", "UPDATE_ROLLBACK_COMPLETE", {}),
            "[CHANGED] ops-baseline (org pack) in eu-west-1",
        ),
    ],
)
def test_a_success_says_what_succeeded_and_never_progress(group: Group, subject: str) -> None:
    # Given a deployment that moved without failing or recovering
    # When it is rendered
    message = render(group, CONTEXT)
    # Then its subject names what happened: deployed, updated, deleted, under way, new; a status
    # the code does not know (rule 5) is only "changed", though it ends in _COMPLETE
    assert message.subject == subject
    assert "PROGRESS" not in message.subject.replace("_IN_PROGRESS", "")
    # And neither the email nor the chat card labels anything PROGRESS
    card = json.loads(message.bodies["https"])["content"]
    for text in (message.bodies["email"], card["title"], card["description"], *card["keywords"]):
        assert "PROGRESS" not in text.replace("_IN_PROGRESS", "").upper()


def test_each_member_line_says_what_happened_in_that_account() -> None:
    # Given a rollout in which accounts failed, deployed, recovered and are still going
    group = moved_group(
        "CREATE_IN_PROGRESS",
        "CREATE_FAILED",
        {
            "1": ("CREATE_IN_PROGRESS", "CREATE_FAILED"),
            "2": ("CREATE_IN_PROGRESS", "CREATE_SUCCESSFUL"),
            "3": ("CREATE_FAILED", "UPDATE_SUCCESSFUL"),
            "4": ("CREATE_SUCCESSFUL", "UPDATE_IN_PROGRESS"),
        },
    )
    # When it is rendered
    email = render(group, CONTEXT).bodies["email"]
    # Then each account's line starts with its own word, worst first
    lines = [
        line.split()[:2] for line in email.splitlines() if line.startswith("  ") and "->" in line
    ]
    assert lines == [["FAILED", "1"], ["RECOVERED", "3"], ["DEPLOYED", "2"], ["UPDATING", "4"]]


@pytest.mark.parametrize(
    "group",
    [
        rollout_group(3, 2),
        moved_group(
            "CREATE_IN_PROGRESS",
            "CREATE_SUCCESSFUL",
            {"1": ("CREATE_IN_PROGRESS", "CREATE_SUCCESSFUL")},
        ),
        moved_group(None, "CREATE_IN_PROGRESS", {}),
        moved_group("CREATE_SUCCESSFUL", None, {}),
        moved_group(
            "CREATE_FAILED", "CREATE_SUCCESSFUL", {"1": ("CREATE_FAILED", "CREATE_SUCCESSFUL")}
        ),
    ],
    ids=["failed", "deployed", "new", "removed", "recovered"],
)
def test_the_email_and_the_chat_card_open_with_the_subject(group: Group) -> None:
    # Given any message
    message = render(group, CONTEXT)
    # Then the email's first line is its subject, and the chat card's title says the same
    assert message.bodies["email"].splitlines()[0] == message.subject
    title = json.loads(message.bodies["https"])["content"]["title"]
    assert title.split(" ", 1)[1] == message.subject


def test_the_next_step_filters_by_the_status_the_accounts_are_in() -> None:
    # Given a pack that failed in accounts with two different failing statuses
    group = moved_group(
        "UPDATE_IN_PROGRESS",
        "UPDATE_FAILED",
        {
            "1": ("UPDATE_IN_PROGRESS", "UPDATE_FAILED"),
            "2": ("CREATE_IN_PROGRESS", "CREATE_FAILED"),
            "3": ("UPDATE_IN_PROGRESS", "UPDATE_FAILED"),
        },
    )
    # When it is rendered
    message = render(group, CONTEXT)
    # Then the command to list them is given once per failing status, with the real status
    command = (
        "aws configservice get-organization-conformance-pack-detailed-status --region eu-west-1 "
        "--organization-conformance-pack-name ops-baseline --filters Status="
    )
    steps = json.loads(message.bodies["https"])["content"]["nextSteps"]
    assert steps[:2] == [f"{command}UPDATE_FAILED", f"{command}CREATE_FAILED"]
    assert f"  - {command}UPDATE_FAILED\n" in message.bodies["email"]
    # And no placeholder is left anywhere
    assert all("<STATUS>" not in body for body in message.bodies.values())


def test_a_failed_rule_whose_members_were_not_read_filters_by_its_own_status() -> None:
    # Given an organization rule whose organization-level status failed, members unread
    rule = EntityId("eu-west-1", Kind.ORG_RULE, "s3-encryption")
    [failed] = diff(
        {rule: Record(rule, Status("CREATE_IN_PROGRESS"), "t0", "t0")},
        [Observation(rule, Status("CREATE_FAILED"))],
    )
    group = Group(
        "eu-west-1", Kind.ORG_RULE, "s3-encryption", failed, failed.new, detail_read=False
    )
    # Then the command filters the rule's member accounts by that status
    assert (
        "aws configservice get-organization-config-rule-detailed-status --region eu-west-1 "
        "--organization-config-rule-name s3-encryption --filters MemberAccountRuleStatus=CREATE_FAILED"
    ) in render(group, CONTEXT).bodies["email"]


HOSTILE_ERROR = "Denied <!channel> & see <https://evil.example|the fix> for a > b"


def card_texts(message_body: str) -> list[str]:
    content = json.loads(message_body)["content"]
    return [
        content["title"],
        content["description"],
        *content.get("nextSteps", []),
        *content["keywords"],
    ]


def assert_slack_safe(texts: list[str]) -> None:
    """No `<` or `>` left, and every `&` starts one of the three entities Slack decodes."""
    for text in texts:
        assert "<" not in text
        assert ">" not in text
        assert re.sub(r"&(amp|lt|gt);", "", text).count("&") == 0


def test_chat_text_is_escaped_for_slack_markup_everywhere_in_the_card() -> None:
    # Given a delegated administrator's pack whose errors, account names and admin name carry
    # Slack's control characters
    admin = "111122223333"
    context = Context(
        "run-1",
        "2026-11-21T10:00:00+00:00",
        {"000000000001": "R&D <sandbox>", admin: "Sec & Ops"},
    )
    group = replace(rollout_group(failing=3, fine=1, message=HOSTILE_ERROR), admin_account=admin)
    # When it is rendered
    message = render(group, context)
    # Then nothing in the card can become a mention, a link or a quote in Slack
    texts = card_texts(message.bodies["https"])
    assert_slack_safe(texts)
    # And the text is all there, escaped as Slack's documentation says
    description = texts[1]
    assert "`R&amp;D &lt;sandbox&gt; (000000000001)`" in description
    assert (
        "Denied &lt;!channel&gt; &amp; see &lt;https://evil.example|the fix&gt; for a &gt; b"
        in description
    )
    assert "Sec &amp; Ops (111122223333)" in description
    # And the email, plain text, keeps the words as they were
    assert HOSTILE_ERROR in message.bodies["email"]
    assert "R&D <sandbox> (000000000001)" in message.bodies["email"]


def test_a_long_chat_description_is_cut_between_lines_never_inside_an_escape() -> None:
    # Given 10 accounts whose errors are long runs of ampersands
    group = rollout_group(failing=10, fine=0, message="&" * 400)
    # When the card is rendered
    description = json.loads(render(group, CONTEXT).bodies["https"])["content"]["description"]
    # Then it stays within the card's size, says it was cut, and every & is a whole entity
    assert len(description) <= CHAT_DESCRIPTION_CHARS
    assert description.endswith("…(cut; see the email)")
    assert_slack_safe([description])


def test_the_baseline_summary_card_is_escaped_too() -> None:
    # Given a first run that finds a rule failing with an error full of control characters
    rule = EntityId("us-east-1", Kind.ORG_RULE, "rule-a&b")
    failing = Observation(rule, Status("CREATE_FAILED", "Bad<Code>", HOSTILE_ERROR))
    # When its summary is rendered
    message = render_baseline_summary("us-east-1", {Kind.ORG_RULE: [failing]}, {}, [], CONTEXT)
    # Then the card holds no raw control character, and the rule is named, escaped
    texts = card_texts(message.bodies["https"])
    assert_slack_safe(texts)
    assert '"rule-a&amp;b": CREATE_FAILED (Bad&lt;Code&gt;)' in texts[1]


# The first run's summary: what is stuck right now, and a size that always fits SNS.


def test_the_baseline_summary_lists_what_is_stuck_by_aws_clock() -> None:
    # Given a first run at 10:00 that finds one pack in progress since 07:30 by AWS's clock,
    # another since 09:30, and a 2-hour threshold
    stuck_pack = Observation(
        EntityId("us-east-1", Kind.ORG_PACK, "pack-stuck"),
        Status("CREATE_IN_PROGRESS", updated_at="2026-11-21T07:30:00+00:00"),
    )
    recent = Observation(
        EntityId("us-east-1", Kind.ORG_PACK, "pack-recent"),
        Status("UPDATE_IN_PROGRESS", updated_at="2026-11-21T09:30:00+00:00"),
    )
    # When its summary is rendered
    message = render_baseline_summary(
        "us-east-1",
        {Kind.ORG_PACK: [stuck_pack, recent]},
        {},
        [],
        CONTEXT,
        stuck_after=timedelta(hours=2),
    )
    # Then the email, the card and the document name the stuck pack, since when and for how long
    text = message.bodies["email"]
    assert (
        'organization conformance pack "pack-stuck": CREATE_IN_PROGRESS since '
        "2026-11-21T07:30:00+00:00 (for 2 h 30 min)"
    ) in text
    assert "pack-recent" not in text
    assert (
        message.subject
        == "[WATCHING] Config deployments in us-east-1: 0 failing, 1 stuck, 2 org packs"
    )
    assert text.splitlines()[0] == message.subject
    assert "pack-stuck" in json.loads(message.bodies["https"])["content"]["description"]
    doc = json.loads(message.bodies["sqs"])
    assert [(s["name"], s["since"], s["minutes"]) for s in doc["stuck"]] == [
        ("pack-stuck", "2026-11-21T07:30:00+00:00", 150)
    ]
    # And a stuck summary gets through a filter that lets stuck reports through
    assert message.attributes["severity"] == "stuck"


def test_a_summary_of_240_failing_rules_with_long_errors_fits_sns_and_says_and_n_more() -> None:
    # Given a first run that finds 240 organization rules failing, each with a 4,000-character error
    rules = [
        Observation(
            EntityId("us-east-1", Kind.ORG_RULE, f"rule-{i:03d}"),
            Status("CREATE_FAILED", "OrganizationAccessDeniedException", "E" * 4_000),
        )
        for i in range(240)
    ]
    # When its summary is rendered
    message = render_baseline_summary("us-east-1", {Kind.ORG_RULE: rules}, {}, [], CONTEXT)
    # Then the whole publish fits SNS's 262,144 bytes, within the notifier's own margin
    assert message.size <= MAX_MESSAGE_BYTES < SNS_LIMIT
    # And every body says how much it left out, rather than dropping it silently
    text = message.bodies["email"]
    listed = text.count(": CREATE_FAILED (OrganizationAccessDeniedException)")
    assert 0 < listed < 240
    assert f"... and {240 - listed} more" in text
    doc = json.loads(message.bodies["sqs"])
    assert len(doc["failing"]) + doc["omitted_failing"] == 240
    assert doc["omitted_failing"] > 0
    card = json.loads(message.bodies["https"])["content"]["description"]
    assert f"and {240 - card.count('CREATE_FAILED')} more" in card


def test_this_accounts_pack_is_not_called_organization_level() -> None:
    # Given this account's own conformance pack that failed
    pack = EntityId("eu-west-1", Kind.ACCOUNT_PACK, "local-guardrails")
    [failed] = diff(
        {pack: Record(pack, Status("CREATE_IN_PROGRESS"), "t0", "t0")},
        [Observation(pack, Status("CREATE_FAILED"))],
    )
    # When it is rendered
    message = render(Group("eu-west-1", Kind.ACCOUNT_PACK, pack.name, failed, failed.new), CONTEXT)
    # Then its status is its own, in the email and in the chat card
    assert "\nStatus: CREATE_IN_PROGRESS -> CREATE_FAILED\n" in message.bodies["email"]
    card = json.loads(message.bodies["https"])["content"]["description"]
    assert card.startswith("*Status:* CREATE_IN_PROGRESS → CREATE_FAILED")
    assert "rganization" not in message.bodies["email"] + card


def test_a_long_summary_subject_drops_whole_counts_never_half_a_word() -> None:
    # Given a delegated administrator's first run in a long-named region with every kind watched,
    # something failing and something stuck
    region = "eu-central-1"
    watched = {
        kind: [
            Observation(
                EntityId(region, kind, f"{kind.value}-{status}"),
                Status(status, updated_at="2026-11-21T06:00:00+00:00"),
            )
            for status in ("CREATE_FAILED", "CREATE_IN_PROGRESS")
        ]
        for kind in (Kind.ORG_RULE, Kind.ORG_PACK, Kind.ACCOUNT_PACK)
    }
    # When its summary is rendered
    message = render_baseline_summary(
        region,
        watched,
        {},
        [],
        CONTEXT,
        admin_account="111122223333",
        stuck_after=timedelta(hours=2),
    )
    # Then the subject fits SNS and is the email's first line up to a whole count
    first_line = message.bodies["email"].splitlines()[0]
    assert len(message.subject) <= MAX_SUBJECT
    assert first_line.startswith(message.subject)
    assert first_line[len(message.subject) :].startswith(", ")
    assert message.subject.startswith(
        "[WATCHING] 111122223333 deployments in eu-central-1: 3 failing, 3 stuck, "
    )
