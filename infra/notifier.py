"""The notifier function: its code, role, log group, and the schedule that runs it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import aws_cdk.aws_dynamodb as dynamodb
import aws_cdk.aws_events as events
import aws_cdk.aws_events_targets as targets
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_logs as logs
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sqs as sqs
from aws_cdk import Aws, Duration, RemovalPolicy
from constructs import Construct

from infra import findings
from infra.config import AppConfig, Schedule
from infra.constants import (
    ARCHITECTURE,
    CONFIG_READ_ACTIONS,
    EVENTS_ACTIONS,
    HANDLER,
    KEY_USE_ACTIONS,
    LOG_ACTIONS,
    MAX_TIMEOUT,
    MEMORY_MB,
    ORGANIZATIONS_ACTIONS,
    RESERVED_CONCURRENCY,
    RUNTIME,
    SCHEDULE_RETRY_ATTEMPTS,
    STS_ACTIONS,
    TABLE_ACTIONS,
    TOPIC_ACTIONS,
)
from infra.environment import function_environment

# IAM role names are at most 64 characters: "-function-" takes 10, the longest region name botocore
# knows 15 (us-isof-south-1); 36 of the stack name leave room for a region a little longer.
ROLE_NAME_STACK_CHARS = 36


class Notifier(Construct):
    """The function that runs once per schedule tick, and everything it needs to run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        code: Path,
        table: dynamodb.ITable,
        topics: Sequence[sns.ITopic],
        topic_arn_prefix: str,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        period = config.schedule.nominal_period
        # The bus (the account's default one, or one the user named) in this stack's account
        # and region: PutEvents is granted on it alone.
        self.event_bus = events.EventBus.from_event_bus_name(
            self, "EventBus", config.event_bus_name
        )

        # Explicit, so its retention is set and it is there (and retained) before the first run.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Built here rather than by lambda.Function, which would attach the AWS managed
        # AWSLambdaBasicExecutionRole (logs:CreateLogGroup and logs on every log group). Named,
        # so delegated administrators' roles can trust it by a name that survives re-creating
        # the stack (docs/security.md).
        self.role = iam.Role(
            self,
            "Role",
            role_name=function_role_name(config.stack_name),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Reads AWS Config deployment statuses; writes the snapshot; publishes.",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Tells people when AWS Config organization deployments change state.",
            code=lambda_.Code.from_asset(str(code)),
            handler=HANDLER,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            memory_size=MEMORY_MB,  # reader threads and large JSON pages; see constants
            # One schedule period, so runs never pile up; the code stops 30 s before it.
            timeout=function_timeout(config.schedule),
            reserved_concurrent_executions=RESERVED_CONCURRENCY,
            environment=function_environment(
                config, table_name=table.table_name, topic_arn_prefix=topic_arn_prefix
            ),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            # JSON: what the runtime itself writes (an invocation's error, a timeout) is a JSON
            # line too, beside Powertools' own, so one Logs Insights query reads them all.
            logging_format=lambda_.LoggingFormat.JSON,
            role=self.role,
            # A failed run is not retried by Lambda: the next tick redoes it with fresh statuses.
            retry_attempts=0,
            # A tick that waited longer than a period (the previous run held the one slot) is
            # superseded by the next one.
            max_event_age=_clamp(period, timedelta(minutes=1), timedelta(hours=6)),
        )
        findings.acknowledge(self.function, "AwsSolutions-L1")
        self._allow(table=table, topics=topics, key=key, roles=config.delegated_admin_role_arns)
        self._schedule(config.schedule)

    def _schedule(self, schedule: Schedule) -> None:
        """The rule that runs the function, and the queue of ticks it could not deliver."""
        period = schedule.nominal_period
        # Where EventBridge puts a tick it could not deliver to the function after its retries.
        self.dead_letters = sqs.Queue(
            self,
            "ScheduleDeadLetters",
            # SSE-SQS: EventBridge can write to it with no key policy to grant (it could not use
            # the AWS managed aws/sqs KMS key at all); ticks carry no sensitive data.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        findings.acknowledge(self.dead_letters, "AwsSolutions-SQS3")
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Runs the Config deployment notifier.",
            schedule=events.Schedule.expression(schedule.expression),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                    max_event_age=_clamp(period, timedelta(minutes=1), timedelta(hours=24)),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )

    def _allow(
        self,
        *,
        table: dynamodb.ITable,
        topics: Sequence[sns.ITopic],
        key: kms.IKey,
        roles: tuple[str, ...],
    ) -> None:
        """Exactly the calls the code makes, each on its own resource where IAM allows one."""
        statements = [
            # Only the delegated administrators' roles, and no statement at all without them.
            *([(STS_ACTIONS, list(roles))] if roles else []),
            (CONFIG_READ_ACTIONS, ["*"]),
            (ORGANIZATIONS_ACTIONS, ["*"]),
            (EVENTS_ACTIONS, [self.event_bus.event_bus_arn]),
            (TABLE_ACTIONS, [table.table_arn]),
            (TOPIC_ACTIONS, [topic.topic_arn for topic in topics]),
            (KEY_USE_ACTIONS, [key.key_arn]),
            (LOG_ACTIONS, [self.log_group.log_group_arn]),
        ]
        for actions, resources in statements:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(actions), resources=resources)
            )
        # Lambda's active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords on "*"
        # to this role itself.
        findings.acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]")


def function_role_name(stack_name: str) -> str:
    """The function role's fixed name: the stack's, the function, and the region (role names
    are global to the account, stack names per region)."""
    return f"{stack_name[:ROLE_NAME_STACK_CHARS]}-function-{Aws.REGION}"


def function_timeout(schedule: Schedule) -> Duration:
    """One schedule period (at most Lambda's 15 minutes), so a run ends before the next starts."""
    return Duration.seconds(min(schedule.nominal_period, MAX_TIMEOUT).total_seconds())


def _clamp(value: timedelta, low: timedelta, high: timedelta) -> Duration:
    return Duration.seconds(max(low, min(value, high)).total_seconds())
