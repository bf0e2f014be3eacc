"""The notifier function: its code, role, log group, and the schedule that runs it."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import cast
from urllib.parse import quote

import aws_cdk.aws_dynamodb as dynamodb
import aws_cdk.aws_events as events
import aws_cdk.aws_events_targets as targets
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_logs as logs
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sqs as sqs
from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from constructs import Construct

from config_notifier.mute import to_json
from config_notifier.settings import Settings
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
    XRAY_ACTIONS,
)

# Run summaries (Powertools logs one "run finished" line with the summary), errors and warnings,
# and Lambda's own timeout line, newest first.
INSIGHTS_QUERY = (
    "fields @timestamp, level, message, correlation_id, summary.messages_published,"
    " summary.messages_failed, summary.failed_sources.0.reason, summary.duration_ms, exception"
    ' | filter message = "run finished" or level in ["ERROR", "WARNING"]'
    " or @message like /Task timed out/"
    " | sort @timestamp desc"
    " | limit 200"
)


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
        topic: sns.ITopic,
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
        # AWSLambdaBasicExecutionRole (logs:CreateLogGroup and logs on every log group).
        self.role = iam.Role(
            self,
            "Role",
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
                config, table_name=table.table_name, topic_arn=topic.topic_arn
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
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="The runtime is the newest Python the tests run the built package on "
                "(infra/constants.py RUNTIME), so what is deployed is what was tested; Lambda "
                "has a newer one that no machine building this package runs yet.",
            )
        )
        self._allow(table=table, topic=topic, key=key, roles=config.delegated_admin_role_arns)
        # lambda.Function makes the function DependsOn its role (to order the role's policy before
        # it) beside the Fn::GetAtt of that role; cfn-lint's W3005 flags the redundant half.
        cfn_function = cast(lambda_.CfnFunction, self.function.node.default_child)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})

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
        Validations.of(self.dead_letters).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself a dead-letter queue: the EventBridge schedule "
                "target's DLQ for ticks it could not deliver to the function.",
            )
        )
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Runs the Config deployment notifier.",
            schedule=events.Schedule.expression(config.schedule.expression),
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
        topic: sns.ITopic,
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
            (TOPIC_ACTIONS, [topic.topic_arn]),
            (KEY_USE_ACTIONS, [key.key_arn]),
            (LOG_ACTIONS, [self.log_group.log_group_arn]),
        ]
        for actions, resources in statements:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(actions), resources=resources)
            )
        # Lambda's active tracing adds XRAY_ACTIONS on "*" to this role itself.
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Resource '*' is used only for actions that support no resource-level "
                f"permissions: the AWS Config reads {', '.join(CONFIG_READ_ACTIONS)}, "
                f"{', '.join(ORGANIZATIONS_ACTIONS)} for account names and "
                f"{', '.join(XRAY_ACTIONS)} for active tracing. The table, topic, key and log "
                "group statements name their resources.",
            )
        )


def function_timeout(schedule: Schedule) -> Duration:
    """One schedule period (at most Lambda's 15 minutes), so a run ends before the next starts."""
    return Duration.seconds(min(schedule.nominal_period, MAX_TIMEOUT).total_seconds())


def function_environment(config: AppConfig, *, table_name: str, topic_arn: str) -> dict[str, str]:
    """The variables `Settings.from_env` reads, every one of them and nothing else."""
    code_defaults = {f.name: f.default for f in fields(Settings)}
    values = {
        "snapshot_table_name": table_name,
        "topic_arn": topic_arn,
        "regions": ",".join(config.regions),
        "baseline_mode": config.baseline_mode.value,
        "max_concurrency": str(config.max_concurrency),
        "full_reconcile_hours": str(config.full_reconcile_hours),
        "stuck_after_minutes": str(config.stuck_after_minutes),
        "account_names_refresh_hours": str(config.account_names_refresh_hours),
        "mutes": to_json(config.mutes),
        "event_bus_name": config.event_bus_name,
        "delegated_admin_role_arns": ",".join(config.delegated_admin_role_arns),
        # Not deployment choices: set to the code's defaults so the console shows what is in use.
        "max_attempts": str(code_defaults["max_attempts"]),
        "time_budget_seconds": str(code_defaults["time_budget_seconds"]),
    }
    environment = {name.upper(): value for name, value in values.items()}
    if set(environment) != set(Settings.env_names()):
        raise RuntimeError(
            "The stack and the function disagree on its environment: the code reads "
            f"{sorted(Settings.env_names())}, the stack sets {sorted(environment)}"
        )
    return environment


def insights_console_url(region: str, log_group_name: str) -> str:
    """A CloudWatch console link that opens Logs Insights with INSIGHTS_QUERY on the log group."""

    # The console's own URL encoding: percent-encode, then write '%' as '*'.
    def encode(text: str) -> str:
        return quote(text, safe="").replace("%", "*")

    detail = (
        "~(end~0~start~-86400~timeType~'RELATIVE~unit~'seconds"
        f"~editorString~'{encode(INSIGHTS_QUERY)}~source~(~'{log_group_name}))"
    )
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:logs-insights$3FqueryDetail$3D{detail}"
    )


def _clamp(value: timedelta, low: timedelta, high: timedelta) -> Duration:
    return Duration.seconds(max(low, min(value, high)).total_seconds())
