"""`make demo` tells the truth: what it prints for each tick is what the subscribers received.

The demo runs once for this module, on a small organization. Its printout is parsed back and held
against two sources it does not produce itself: the scenario's own facts (which accounts fail,
with which errors) and the messages the notifier handed to its publisher (a spy on
`Publisher.publish`, below the demo's tap on the SNS client).
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest

from config_notifier.errors import PublishRefused
from config_notifier.model import EVERYONE, Message
from config_notifier.publish import Publisher
from demo import scenario, show
from demo.play import (
    FULL_MESSAGES,
    INDENT,
    JSII_THREAD,
    QUICK_ACCOUNTS,
    DemoResult,
    Options,
    run_demo,
)

pytestmark = pytest.mark.slow

BODY_INDENT = INDENT + "  "
# What each tick must send, by severity: the scenario's promise (tick number -> counts).
EXPECTED = {
    1: {"progress": 2},  # one baseline summary per region
    2: {},
    3: {"progress": 1},  # the new pack in both regions: one message
    4: {"failure": 1},
    5: {"progress": 1},
    6: {"progress": 1},
    7: {"stuck": 1},  # two hours later: the rule's organization-level status
    8: {"failure": 1},  # the next morning: one reminder digest of what is still broken
    9: {"recovery": 1, "progress": 1},  # the pack's fix, and the stuck rule moving at last
    10: {"progress": 1},
    11: {"progress": 1},  # one account in two rules and one pack, in two regions: one message
}
STUCK_TICK, REMINDER_TICK, JOIN_TICK = 7, 8, 11


@dataclass(frozen=True)
class Played:
    result: DemoResult
    output: str
    handed_to_sns: list[Message]  # what the notifier gave its publisher, every tick, every copy
    new_threads: list[str]

    def tick(self, number: int) -> str:
        """The printout of one tick, from its heading to the next heading."""
        sections = re.split(r"^(?=═══ )", self.output, flags=re.MULTILINE)
        (section,) = [s for s in sections if s.startswith(f"═══ Tick {number} of ")]
        return section

    @property
    def text(self) -> str:
        """The printout with every run of whitespace made one space: wrapped lines joined."""
        return " ".join(self.output.split())

    def rendered(self, tick: int, subject: str) -> Message:
        """The message with this subject the notifier handed to its publisher in this tick (the
        copy for everyone; a route's copy may have the same subject)."""
        (message,) = [
            m
            for m in self.handed_to_sns
            if m.subject == subject
            and m.audience == EVERYONE
            and json.loads(m.bodies["sqs"])["run_id"] == f"tick-{tick}"
        ]
        return message


@dataclass(frozen=True)
class PrintedMessage:
    title: str
    subject: str
    email: list[str]  # the body lines shown, unfolded
    slack_title: str


@pytest.fixture(scope="module")
def played() -> Played:
    handed: list[Message] = []
    original = Publisher.publish

    def spy(self: Publisher, messages: Any) -> list[PublishRefused | None]:
        handed.extend(copy for copies in messages for copy in copies)
        return original(self, messages)

    out = io.StringIO()
    before = set(threading.enumerate())
    with mock.patch.object(Publisher, "publish", spy):
        result = run_demo(
            Options(
                accounts=QUICK_ACCOUNTS, width=100, stack_name=f"DemoTest-{uuid.uuid4().hex[:8]}"
            ),
            out,
        )
    new_threads = sorted(
        t.name for t in set(threading.enumerate()) - before if t.name != JSII_THREAD
    )
    return Played(result, out.getvalue(), handed, new_threads)


def organization(played: Played) -> scenario.Organization:
    """The organization the demo played: its accounts are the ones moto created, with names."""
    org = played.result.organization
    assert org is not None
    return org


def printed_messages(section: str) -> list[PrintedMessage]:
    """The messages a tick's printout shows with their bodies, in order."""
    messages = []
    for block in re.split(r"^(?=  ▸ Message )", section, flags=re.MULTILINE)[1:]:
        lines = block.split("\n")
        subject_line = next((x for x in lines if x.startswith(f"{INDENT}EMAIL  Subject: ")), None)
        if subject_line is None:
            continue  # a one-line mention, not shown with its bodies
        start = lines.index(subject_line) + 1
        end = start
        while end < len(lines) and lines[end].startswith((BODY_INDENT + "│", BODY_INDENT + "┆")):
            end += 1
        slack = next(x for x in lines if x.startswith(f"{INDENT}SLACK  "))
        messages.append(
            PrintedMessage(
                title=lines[0].strip(),
                subject=subject_line.removeprefix(f"{INDENT}EMAIL  Subject: "),
                email=show.unfold(lines[start:end], BODY_INDENT),
                slack_title=slack.removeprefix(f"{INDENT}SLACK  "),
            )
        )
    return messages


def test_the_demo_succeeds_and_every_delivery_checked_out(played: Played) -> None:
    # Given the demo played on a small organization
    result = played.result
    # Then it exits 0, found no difference between what was published and what was delivered
    assert result.problems == []
    assert result.exit_code == 0
    assert len(result.ticks) == len(EXPECTED)
    assert "every one reached the SQS subscriber as published" in played.text
    # And showed its progress as it went
    assert re.search(
        r"^\[ *\d+\.\ds\] Deployed into the sandbox's CloudFormation", played.output, re.M
    )


def test_the_failure_tick_names_exactly_the_failing_accounts_and_their_errors(
    played: Played,
) -> None:
    # Given where the scenario makes the new pack fail
    org = organization(played)
    # When the failure tick's printout is read back
    [message] = printed_messages(played.tick(4))
    # Then one email tells the failure in both regions
    failing = {region: org.failing(region) for region in scenario.REGIONS}
    accounts = {account for f in failing.values() for account in f}
    assert message.subject == (
        f"[FAILED] {scenario.NEW_PACK} (org pack) in {len(scenario.REGIONS)} regions: "
        f"{len(accounts)} account{'s' * (len(accounts) != 1)} failing"
    )
    # And names exactly the failing accounts of each region, each with Config's error
    listed, names = {}, {}
    for line, following in zip(message.email, message.email[1:], strict=False):
        if match := re.fullmatch(
            r"  FAILED    (\S+) (\S+) \((\d{12})\)  CREATE_IN_PROGRESS -> CREATE_FAILED",
            line,
        ):
            listed[(match.group(1), match.group(3))] = following.strip()
            names[match.group(3)] = match.group(2)
    assert listed == {
        (region, account): f"{f.error_code}: {f.error_message}"
        for region, by_account in failing.items()
        for account, f in by_account.items()
    }
    # And each account by the name AWS Organizations gives it
    assert names == {account: org.names[account] for account in accounts}
    # And the Slack card says the same in its title
    assert message.slack_title == f":red_circle: {message.subject}"


def test_two_hours_later_the_lagging_rule_is_reported_stuck_once(played: Played) -> None:
    # Given the tick two hours after every account finished the rule update
    [shown] = printed_messages(played.tick(STUCK_TICK))
    # Then one message says the rule is stuck and that every account finished
    assert shown.subject == (
        f"[STUCK] {scenario.UPDATED_RULE} (org rule) in {scenario.HOME}: UPDATE_IN_PROGRESS"
    )
    body = "\n".join(shown.email)
    assert "organization Config rule status UPDATE_IN_PROGRESS since" in body
    assert "for 2 h 5 min" in body
    assert "Every member account has finished" in body
    # Only members that are not healthy are read (docs/design.md rule 7): none is left
    assert "Member accounts:" not in body
    # And the next ticks do not repeat it
    later = [t for t in played.result.ticks if t.number > STUCK_TICK]
    assert all(m.envelope.attributes["severity"] != "stuck" for t in later for m in t.messages)


def test_the_quiet_tick_shows_no_message(played: Played) -> None:
    # Given the tick where nothing changed in the organization
    section = played.tick(2)
    # Then the handler published nothing, the printout says so and shows no message
    assert played.result.ticks[1].summary["messages_published"] == 0
    assert played.result.ticks[1].messages == []
    assert "No message: every subscriber received nothing." in section
    assert "▸ Message" not in section


def test_the_printed_bodies_are_the_published_ones(played: Played) -> None:
    # Given every message the demo printed in full, tick by tick
    for outcome in played.result.ticks:
        printed = printed_messages(played.tick(outcome.number))
        assert len(printed) == min(len(outcome.messages), FULL_MESSAGES)
        for shown, message in zip(outcome.messages, printed, strict=False):
            # Then its email is the first lines of what the notifier handed to SNS, exactly
            rendered = played.rendered(outcome.number, message.subject)
            assert message.email == rendered.bodies["email"].split("\n")[: show.EMAIL_LINES]
            assert message.slack_title == json.loads(rendered.bodies["https"])["content"]["title"]
            # And the SQS subscriber received that message's JSON document, byte for byte
            assert shown.envelope.message == rendered.bodies["sqs"]
            assert shown.envelope.subject == rendered.subject
            assert shown.envelope.attributes == rendered.sns_attributes


def test_the_summary_counts_what_the_subscribers_received(played: Played) -> None:
    # Given what the SQS subscriber received, tick by tick
    received = {
        t.number: dict(Counter(m.envelope.attributes["severity"] for m in t.messages))
        for t in played.result.ticks
    }
    # Then it is what the scenario promises
    assert received == EXPECTED
    # And each summary row and the totals say so
    summary = played.output.split("═══ Summary ")[1]
    for number, counts in EXPECTED.items():
        sent = ", ".join(
            f"{counts[s]} {s}" for s in ("failure", "stuck", "recovery", "progress") if s in counts
        )
        assert re.search(rf"^ +{number}  {re.escape(sent or 'nothing')} ", summary, re.M)
    total = Counter[str]()
    for counts in EXPECTED.values():
        total.update(counts)
    assert (
        f"{sum(total.values())} messages ({total['failure']} failure, {total['stuck']} stuck, "
        f"{total['recovery']} recovery, {total['progress']} progress)" in " ".join(summary.split())
    )
    # And the failures-only email stand-in got the failures only (its filter policy works)
    assert (
        f"email oncall@example.com [severity: failure or stuck] stand-in received "
        f"{total['failure'] + total['stuck']} of them" in " ".join(summary.split())
    )


def about_the_pack(message: Any) -> bool:
    """Whether a message tells of the security team's pack: its transitions, or a reminder
    listing it."""
    document = json.loads(message.envelope.message)
    listed = document.get("groups") or document.get("deployments") or [document]
    return any(d.get("name") == scenario.NEW_PACK for d in listed)


def test_the_routed_team_channel_gets_its_packs_and_nothing_else(played: Played) -> None:
    # Given the security team's route (security-*): its email stand-in and its Teams channel's
    stand_ins = [s.label for s in played.result.subscribers if "[route security]" in s.label]
    assert [label.split()[0] for label in stand_ins] == ["email", "Teams"]
    messages = [m for t in played.result.ticks for m in t.messages]
    ours = [m for m in messages if about_the_pack(m)]
    assert len(ours) == 5  # the rollout, its failure, the reminder, the fix, the account join
    for team in stand_ins:
        # Then each received a copy of every message about the team's pack, and of no other
        assert [m for m in messages if team in m.received_by] == ours
        # And the summary counts them
        assert f"{team} stand-in received {len(ours)} of them" in played.text
    # And the Teams channel's cards are printed: each the route's own part
    assert "TEAMS route security: :red_circle: [FAILED] security-baseline" in played.text


def test_the_next_morning_one_digest_reminds_what_is_still_broken(played: Played) -> None:
    # Given the tick a day after the pack failed and the rule got stuck, nothing fixed
    org = organization(played)
    (tick,) = [t for t in played.result.ticks if t.number == REMINDER_TICK]
    # Then one digest lists the pack in both regions with its failing accounts, and the rule
    [digest] = tick.messages
    assert digest.envelope.attributes["event_type"] == "reminder"
    document = json.loads(digest.envelope.message)
    listed = {
        (d["region"], d["name"]): sorted(a["account_id"] for a in d["accounts"])
        for d in document["deployments"]
    }
    assert listed == {
        **{(region, scenario.NEW_PACK): sorted(org.failing(region)) for region in scenario.REGIONS},
        (scenario.HOME, scenario.UPDATED_RULE): [],
    }
    assert digest.envelope.subject.startswith(
        "[REMINDER] 2 deployments still failing or stuck in 2 regions: "
    )
    # And the security route's copy lists its pack alone
    [routed] = digest.routed
    assert routed.subject == (
        f"[REMINDER] 1 deployment still failing or stuck in 2 regions: {scenario.NEW_PACK}"
    )


def test_a_joining_account_appears_in_every_rule_and_pack(played: Played) -> None:
    # Given the tick where an account joins and Config starts deploying everything to it
    org = organization(played)
    (join,) = [t for t in played.result.ticks if t.number == JOIN_TICK]
    # Then one message tells it, about that account alone
    [message] = join.messages
    document = json.loads(message.envelope.message)
    assert document["cause"] == "accounts"
    assert [a["account_id"] for a in document["accounts"]] == [org.newcomer]
    assert message.envelope.subject.endswith(
        f"] {org.names[org.newcomer]} ({org.newcomer}) in 3 deployments, 2 regions"
    )
    # And it lists every org rule and pack of both regions, each with only that account among
    # its members (the organization-level status moved into progress with it)
    about = {
        (group["region"], group["name"]): [
            t["account_id"] for t in group["transitions"] if t["account_id"]
        ]
        for group in document["groups"]
    }
    assert about == {
        (region, name): [org.newcomer]
        for region in scenario.REGIONS
        for name in (*scenario.RULES, scenario.NEW_PACK)
    }


def test_the_operator_cli_finds_the_new_failure_and_the_dry_run_publishes_nothing(
    played: Played,
) -> None:
    # Given a failure in the new account after the last tick
    org, result = organization(played), played.result
    # Then `status` lists it and exits 1
    assert result.status_exit == 1
    assert (
        f"eu-west-1 {scenario.UPDATED_RULE}: {org.newcomer} CREATE_FAILED "
        "NoAvailableConfigurationRecorderException" in result.status_output
    )
    # And `check --dry-run` shows the one message the next tick would send, and sends nothing
    assert result.check_exit == 0
    assert (
        "1 message(s) would be published; 0 source(s) could not be read; 0 held back by mutes."
        in result.check_output
    )
    assert "Using the configuration of " in result.check_output
    assert f"[FAILED] {scenario.UPDATED_RULE} (org rule) in eu-west-1" in result.check_output
    assert result.dry_run_deliveries == 0
    # And the printout shows both commands with their exit codes
    assert "$ config-notifier status --region us-east-1 --region eu-west-1" in played.output
    assert "(exit code 1: something is failing)" in played.output
    assert "(exit code 0: ok)" in played.output


def test_no_thread_is_left_running(played: Played) -> None:
    # Given the demo returned (jsii's node reader thread lives as long as the interpreter)
    # Then every thread it started has ended: the sandbox and all connections to it are closed
    assert played.result.leftover_threads == []
    assert played.new_threads == []
