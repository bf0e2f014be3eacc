"""What Lambda's runtime does for the notifier's function, here: moto cannot invoke a Lambda
function without docker, so the real handler runs in this process (or in a process of its own,
`sandbox.lambda_process`) with the function's environment variables, a context object, and its
output captured as the function's log group would get it.

Every tool invokes the handler through this module: tests, the demo, the benchmark and the chaos
run. It is also the one place that knows which caches make an execution environment warm.

    with ExecutionEnvironment(function_env) as function:
        cold = function.invoke("tick-1")  # a cold start
        warm = function.invoke("tick-2")  # reuses the settings and clients of the first
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from unittest import mock

from sandbox.servers import Lifecycle

FUNCTION_NAME = "config-deployment-notifier"
REMAINING_MS = 300_000  # the deployed timeout: one 5-minute schedule period

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class FakeContext:
    """The fields of Lambda's context object that the handler and Powertools read."""

    function_name: str = FUNCTION_NAME
    remaining_ms: int = REMAINING_MS
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:111111111111:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def scheduled_event(run_id: str, region: str = "us-east-1") -> dict[str, Any]:
    """What an EventBridge schedule rule delivers to its target; the handler takes its id as the
    run's id."""
    return {
        "version": "0",
        "id": run_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/notifier-schedule"],
        "detail": {},
    }


@dataclass(frozen=True)
class RunResult:
    """One invocation: what the handler returned, or the error that escaped it, and its output."""

    summary: dict[str, Any] | None
    error: str | None = None  # the traceback of what escaped the handler
    lines: tuple[dict[str, Any], ...] = ()  # its JSON output: log records and EMF metrics
    plain_logs: tuple[str, ...] = ()  # records that bypassed the structured logger
    killed: bool = False  # the process was killed before it finished
    duration_s: float | None = None  # the handler's wall time, as Lambda reports Duration
    # From a process of its own (sandbox.lambda_process): its peak memory ("Max Memory Used"),
    # and what a probe in it measured (the benchmark's request counts).
    peak_rss_mib: float | None = None
    measured: Mapping[str, Any] = field(default_factory=dict)
    # In this process only: what escaped the handler, to raise it again.
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def logs(self) -> tuple[dict[str, Any], ...]:
        """The structured log records (EMF metric lines left out)."""
        return tuple(line for line in self.lines if "level" in line)

    def summary_or_raise(self) -> dict[str, Any]:
        """The summary; what escaped the handler is raised again, as the runtime reports it."""
        if self.exception is not None:
            raise self.exception
        if self.summary is None:
            raise RuntimeError(f"the invocation returned no summary: {self.error or 'killed'}")
        return self.summary

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "error": self.error,
            "lines": list(self.lines),
            "plain_logs": list(self.plain_logs),
            "duration_s": self.duration_s,
            "peak_rss_mib": self.peak_rss_mib,
            "measured": dict(self.measured),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> RunResult:
        return cls(
            summary=document["summary"],
            error=document["error"],
            lines=tuple(document["lines"]),
            plain_logs=tuple(document["plain_logs"]),
            duration_s=document["duration_s"],
            peak_rss_mib=document["peak_rss_mib"],
            measured=document["measured"],
        )


def forget_environment() -> None:
    """Forget the function's cached settings and clients: its next invocation is a cold start."""
    from config_notifier import handler  # noqa: PLC0415 - the function's module, loaded on use

    handler.settings.cache_clear()
    handler.dependencies.cache_clear()


class ExecutionEnvironment(Lifecycle):
    """One execution environment of the function, in this process.

    The first invocation is a cold start; later ones are warm (they reuse the settings and
    clients the first one cached), as Lambda reuses an environment. Leaving the `with` block
    forgets them, so their clients and pooled connections go. `environment` is the function's
    variables, on top of the rest of os.environ (as the runtime's own variables are in Lambda);
    None: os.environ as it is. `handler` replaces the notifier's (the benchmark's reference).
    """

    def __init__(
        self,
        environment: Mapping[str, str] | None = None,
        *,
        function_name: str = FUNCTION_NAME,
        handler: Handler | None = None,
    ) -> None:
        self.environment = dict(environment or {})
        self.function_name = function_name
        self._handler = handler

    def start(self) -> None:
        forget_environment()

    def stop(self) -> None:
        forget_environment()

    def invoke(
        self, run_id: str, *, now: datetime | None = None, remaining_ms: int = REMAINING_MS
    ) -> RunResult:
        """One schedule tick. `now`, if given, is the time the handler reads, so a scenario can
        let hours pass between ticks."""
        from config_notifier import handler  # noqa: PLC0415

        function = self._handler or handler.lambda_handler
        context = FakeContext(self.function_name, remaining_ms)
        clock = mock.patch.object(handler, "datetime", frozen_clock(now)) if now else nullcontext()
        summary: dict[str, Any] | None = None
        escaped: Exception | None = None
        with mock.patch.dict(os.environ, self.environment), clock, _captured() as output:
            started = time.perf_counter()
            try:
                summary = function(scheduled_event(run_id), context)
            except Exception as exc:
                escaped = exc
            duration = time.perf_counter() - started
        # The output is complete once the capture has ended.
        return RunResult(
            summary,
            "".join(traceback.format_exception(escaped)) if escaped else None,
            tuple(output.lines),
            tuple(output.plain),
            duration_s=duration,
            exception=escaped,
        )


def invoke(
    environment: Mapping[str, str],
    run_id: str,
    *,
    now: datetime | None = None,
    function_name: str = FUNCTION_NAME,
) -> RunResult:
    """One cold invocation, in an execution environment of its own."""
    with ExecutionEnvironment(environment, function_name=function_name) as function:
        return function.invoke(run_id, now=now)


def frozen_clock(moment: datetime) -> type[datetime]:
    """A datetime class whose now() is `moment`: what the handler calls to stamp a run."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Frozen:
            return cls.fromisoformat(moment.astimezone(tz).isoformat())

    return Frozen


@dataclass
class _Output:
    lines: list[dict[str, Any]] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)


@contextmanager
def _captured() -> Iterator[_Output]:
    """What the function writes while it runs: its structured logger's JSON lines, what it prints
    (Powertools prints EMF metrics to stdout), and any record that reached the root logger without
    going through the structured logger (a plain line, not JSON, in the log group)."""
    output = _Output()
    logs, printed = io.StringIO(), io.StringIO()
    structured = stream_handler()
    previous = structured.setStream(logs)
    structured_logger = _structured_logger_name()

    class Stray(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not _under(record.name, structured_logger):
                output.plain.append(f"{record.levelname} {record.name}: {record.getMessage()}")

    stray = Stray(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(stray)
    try:
        with mock.patch("sys.stdout", printed):
            yield output
    finally:
        root.removeHandler(stray)
        structured.setStream(previous)
        output.lines += _json_lines(logs.getvalue()) + _json_lines(printed.getvalue())


def stream_handler() -> logging.StreamHandler[Any]:
    """The handler through which the function's structured logger writes its JSON lines."""
    from config_notifier import handler  # noqa: PLC0415

    registered = handler.logger.registered_handler
    if not isinstance(registered, logging.StreamHandler):
        raise TypeError(f"the function's logger writes through {registered!r}, not a stream")
    return registered


def _structured_logger_name() -> str:
    from config_notifier import handler  # noqa: PLC0415

    return handler.logger._logger.name


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + ".")


def _json_lines(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out
