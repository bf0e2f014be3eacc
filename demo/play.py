"""`python -m demo`: the real CDK app deployed into the sandbox, and a scenario played tick by tick.

What is real: the stack template (the app as app.py builds it, cdk-nag included), the resources
moto's CloudFormation created from it, the function's environment read back from moto's Lambda,
the handler (run in this process, as moto cannot run Lambda without docker), the AWS Config wire
protocol, DynamoDB, and SNS delivering to SQS. What the demo shows of each message is what the
handler's SNS client published and SNS accepted (see tap.py), checked against the copy the SQS
subscriber received.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import shutil
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from unittest import mock

import boto3

from config_notifier import cli
from config_notifier.events import SOURCE as EVENT_SOURCE
from config_notifier.model import AUDIENCE_ATTRIBUTE, EVERYONE, Rendering
from config_notifier.settings import Settings
from demo import scenario, show
from demo.scenario import REGIONS, Organization, Tick
from demo.tap import Published, PublishTap
from infra import REPO_ROOT
from infra.filters import subscription_filter
from infra.routes import TEAM_ID, TEAMS_CHANNEL_ID, TENANT_ID
from sandbox import ConfigSimulator, Sandbox
from sandbox.lambda_runtime import ExecutionEnvironment
from sandbox.local_aws import ISOLATION
from sandbox.organizations import create_named_accounts
from sandbox.resources import Delivery, drain, new_subscriber_queue, queue_arn, received

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from sandbox.deploy import Deployment

DEFAULT_ACCOUNTS = 36
QUICK_ACCOUNTS = 8
FULL_MESSAGES = 2  # shown per tick with their bodies; the others get one line each
INDENT = "    "
SEVERITIES = ("failure", "stuck", "recovery", "progress")
# jsii's node process and the thread reading its stderr live as long as the interpreter does
# (jsii stops them at exit); everything else the demo starts, it stops.
JSII_THREAD = "process.stderr_sink"
EMAILS = [
    {"address": "oncall@example.com", "filter": "failures"},
    {"address": "platform@example.com", "filter": "all"},
]
# The security team's channel: their packs' part of each message, and nothing else.
ROUTE_NAME, ROUTE_GLOB = "security", "security-*"
ROUTE = {
    "name": ROUTE_NAME,
    "match": {"deployments": [ROUTE_GLOB]},
    "destinations": {
        "emails": ["security-team@example.com"],
        "teams": {"teamId": TEAM_ID, "channelId": TEAMS_CHANNEL_ID, "tenantId": TENANT_ID},
    },
}


@dataclass(frozen=True)
class Options:
    accounts: int = DEFAULT_ACCOUNTS
    width: int = 100
    stack_name: str = "ConfigDeploymentNotifier"


@dataclass(frozen=True)
class Subscriber:
    """A queue on a deployed topic: the SQS subscriber (the JSON document), or a stand-in for an
    email one (the text), each with the filter policy of the template's subscription."""

    label: str
    queue_url: str
    rendering: Rendering = Rendering.JSON
    audience: str = EVERYONE  # whose copies it selects: everyone's, or a route's


@dataclass(frozen=True)
class Shown:
    """One published message, the SQS subscriber's copy of it, and who received it."""

    published: Published
    envelope: Delivery  # the SQS subscriber's copy
    received_by: tuple[str, ...]  # subscriber labels
    routed: tuple[Published, ...] = ()  # the routes' copies of it: the part each one matches

    @property
    def severity(self) -> str:
        return self.published.attributes.get("severity", "")


@dataclass(frozen=True)
class TickOutcome:
    number: int
    of: int
    tick: Tick
    summary: dict[str, Any]  # what the handler returned
    messages: list[Shown]  # in the order shown: worst first, then by region, kind and name
    events: int = 0  # what the event bus's rule delivered to its queue


@dataclass
class DemoResult:
    accounts: int  # member accounts asked for
    organization: Organization | None = None  # made once the sandbox's Organizations is up
    ticks: list[TickOutcome] = field(default_factory=list)
    subscribers: list[Subscriber] = field(default_factory=list)
    status_exit: int | None = None
    status_output: str = ""
    check_exit: int | None = None
    check_output: str = ""
    dry_run_deliveries: int | None = None
    problems: list[str] = field(default_factory=list)
    leftover_threads: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0


def run_demo(options: Options, out: TextIO) -> DemoResult:
    """Deploy, play every tick, show the operator CLI, summarize; the sandbox is stopped after."""
    threads_before = set(threading.enumerate())
    screen = _Screen(out, options.width)
    result = DemoResult(accounts=options.accounts)
    screen.lines(
        [
            show.heading("config-deployment-notifier on a local sandbox", options.width),
            "The real CDK app deployed into moto's CloudFormation; the real handler run once per",
            "schedule tick against a simulated AWS Organization; what each subscriber received.",
            "",
        ]
    )
    workdir = Path(tempfile.mkdtemp(prefix="notifier-demo-"))
    try:
        clock = _ScenarioClock()
        with Sandbox(ConfigSimulator(clock=clock)) as sandbox, _sandbox_environment(sandbox):
            screen.step(
                f"Sandbox up: moto at {sandbox.moto.url}, the AWS Config simulator at "
                f"{sandbox.config_sim.endpoint_url}."
            )
            _Demo(screen, sandbox, result, clock).play(options.stack_name, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.leftover_threads = _wait_for_threads(threads_before)
    if result.leftover_threads:
        result.problems.append(f"threads left running: {', '.join(result.leftover_threads)}")
    _summary(screen, result)
    return result


class _Screen:
    """The demo's output: progress lines with the time since start, flushed as they happen."""

    def __init__(self, out: TextIO, width: int) -> None:
        self.out, self.width, self.started = out, width, time.monotonic()

    def step(self, text: str) -> None:
        stamp = f"[{time.monotonic() - self.started:4.1f}s] "
        self.lines(self.wrap(text, stamp, " " * len(stamp)))

    def text(self, text: str, indent: str = "") -> None:
        self.lines(self.wrap(text, indent, indent))

    def wrap(self, text: str, first: str, rest: str) -> list[str]:
        # Names such as s3-bucket-ssl-requests-only stay whole.
        return textwrap.wrap(
            text, self.width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
        )

    def lines(self, lines: Sequence[str]) -> None:
        self.out.write("".join(f"{line}\n" for line in lines))
        self.out.flush()


class _ScenarioClock:
    """The simulator's clock, moved with the handler's from tick to tick: the update times AWS
    Config reports (stuck reports count from them) fall in the scenario's time, not the
    seconds the demo takes to play it."""

    def __init__(self) -> None:
        self.moment: datetime | None = None  # None: the real time, until the first tick

    def __call__(self) -> datetime:
        return self.moment or datetime.now(UTC)


class _Demo:
    """One demo's sandbox, deployment and subscribers, and what it found."""

    def __init__(
        self, screen: _Screen, sandbox: Sandbox, result: DemoResult, clock: _ScenarioClock
    ) -> None:
        self.screen, self.sandbox, self.result = screen, sandbox, result
        self.clock = clock
        self.tap = PublishTap()
        self.events_queue = ""  # an SQS queue a rule on the event bus sends every event to

    def play(self, stack_name: str, workdir: Path) -> None:
        self.screen.step("Synthesizing the CDK app (as app.py builds it, cdk-nag checks included)")
        # Imported only now: importing aws_cdk starts jsii (node), which takes a second or two
        # the line above should not wait for.
        from sandbox import deploy  # noqa: PLC0415

        synthesized = deploy.synthesize(_stack_context(stack_name), workdir / "cdk.out")
        self.screen.step(
            f"Synthesized stack {synthesized.stack_name}: "
            f"{len(synthesized.template['Resources'])} resources; regions {', '.join(REGIONS)}; "
            f"{len(EMAILS)} email subscribers; a Slack channel through AWS Chatbot; a route "
            f"sending the {ROUTE_NAME} team's packs ({ROUTE_GLOB}) to their own email."
        )
        session = boto3.session.Session()
        # The stack's transition log is a rule on the configured bus: the bus comes first, as in
        # an AWS account.
        events = session.client("events", endpoint_url=self.sandbox.moto.url)
        events.create_event_bus(Name=_event_bus(stack_name))
        events.close()
        deployment = deploy.deploy(synthesized, session, self.sandbox.moto.url)
        skipped = ", ".join(f"{t} x{n}" if n > 1 else t for t, n in deployment.skipped.items())
        self.screen.step(
            f"Deployed into the sandbox's CloudFormation: CREATE_COMPLETE. Function "
            f"{deployment.function_name}, table {deployment.table_name}. moto skipped what it "
            f"does not model: {skipped}."
        )
        sns: SNSClient = session.client("sns", endpoint_url=self.sandbox.moto.url)
        sqs: SQSClient = session.client("sqs", endpoint_url=self.sandbox.moto.url)
        try:
            self.result.subscribers = _subscribe(deployment, sns, sqs)
            self.events_queue = _route_events(session, self.sandbox.moto.url, stack_name, sqs)
            variables = ", ".join(sorted(deployment.function_environment))
            for line in (
                "moto does not create the template's subscriptions, so the demo subscribes SQS "
                "queues to the deployed topics: one SQS subscriber of the JSON topic, and one "
                "stand-in per email subscriber on the text topic, each with the template's filter "
                "policy.",
                "Each rendering of a message goes to a topic of its own (text, chat card, JSON "
                "document), so the email text and the Slack card shown are the ones the handler's "
                "SNS client published (recorded on that client), each matched by MessageId to the "
                "copy a subscriber received.",
                "Each tick runs config_notifier.handler.lambda_handler in this process with the "
                f"deployed function's environment ({variables}); in AWS, EventBridge would invoke "
                "it every 5 minutes. The handler's clock moves 5 minutes per tick (more where the "
                "scenario says hours pass), so stuck deployments can be shown.",
            ):
                self.screen.step(line)
            org = self._organization(session)
            self.screen.lines([""])
            ticks = scenario.ticks(org)
            clock = datetime.now(UTC).replace(microsecond=0)
            for number, tick in enumerate(ticks, start=1):
                clock += timedelta(minutes=tick.minutes_later)
                self.clock.moment = clock
                outcome = self._tick(number, len(ticks), tick, deployment, sqs, now=clock)
                self.result.ticks.append(outcome)
                self._show(outcome)
            self._operator_cli(deployment, sqs)
        finally:
            sns.close()
            sqs.close()

    def _organization(self, session: boto3.session.Session) -> Organization:
        """Named accounts in the sandbox's AWS Organizations, and the scenario's organization."""
        names = scenario.account_names(self.result.accounts + 1)
        named = create_named_accounts(
            names, session.client("organizations", endpoint_url=self.sandbox.moto.url)
        )
        self.result.organization = scenario.organization(named)
        self.screen.step(
            f"Created {len(named)} named accounts in the sandbox's AWS Organizations (moto "
            f"chooses their ids), e.g. {', '.join(names[:3])}: messages name accounts from it."
        )
        return self.result.organization

    def _tick(
        self,
        number: int,
        of: int,
        tick: Tick,
        deployment: Deployment,
        sqs: SQSClient,
        *,
        now: datetime,
    ) -> TickOutcome:
        """Change the organization, run the handler once, collect and check what was delivered."""
        result, subscribers = self.result, self.result.subscribers
        assert result.organization is not None  # noqa: S101 - set before the first tick
        tick.script(self.sandbox.config_sim, result.organization)
        function = ExecutionEnvironment(
            deployment.function_environment, function_name=deployment.function_name
        )
        with self.tap.installed(), function:
            summary = function.invoke(f"tick-{number}", now=now).summary_or_raise()
        topics = Settings.from_env(deployment.function_environment).topics
        taken = self.tap.take(topics)
        published = [p for p in taken if p.audience == EVERYONE]
        routed = [p for p in taken if p.audience != EVERYONE]
        events = len(drain(sqs, self.events_queue))
        if events != summary["events_put"]:
            result.problems.append(
                f"tick {number}: the handler reports {summary['events_put']} events "
                f"put, the bus's rule delivered {events}"
            )
        received = {s.label: _drain(sqs, s.queue_url) for s in subscribers}
        copies = received[subscribers[0].label]
        shown: list[Shown] = []
        reached: set[int] = set()  # the route copies a stand-in received
        for message in published:
            envelope = copies.pop(message.message_id, None)
            problem = _compare(message, envelope)
            if problem is not None or envelope is None:
                result.problems.append(f"tick {number}: {problem}")
                continue
            # The routes' copies of this message: the part of it each route matches.
            parts = {p.audience: p for p in routed if _part_of(p, message)}
            others = []
            for s in subscribers[1:]:
                copy = message if s.audience == EVERYONE else parts.get(s.audience)
                if copy is not None and copy.message_ids[s.rendering] in received[s.label]:
                    others.append(s.label)
                    reached.add(id(copy))
            shown.append(
                Shown(message, envelope, (subscribers[0].label, *others), tuple(parts.values()))
            )
        result.problems += [
            f"tick {number}: SNS took a copy of {p.subject!r} for route {p.audience} that "
            "no stand-in of the route received"
            for p in routed
            if id(p) not in reached
        ]
        result.problems += [
            f"tick {number}: the SQS subscriber received {e.subject!r}, which the tap did not see"
            for e in copies.values()
        ]
        if summary["messages_published"] != len(published):
            result.problems.append(
                f"tick {number}: the handler reports {summary['messages_published']} "
                f"messages published, SNS accepted {len(published)}"
            )
        shown.sort(key=_display_order)
        return TickOutcome(number, of, tick, summary, shown, events)

    def _show(self, outcome: TickOutcome) -> None:
        screen, summary = self.screen, outcome.summary
        screen.lines(
            [
                show.heading(
                    f"Tick {outcome.number} of {outcome.of}: {outcome.tick.title}", screen.width
                )
            ]
        )
        screen.text(f"In the organization: {outcome.tick.change}")
        screen.text(
            f"The handler ran in {summary['duration_ms']} ms: "
            f"{_count(summary['api_calls'], 'AWS Config API call')}, "
            f"{_count(summary['messages_published'], 'message')} published, "
            f"{_count(len(summary['failed_sources']), 'source')} unread; "
            f"{_count(outcome.events, 'event')} (one per transition or stuck report) reached "
            "the queue a rule on the event bus routes them to."
        )
        if not outcome.messages:
            screen.lines(["", f"{INDENT}No message: every subscriber received nothing.", ""])
            return
        for index, message in enumerate(outcome.messages, start=1):
            self._show_message(message, index, len(outcome.messages))
        screen.lines([""])

    def _show_message(self, message: Shown, index: int, count: int) -> None:
        screen, published = self.screen, message.published
        title = f"▸ Message {index} of {count}: {_about(published)}"
        if index > FULL_MESSAGES:
            screen.lines([f"  {title}: {published.subject}"])
            return
        delivered = " · ".join(
            f"{s.label} ✓" if s.label in message.received_by else f"{s.label} ✗ filtered out"
            for s in self.result.subscribers
        )
        screen.lines(["", f"  {title}"])
        screen.text(f"Delivered to: {delivered}", INDENT)
        width = screen.width
        text, card = published.bodies[Rendering.TEXT], published.bodies[Rendering.CHAT]
        screen.lines(show.email(published.subject, text, INDENT, width))
        if index == 1:
            screen.lines(show.slack(card, INDENT, width))
            screen.lines(show.document(message.envelope.message, INDENT, width))
        else:  # the same shape as the first message's: one line each
            screen.lines(
                [
                    show.slack_line(card, INDENT),
                    show.document_line(message.envelope.message, INDENT),
                ]
            )
        for copy in message.routed:  # what a route's channel got: its own part, its own card
            screen.lines([show.teams_line(copy.audience, copy.bodies[Rendering.CHAT], INDENT)])

    def _operator_cli(self, deployment: Deployment, sqs: SQSClient) -> None:
        result = self.result
        self.screen.lines([show.heading("The operator CLI against the sandbox", self.screen.width)])
        assert result.organization is not None  # noqa: S101 - set before the first tick
        change = scenario.after_the_last_tick(self.sandbox.config_sim, result.organization)
        self.screen.text(f"In the organization: {change}")
        regions = [arg for region in REGIONS for arg in ("--region", region)]
        result.status_exit, result.status_output = self._cli(["status", *regions])
        check = ["check", "--dry-run", "--stack", deployment.synthesized.stack_name]
        check += ["--region", REGIONS[0]]
        result.check_exit, result.check_output = self._cli(check)
        result.dry_run_deliveries = sum(len(_drain(sqs, s.queue_url)) for s in result.subscribers)
        self.screen.text(
            f"The topic's subscribers received {_count(result.dry_run_deliveries, 'message')} "
            "during these commands: check --dry-run publishes nothing and writes nothing."
        )
        self.screen.lines([""])

    def _cli(self, argv: list[str]) -> tuple[int, str]:
        """Run the operator CLI in this process (so with the sandbox's environment) and show it."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = cli.main(argv, out=out)
        text = out.getvalue() + err.getvalue()
        lines = text.rstrip("\n").split("\n")
        limit = show.EMAIL_LINES
        self.screen.lines(["", f"  $ config-notifier {' '.join(argv)}"])
        self.screen.lines(show.body(lines[:limit], INDENT, self.screen.width))
        if len(lines) > limit:
            self.screen.lines([f"{INDENT}{show.more(len(lines) - limit, len(lines))}"])
        meaning = {cli.EXIT_OK: "ok", cli.EXIT_FAILING: "something is failing"}.get(code, "error")
        self.screen.lines([f"{INDENT}(exit code {code}: {meaning})"])
        return code, text


def _stack_context(stack_name: str) -> dict[str, Any]:
    """cdk.json's context, as `cdk synth` would pass it, with the demo's subscribers and regions."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return {
        **context,
        "stackName": stack_name,
        "regions": list(REGIONS),
        "notificationEmails": EMAILS,
        "slackWorkspaceId": "T0123ABCD",
        "slackChannelId": "C0123ABCD",
        "eventBusName": _event_bus(stack_name),
        "routes": [ROUTE],
    }


def _event_bus(stack_name: str) -> str:
    # A named bus, not the default one: moto hands custom events on the default bus to the
    # stack's schedule rule (AWS never does; it has no event pattern) and fails on its target.
    return f"{stack_name}-events"


def _subscribe(deployment: Deployment, sns: SNSClient, sqs: SQSClient) -> list[Subscriber]:
    """The SQS subscriber of the json topic (audience all, as the stack's own subscribers), then
    a queue on the text topic in place of each email subscription of the template, with its
    filter policy."""
    suffix = deployment.function_name[-8:].lower()  # moto is process-wide: names must not clash
    outputs = deployment.synthesized.template["Outputs"]
    wanted = [("SQS subscriber", Rendering.JSON, subscription_filter(EVERYONE))]
    for resource in deployment.synthesized.resources("AWS::SNS::Subscription").values():
        properties = resource["Properties"]
        if properties["Protocol"] == "email" and (
            properties["TopicArn"] == outputs["TextTopicArn"]["Value"]
        ):
            policy = properties["FilterPolicy"]
            label = f"email {properties['Endpoint']}"
            wanted.append((f"{label}{_describe(policy)}", Rendering.TEXT, policy))
    topics = {Rendering.JSON: deployment.topic_arn, Rendering.TEXT: deployment.text_topic_arn}
    subscribers = [
        Subscriber(
            label,
            new_subscriber_queue(
                sns,
                sqs,
                topics[rendering],
                f"demo-subscriber-{index}-{suffix}",
                {"FilterPolicy": json.dumps(policy)},
            ),
            rendering,
            policy[AUDIENCE_ATTRIBUTE][0],
        )
        for index, (label, rendering, policy) in enumerate(wanted)
    ]
    # The route's Teams channel: AWS Chatbot gets everything published to the route's own chat
    # topic (no filter policy), so a queue on that topic stands in for it.
    chat = Settings.from_env(deployment.function_environment).topics.chat[ROUTE_NAME]
    for resource in deployment.synthesized.resources(
        "AWS::Chatbot::MicrosoftTeamsChannelConfiguration"
    ).values():
        label = f"Teams channel {resource['Properties']['ConfigurationName']} [route {ROUTE_NAME}]"
        queue = new_subscriber_queue(sns, sqs, chat, f"demo-subscriber-teams-{suffix}", {})
        subscribers.append(Subscriber(label, queue, Rendering.CHAT, ROUTE_NAME))
    return subscribers


def _describe(policy: dict[str, list[str]]) -> str:
    """What a filter policy selects: a route's copies, or of everyone's only some ("" when it
    takes all of everyone's)."""
    [audience] = policy[AUDIENCE_ATTRIBUTE]
    said = [f"route {audience}"] if audience != EVERYONE else []
    said += [
        f"{name}: {' or '.join(values)}"
        for name, values in policy.items()
        if name != AUDIENCE_ATTRIBUTE
    ]
    return f" [{'; '.join(said)}]" if said else ""


def _part_of(copy: Published, message: Published) -> bool:
    """Whether a route's copy is part of `message` (everyone's): of the same kind of message, and
    about rules and packs that message is about too."""
    same_kind = copy.attributes.get("event_type") == message.attributes.get("event_type")
    return same_kind and _deployments(copy) <= _deployments(message)


def _deployments(published: Published) -> set[tuple[str, str, str]]:
    """(region, kind, name) of each rule or pack a message tells of, from its JSON document: a
    notice's groups, a digest's deployments, or the one a message about one is."""
    document = json.loads(published.bodies[Rendering.JSON])
    items = document.get("groups") or document.get("deployments") or [document]
    return {(i.get("region", ""), i.get("kind", ""), i.get("name", "")) for i in items}


def _compare(message: Published, envelope: Delivery | None) -> str | None:
    """Why the SQS copy is not the published message, or None if it is, byte for byte."""
    if envelope is None:
        return f"{message.subject!r} was published but the SQS subscriber did not receive it"
    if envelope.message != message.bodies[Rendering.JSON]:
        return f"{message.subject!r}: the SQS copy differs from the published JSON document"
    if envelope.subject != message.subject or envelope.attributes != message.attributes:
        return f"{message.subject!r}: the SQS copy's subject or attributes differ"
    return None


def _route_events(
    session: boto3.session.Session, endpoint_url: str, stack_name: str, sqs: SQSClient
) -> str:
    """A rule on the bus the stack was told to use, sending the notifier's events to a queue."""
    events = session.client("events", endpoint_url=endpoint_url)
    bus = _event_bus(stack_name)
    url = sqs.create_queue(QueueName=f"{bus}-queue")["QueueUrl"]
    events.put_rule(
        Name="config-deployments",
        EventBusName=bus,
        EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule="config-deployments",
        EventBusName=bus,
        Targets=[{"Id": "queue", "Arn": queue_arn(sqs, url)}],
    )
    events.close()
    return url


def _drain(sqs: SQSClient, queue_url: str) -> dict[str, Delivery]:
    """Everything the queue holds now, by SNS MessageId."""
    return {d.message_id: d for d in received(sqs, queue_url)}


def _display_order(shown: Shown) -> tuple[int, int, str, str]:
    attributes = shown.published.attributes
    region = attributes.get("region", "")
    return (
        SEVERITIES.index(shown.severity) if shown.severity in SEVERITIES else len(SEVERITIES),
        REGIONS.index(region) if region in REGIONS else len(REGIONS),
        attributes.get("kind", ""),
        attributes.get("name", ""),
    )


def _about(published: Published) -> str:
    """A message's severity and what it tells of, for its heading."""
    attributes = published.attributes
    event = attributes.get("event_type")
    if event == "baseline-summary":
        what = f"baseline summary, {attributes.get('region')}"
    elif event == "reminder":
        what = "reminder digest"
    else:
        deployments = sorted(_deployments(published), key=lambda d: (d[2], d[0]))
        names = list(dict.fromkeys(name for _, _, name in deployments))
        regions = sorted({region for region, _, _ in deployments})
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        what = f"{shown} in {', '.join(regions)}"
    return f"{attributes.get('severity')}, {what}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _summary(screen: _Screen, result: DemoResult) -> None:
    messages = [m for t in result.ticks for m in t.messages]
    by_severity = Counter(m.severity for m in messages)
    severities = ", ".join(f"{by_severity[s]} {s}" for s in SEVERITIES)
    screen.lines([show.heading("Summary", screen.width)])
    checked = "" if result.problems else "; every one reached the SQS subscriber as published"
    screen.text(
        f"{len(result.ticks)} ticks of the real handler; {_count(len(messages), 'message')} "
        f"({severities}){checked}."
    )
    for subscriber in result.subscribers[1:]:
        got = sum(subscriber.label in m.received_by for m in messages)
        screen.text(f"The {subscriber.label} stand-in received {got} of them.", "  ")
    screen.lines([""])
    for outcome in result.ticks:
        counts = Counter(m.severity for m in outcome.messages)
        sent = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "nothing"
        head = f"  {outcome.number:>2}  {sent:<12}  "
        screen.lines(screen.wrap(outcome.tick.lesson, head, " " * len(head)))
    screen.lines([""] + [f"PROBLEM: {problem}" for problem in result.problems])
    elapsed = time.monotonic() - screen.started
    screen.text(f"Done in {elapsed:.1f} s; the sandbox is stopped.")


@contextlib.contextmanager
def _sandbox_environment(sandbox: Sandbox) -> Iterator[None]:
    """os.environ pointing every AWS client at the sandbox, nothing of a real AWS setup left."""
    with mock.patch.dict(os.environ):
        # A profile, a role, container credentials or an AWS_ENDPOINT_URL_<SERVICE> could reach a
        # real account or bypass the sandbox; the config files can name all of them too.
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(sandbox.env(), **ISOLATION)
        yield


def _wait_for_threads(before: set[threading.Thread], timeout: float = 5.0) -> list[str]:
    """The names of threads the demo started that still run after the sandbox stopped.

    A connection a client pooled keeps a simulator thread until the client is gone; the handler's
    clients are garbage by now, and collecting them closes their sockets.
    """
    gc.collect()
    deadline = time.monotonic() + timeout
    started = [t for t in set(threading.enumerate()) - before if t.name != JSII_THREAD]
    for thread in started:
        thread.join(max(deadline - time.monotonic(), 0))
    return sorted(t.name for t in started if t.is_alive())
