"""What Lambda's runtime does for the notifier's function, in this process: moto cannot invoke a
Lambda function without docker, so the real handler runs here, with a deployed function's
environment variables, a context object and its stdout captured as the log group would get it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, cast
from unittest import mock

from config_notifier import handler


@dataclass(frozen=True)
class FakeContext:
    """The fields of Lambda's context object that the handler and Powertools read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:notifier"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass(frozen=True)
class Invocation:
    """What one invocation returned, and the JSON lines it wrote to stdout (logs and EMF metrics),
    which is what Lambda would put in the function's log group."""

    summary: dict[str, Any]
    log_lines: list[dict[str, Any]]


def frozen_clock(moment: datetime) -> type[datetime]:
    """A datetime class whose now() is `moment`: what the handler calls to stamp a run."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Frozen:
            return cls.fromisoformat(moment.astimezone(tz).isoformat())

    return Frozen


def invoke(
    environment: Mapping[str, str],
    function_name: str,
    event_id: str,
    now: datetime | None = None,
) -> Invocation:
    """One schedule tick: the real handler, in this process, with `environment` as its variables.

    The rest of os.environ (the sandbox's endpoints and credentials) stays visible, as the
    runtime's own variables are in Lambda. The handler's per-environment caches are cleared
    before and after, so each call is a cold start with exactly these settings. `now`, if given,
    is the time the handler reads, so a scenario can let hours pass between ticks.
    """
    clock = mock.patch.object(handler, "datetime", frozen_clock(now)) if now else nullcontext()
    stdout = io.StringIO()
    # The Logger's handler holds the stream it was created with; Metrics prints to sys.stdout.
    log_handler = cast(logging.StreamHandler[Any], handler.logger.registered_handler)
    log_stream = log_handler.setStream(stdout)
    with mock.patch.dict(os.environ, environment), mock.patch("sys.stdout", stdout), clock:
        handler.settings.cache_clear()
        handler.dependencies.cache_clear()
        try:
            summary: dict[str, Any] = handler.lambda_handler(
                {"id": event_id, "detail-type": "Scheduled Event"}, FakeContext(function_name)
            )
        finally:
            handler.settings.cache_clear()
            handler.dependencies.cache_clear()
            if log_stream is not None:
                log_handler.setStream(log_stream)
    lines = [json.loads(line) for line in stdout.getvalue().splitlines() if line.startswith("{")]
    return Invocation(summary=summary, log_lines=lines)
