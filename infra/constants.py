"""Names the stack and the function's code must agree on, in one place.

Whatever the code defines (handler path, metric namespace, service name, severities) is imported
from it rather than retyped, so renaming it there changes the stack or fails the synth.
"""

from __future__ import annotations

from datetime import timedelta

import aws_cdk.aws_lambda as lambda_

from config_notifier import METRICS_NAMESPACE, SERVICE
from config_notifier import handler as _handler
from config_notifier.handler import SAFETY_MARGIN_SECONDS
from config_notifier.model import Severity

__all__ = ["METRICS_NAMESPACE", "SAFETY_MARGIN_SECONDS", "SERVICE"]

# --- the function ---------------------------------------------------------------------------------
PACKAGE = _handler.__name__.split(".")[0]  # "config_notifier": the directory copied into the bundle
HANDLER = f"{_handler.__name__}.{_handler.lambda_handler.__name__}"
# The newest Lambda Python runtime whose interpreter the tests run on (docs/design.md rule 8): the
# Makefile builds .venv on the same version (its RUNTIME_PYTHON), and tests/infra checks they agree.
RUNTIME = lambda_.Runtime.PYTHON_3_13
RUNTIME_PYTHON_VERSION = RUNTIME.name.removeprefix("python")  # "3.13": what pip resolves wheels for
# The architecture of the machines that build and test the package: the compiled wheels it ships
# (wrapt's extension, loaded with active tracing) are the very files the runtime-client test loads.
# On arm64 they could not be loaded here. Graviton would cost 20% less per GB-second: cents a month.
ARCHITECTURE = lambda_.Architecture.X86_64
PIP_PLATFORM = "manylinux2014_x86_64"
# The AWS services the function creates boto3 clients for. The bundle keeps only their botocore
# models: botocore lists every model directory (400+) on its first client, a quarter of the
# cold start (bench S4), and the package is a third the size. tests/infra checks the code
# creates no client outside this list.
AWS_SERVICES = ("config", "dynamodb", "events", "organizations", "sns", "sts")
# Room for the reader threads (MAX_CONCURRENCY of them) and the JSON of large organizations; Lambda
# also scales CPU with memory, which shortens runs that parse many pages.
MEMORY_MB = 512
# The timeout is one schedule period (see notifier.function_timeout), so runs never pile up behind
# each other; the code stops starting work SAFETY_MARGIN_SECONDS (30 s) before it and the next run
# continues. Lambda caps a timeout at 15 minutes.
MAX_TIMEOUT = timedelta(minutes=15)
# Reserved concurrency 1: two runs at once would read the same snapshot and publish twice (DESIGN
# rule 4); writes are conditional as well, this keeps the second run from happening at all.
RESERVED_CONCURRENCY = 1
# EventBridge retries a failed delivery (not a failed run) this often.
SCHEDULE_RETRY_ATTEMPTS = 2

# --- what the function's role may do (named actions only; see infra/notifier.py) ---------------
CONFIG_READ_ACTIONS = (
    "config:DescribeOrganizationConfigRuleStatuses",
    "config:GetOrganizationConfigRuleDetailedStatus",
    "config:DescribeOrganizationConformancePackStatuses",
    "config:GetOrganizationConformancePackDetailedStatus",
    "config:DescribeConformancePackStatus",
)
# accounts.py lists the organization's accounts for their names; ListAccounts has no resource
# type, so it is granted on "*".
ORGANIZATIONS_ACTIONS = ("organizations:ListAccounts",)
# delegated.py assumes the role of each delegated administrator account, granted on those roles.
STS_ACTIONS = ("sts:AssumeRole",)
# events.py puts every published transition on the configured bus, and nothing else.
EVENTS_ACTIONS = ("events:PutEvents",)
# snapshot.py calls query, put_item and delete_item, nothing else.
TABLE_ACTIONS = ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem")
# publish.py calls Publish and PublishBatch; SNS authorizes PublishBatch as sns:Publish.
TOPIC_ACTIONS = ("sns:Publish",)
# SNS generates a data key per message on an encrypted topic and decrypts it to deliver; SNS calls
# GenerateDataKey (not the WithoutPlaintext variant), so the action is named exactly.
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# What Lambda's active tracing needs; X-Ray has no resource-level permissions for these.
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

# --- the table (snapshot.py's key schema) ---------------------------------------------------------
PARTITION_KEY = "pk"
SORT_KEY = "sk"

# --- messages and metrics (what handler.py emits; tests/infra check them against a real run) -----
FAILED_SOURCES_METRIC = "FailedSources"
EVENTS_FAILED_METRIC = "EventsFailed"  # events EventBridge refused, kept for the next run
EVENTS_DROPPED_METRIC = "EventsDropped"  # events lost after a day of refusals
CONFIG_API_CALLS_METRIC = "ConfigApiCalls"
MESSAGES_PUBLISHED_METRIC = "MessagesPublished"
MESSAGES_FAILED_METRIC = "MessagesFailed"
MUTED_METRIC = "Muted"  # transitions and stalls committed without a message
TRANSITION_METRICS = {severity: f"Transitions{severity.value.title()}" for severity in Severity}
# The reminder digest's metrics (handler.py `_emit`): the dashboard's Reminders widget graphs them.
REMINDER_METRICS: tuple[str, ...] = ("RemindersSent",)
METRIC_SERVICE_DIMENSION = "service"  # Powertools Metrics adds it from Metrics(service=...)

# --- AWS Chatbot ----------------------------------------------------------------------------------
CHATBOT_SERVICE = "chatbot.amazonaws.com"
# Caps what anyone in the channel can do through the bot: read CloudWatch, nothing else.
CHATBOT_GUARDRAIL_POLICY = "CloudWatchReadOnlyAccess"
