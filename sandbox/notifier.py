"""The notifier in the sandbox without CloudFormation: its resources made directly in moto, and its
real handler run against them. Tests, the chaos run and the benchmark each make a fresh one.

(`sandbox.deploy` deploys the real CDK stack instead: slower, for what only the stack can show.)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import boto3

from config_notifier.model import EVERYONE, Rendering, Severity
from config_notifier.publish import Topics, topic_suffix
from config_notifier.routing import parse_routes
from sandbox.lambda_runtime import ExecutionEnvironment, RunResult, invoke
from sandbox.local_aws import ISOLATION
from sandbox.resources import (
    Delivery,
    audience_filter,
    create_snapshot_table,
    new_subscriber_queue,
    received,
    subscribe_queue,
)

REGION = "us-east-1"


class Notifier:
    """The snapshot table (the stack's key schema), a topic per rendering, an SQS queue subscribed
    to the json topic for audience `all` (the subscriber whose view `received` reads), and `env`:
    the function's environment, its settings and the way to the sandbox.

    `sandbox_env` is the sandbox's endpoint variables (`Sandbox.env()`, or with AWS_ENDPOINT_URL
    at a fault proxy); `session` makes the clients that set up and read the resources (default: one
    of its own); `settings` are more of the function's variables (MAX_ATTEMPTS="2", ROUTES=...).
    `subscribe` adds subscribers: the text rendering, a route's audience.
    """

    def __init__(
        self,
        sandbox_env: Mapping[str, str],
        regions: tuple[str, ...],
        *,
        session: boto3.Session | None = None,
        prefix: str = "notifier",
        **settings: str,
    ) -> None:
        if session is None:
            session = boto3.session.Session(
                aws_access_key_id=sandbox_env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=sandbox_env["AWS_SECRET_ACCESS_KEY"],
            )
        endpoint = sandbox_env["AWS_ENDPOINT_URL"]
        self.dynamodb = session.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        self.sns = session.client("sns", region_name=REGION, endpoint_url=endpoint)
        self.sqs = session.client("sqs", region_name=REGION, endpoint_url=endpoint)
        self._suffix = suffix = uuid.uuid4().hex[:8]  # moto is process-wide: names must not clash
        self._prefix = prefix
        self.table = f"{prefix}-snapshot-{suffix}"
        create_snapshot_table(self.dynamodb, self.table)
        # Named as the stack names them: `<prefix>text`, `<prefix>json`, `<prefix>chat`, and a
        # chat topic per route.
        stack = f"{prefix}-{suffix}-"
        routes = [r.name for r in parse_routes(settings.get("ROUTES", ""))]
        arn = self.sns.create_topic(Name=f"{stack}{topic_suffix(Rendering.JSON)}")["TopicArn"]
        self.topics = Topics.named(arn.removesuffix(topic_suffix(Rendering.JSON)), routes)
        for topic in self.topics.arns:
            self.sns.create_topic(Name=topic.rsplit(":", 1)[1])
        self._queues: list[tuple[str, str, dict[str, str]]] = []
        self.queue_url = self.subscribe(Rendering.JSON)
        self.env: dict[str, str] = {
            **sandbox_env,
            **ISOLATION,
            "SNAPSHOT_TABLE_NAME": self.table,
            "TOPIC_ARN_PREFIX": arn.removesuffix(topic_suffix(Rendering.JSON)),
            "REGIONS": ",".join(regions),
            **settings,
        }
        self._ticks = 0

    @property
    def topic_arn(self) -> str:
        """The json topic: machines' subscribers (SQS, Lambda, HTTPS)."""
        return self.topics.json

    def subscribe(
        self,
        rendering: Rendering,
        audience: str = EVERYONE,
        severities: Sequence[Severity] | None = None,
    ) -> str:
        """A new queue subscribed to `rendering`'s topic with the filter policy the stack gives a
        destination of `audience` (of `severities` only, as an email filter); its URL. (The stack
        gives chat channels a topic per audience: a chat queue gets its audience's topic.)"""
        name = f"{self._prefix}-{rendering.value}-{audience}-{len(self._queues)}-{self._suffix}"
        topic = self.topics.of(rendering, audience)
        if topic is None:
            raise ValueError(f"no {rendering.value} topic for {audience!r}: add it to ROUTES")
        attributes = audience_filter(audience, severities)
        url = new_subscriber_queue(self.sns, self.sqs, topic, name, attributes)
        self._queues.append((topic, url, attributes))
        return url

    # Running the function ----------------------------------------------------------------------

    def invoke(
        self, run_id: str | None = None, *, now: datetime | None = None, **overrides: str
    ) -> RunResult:
        """One schedule tick, a cold start, with the function's environment (and `overrides`).

        `now` sets the clock the handler reads, so a test can let hours pass between ticks."""
        self._ticks += 1
        return invoke({**self.env, **overrides}, run_id or f"tick-{self._ticks}", now=now)

    def run(
        self, run_id: str | None = None, *, now: datetime | None = None, **overrides: str
    ) -> dict[str, Any]:
        """One schedule tick's summary; what escaped the handler is raised again."""
        return self.invoke(run_id, now=now, **overrides).summary_or_raise()

    def environment(self) -> ExecutionEnvironment:
        """An execution environment of the function, for warm runs one after another."""
        return ExecutionEnvironment(self.env)

    # What came of it ---------------------------------------------------------------------------

    def received(self, queue_url: str | None = None) -> list[Delivery]:
        """Everything a subscriber's queue got since the last call, oldest first: by default the
        json topic's subscriber for audience `all`."""
        return received(self.sqs, queue_url or self.queue_url)

    def transitions(self, queue_url: str | None = None) -> list[Delivery]:
        """The transition messages among what the queue got since the last call."""
        return [d for d in self.received(queue_url) if d.is_transition]

    def items(self) -> list[dict[str, Any]]:
        """Every item of the snapshot table."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**request)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # Breaking it on purpose --------------------------------------------------------------------

    def break_topic(self) -> None:
        """Make the next publishes fail for real: every topic is gone (SNS answers NotFound)."""
        for arn in self.topics.arns:
            self.sns.delete_topic(TopicArn=arn)

    def repair_topic(self) -> None:
        """The topics again, under the same ARNs, with their queues subscribed."""
        for arn in self.topics.arns:
            again = self.sns.create_topic(Name=arn.rsplit(":", 1)[1])["TopicArn"]
            if again != arn:
                raise RuntimeError(f"the topic came back as {again}, not {arn}")
        for topic, url, attributes in self._queues:
            subscribe_queue(self.sns, self.sqs, topic, url, attributes)

    def delete(self) -> None:
        self.dynamodb.delete_table(TableName=self.table)
        for arn in self.topics.arns:
            self.sns.delete_topic(TopicArn=arn)
        for _, url, _ in self._queues:
            self.sqs.delete_queue(QueueUrl=url)
