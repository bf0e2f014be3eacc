"""The notifier in the sandbox without CloudFormation: its resources made directly in moto, and its
real handler run against them. Tests, the chaos run and the benchmark each make a fresh one.

(`sandbox.deploy` deploys the real CDK stack instead: slower, for what only the stack can show.)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import boto3

from sandbox.lambda_runtime import ExecutionEnvironment, RunResult, invoke
from sandbox.local_aws import ISOLATION
from sandbox.resources import (
    Delivery,
    create_snapshot_table,
    new_subscriber_queue,
    received,
    subscribe_queue,
)

REGION = "us-east-1"


class Notifier:
    """The snapshot table (the stack's key schema), the topic and an SQS queue subscribed to it
    (the subscriber whose view is read), and `env`: the function's environment, its settings and
    the way to the sandbox.

    `sandbox_env` is the sandbox's endpoint variables (`Sandbox.env()`, or with AWS_ENDPOINT_URL
    at a fault proxy); `session` makes the clients that set up and read the resources (default: one
    of its own); `settings` are more of the function's variables (MAX_ATTEMPTS="2", ...).
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
        suffix = uuid.uuid4().hex[:8]  # moto is process-wide: names must not clash
        self.table = f"{prefix}-snapshot-{suffix}"
        create_snapshot_table(self.dynamodb, self.table)
        self.topic_arn: str = self.sns.create_topic(Name=f"{prefix}-deployments-{suffix}")[
            "TopicArn"
        ]
        self.queue_url = new_subscriber_queue(
            self.sns, self.sqs, self.topic_arn, f"{prefix}-subscriber-{suffix}"
        )
        self.env: dict[str, str] = {
            **sandbox_env,
            **ISOLATION,
            "SNAPSHOT_TABLE_NAME": self.table,
            "TOPIC_ARN": self.topic_arn,
            "REGIONS": ",".join(regions),
            **settings,
        }
        self._ticks = 0

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

    def received(self) -> list[Delivery]:
        """Everything the subscriber's queue got since the last call, oldest first."""
        return received(self.sqs, self.queue_url)

    def transitions(self) -> list[Delivery]:
        """The transition messages among what the queue got since the last call."""
        return [d for d in self.received() if d.is_transition]

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
        """Make the next publishes fail for real: the topic is gone (SNS answers NotFound)."""
        self.sns.delete_topic(TopicArn=self.topic_arn)

    def repair_topic(self) -> None:
        """The topic again, under the same ARN, with the queue subscribed."""
        name = self.topic_arn.rsplit(":", 1)[1]
        arn = self.sns.create_topic(Name=name)["TopicArn"]
        if arn != self.topic_arn:
            raise RuntimeError(f"the topic came back as {arn}, not {self.topic_arn}")
        subscribe_queue(self.sns, self.sqs, arn, self.queue_url)

    def delete(self) -> None:
        self.dynamodb.delete_table(TableName=self.table)
        self.sns.delete_topic(TopicArn=self.topic_arn)
        self.sqs.delete_queue(QueueUrl=self.queue_url)
