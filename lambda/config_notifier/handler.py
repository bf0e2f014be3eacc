"""The Lambda entry point: settings, wiring and observability around one call to `run`."""

from __future__ import annotations

import gc

# A cold start's imports create long-lived module objects and nothing to collect, yet the cyclic
# collector would walk everything imported so far several times on the way. It is off until the
# end of this module, which freezes what was imported out of every later collection.
_COLLECTING = gc.isenabled()
gc.disable()

import functools
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from config_notifier import METRICS_NAMESPACE, SERVICE
from config_notifier.accounts import AccountNames
from config_notifier.delegated import DelegatedAdmin
from config_notifier.events import EventOutbox, EventPublisher
from config_notifier.model import Severity
from config_notifier.publish import Publisher
from config_notifier.read import utc_session
from config_notifier.run import Dependencies, run
from config_notifier.settings import Settings
from config_notifier.snapshot import SnapshotStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sts import STSClient

# Stop starting new work this long before Lambda's own timeout, so the run commits what it
# delivered and returns cleanly; the next run continues.
SAFETY_MARGIN_SECONDS = 30

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """True where a trace can be sent: in Lambda with active tracing, and not turned off."""
    return bool(environ.get("AWS_XRAY_DAEMON_ADDRESS")) and environ.get(
        "POWERTOOLS_TRACE_DISABLED", ""
    ).lower() not in ("1", "true")


@cache
def settings() -> Settings:
    """Parsed once per execution environment; a bad environment fails every invocation loudly."""
    return Settings.from_env(os.environ)


@cache
def dependencies() -> Dependencies:
    """The boto3 clients, created once per execution environment and reused by warm invocations."""
    # Creating the clients allocates botocore's service models: a cyclic collection in the middle
    # would walk every object imported so far, a sixth of the cold start. None is needed here;
    # after it, what the clients loaded lives as long as the process, so freeze it out of every
    # later collection too.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _dependencies(settings())
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def client_config_for(current: Settings) -> Config:
    """How every client of the function retries, pools connections and times out."""
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": current.max_attempts},
        max_pool_connections=current.max_concurrency * 2,
        connect_timeout=5,
        read_timeout=30,
    )


def _dependencies(current: Settings) -> Dependencies:
    core = utc_session()
    session = boto3.session.Session(botocore_session=core)
    client_config = client_config_for(current)
    dynamodb = session.client("dynamodb", config=client_config)
    config_clients: dict[str, ConfigServiceClient] = {
        region: session.client("config", region_name=region, config=client_config)
        for region in current.regions
    }
    # The function's own STS client, shared by every delegated administrator and made only when
    # the first role is assumed; nothing of it is built when none is configured.
    sts = cast("STSClient", _OnFirstUse(lambda: session.client("sts", config=client_config)))
    loader = core.get_component("data_loader")  # models read once, shared with the admins'
    return Dependencies(
        config_client=config_clients.__getitem__,
        # Started on first use and kept while the execution environment lives: a warm run
        # starts no thread.
        executor=ThreadPoolExecutor(
            max_workers=current.max_concurrency, thread_name_prefix="config-notifier"
        ),
        delegated_admins={
            account: DelegatedAdmin(arn, sts, loader, client_config)
            for account, arn in current.delegated_admins.items()
        },
        snapshot=SnapshotStore(dynamodb, current.snapshot_table_name),
        publisher=Publisher(
            cast("SNSClient", _OnFirstUse(lambda: session.client("sns", config=client_config))),
            current.topics,
        ),
        account_names=AccountNames(
            cast(
                "OrganizationsClient",
                _OnFirstUse(lambda: session.client("organizations", config=client_config)),
            ),
            dynamodb,
            current.snapshot_table_name,
            timedelta(hours=current.account_names_refresh_hours),
        ),
        events=EventPublisher(
            cast(
                "EventBridgeClient",
                _OnFirstUse(lambda: session.client("events", config=client_config)),
            ),
            current.event_bus_name,
            EventOutbox(dynamodb, current.snapshot_table_name),
        ),
    )


class _OnFirstUse:
    """A boto3 client made when the run first uses it. Most runs name no account and publish
    nothing, so their cold start need not build the SNS, Organizations and EventBridge clients
    (about 13 ms each)."""

    def __init__(self, create: Callable[[], Any]) -> None:
        self._create = create
        self._client: Any = None
        self._lock = threading.Lock()  # the run's threads may reach it together

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._create()
        return getattr(self._client, name)


# What the schedule sends (an EventBridge "Scheduled Event"); the handler reads its "id" only.
EXAMPLE_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-29T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/config-notifier-schedule"],
    "detail": {},
}


class InvalidEventError(TypeError):
    """The invocation's event is not a JSON object."""


def scheduled_event(event: object) -> dict[str, Any]:
    """The event if it is a JSON object (the schedule's, or {} from a manual invocation); else an
    error that says what was expected, before any of the run's logging or metrics start."""
    if isinstance(event, dict):
        return event
    shown = json.dumps(event, default=str)
    raise InvalidEventError(
        "The event must be a JSON object, as the EventBridge schedule sends, for example "
        f"{json.dumps(EXAMPLE_EVENT)}; this one is {_json_kind(event)}: "
        + (shown if len(shown) <= 200 else shown[:200] + "...")
    )


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: a bool is an int too
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _objects_only(
    handler: Callable[[dict[str, Any], LambdaContext], dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    """The handler, refusing an event that is not a JSON object before it starts logging and
    metrics (whose flush would warn, in plain text, that no metric was added)."""

    @functools.wraps(handler)
    def checked(event: object, context: LambdaContext) -> dict[str, Any]:
        return handler(scheduled_event(event), context)

    return checked


@_objects_only
@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run once per schedule tick; returns the run's summary."""
    # One correlation id per run: the schedule's event id, or the invocation's request id.
    run_id = str(event.get("id") or context.aws_request_id)
    logger.set_correlation_id(run_id)
    try:
        current = settings()
    except ValueError as exc:
        logger.error(str(exc))
        raise
    budget = current.time_budget_seconds or (
        context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    )
    summary = run(
        current,
        dependencies(),
        now=datetime.now(UTC),
        run_id=run_id,
        deadline=time.monotonic() + max(budget, 1),
    )
    _emit(summary)
    logger.info("run finished", extra={"summary": summary})
    return summary


# Powertools' Tracer imports the X-Ray SDK, which builds an X-Ray client as it loads: about 0.2 s
# of every cold start. Only pay it where the trace goes somewhere.
if tracing_enabled(os.environ):
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=SERVICE)
    lambda_handler = tracer.capture_lambda_handler(capture_response=False)(lambda_handler)


def _emit(summary: dict[str, Any]) -> None:
    metrics.add_metric("ConfigApiCalls", MetricUnit.Count, summary["api_calls"])
    metrics.add_metric("FailedSources", MetricUnit.Count, len(summary["failed_sources"]))
    metrics.add_metric("MessagesPublished", MetricUnit.Count, summary["messages_published"])
    metrics.add_metric("MessagesFailed", MetricUnit.Count, summary["messages_failed"])
    metrics.add_metric("WriteConflicts", MetricUnit.Count, summary["write_conflicts"])
    metrics.add_metric("DeferredForTime", MetricUnit.Count, summary["deferred_for_time"])
    metrics.add_metric("Muted", MetricUnit.Count, summary["muted"])
    metrics.add_metric("RemindersSent", MetricUnit.Count, summary["reminders_sent"])
    metrics.add_metric("EventsPut", MetricUnit.Count, summary["events_put"])
    metrics.add_metric("EventsFailed", MetricUnit.Count, summary["events_failed"])
    metrics.add_metric("EventsDropped", MetricUnit.Count, summary["events_dropped"])
    metrics.add_metric(
        "AccountNamesUnavailable",
        MetricUnit.Count,
        int(summary["account_names"] == "unavailable"),
    )
    for severity in Severity:
        metrics.add_metric(
            f"Transitions{severity.value.title()}",
            MetricUnit.Count,
            summary["transitions"].get(severity.value, 0),
        )


gc.freeze()
if _COLLECTING:
    gc.enable()
